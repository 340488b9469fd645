package wrap

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The workspace is the one folder a wrapped server may write (besides its
// private $CACHE and /tmp): sbshim's --workspace, or else the working
// directory the client starts it in. An entry's "cwd" is where its user
// wants it to work, so wrap writes it as --workspace: the workspace then
// stays that folder even with a client that ignores cwd. Only a cwd that
// is an absolute path as written is copied: a relative one, or one with a
// client's variables (${workspaceFolder}), only the client can resolve,
// and sbshim already takes the working directory the client gives it.
// A project's file does not choose its workspace (vet.go pins it to the
// project folder).

// absCwd returns a trusted entry's cwd if it is an absolute path as
// written, cleaned, or "".
func (e *entry) absCwd() string {
	m := e.obj.get("cwd")
	if m == nil || m.value.kind != kindString {
		return ""
	}
	c := m.value.str
	if !filepath.IsAbs(c) || strings.ContainsAny(c, "$\x00") {
		return ""
	}
	return filepath.Clean(c)
}

// cwdWorkspace returns the folder wrap gives as --workspace for a trusted
// entry's cwd, or "": not for a cwd that is /, the home folder or a folder
// above it, which sbshim does not take for a workspace (wrap must not make
// the whole home writable by writing it as --workspace).
func (o WrapOptions) cwdWorkspace(e *entry) string {
	c := e.absCwd()
	if c == "" || o.notWorkspace(c) {
		return ""
	}
	return c
}

// notWorkspace reports whether dir is /, the home folder or a folder
// above it.
func (o WrapOptions) notWorkspace(dir string) bool {
	if dir == string(filepath.Separator) {
		return true
	}
	return o.Home != "" && within(filepath.Clean(o.Home), dir)
}

// clientStartDirs says, per client, in which folder it starts a server
// that has no cwd, as far as it is known.
var clientStartDirs = map[string]string{
	"claude-desktop": "Claude Desktop uses / on macOS",
	"claude-code":    "Claude Code uses the folder you run claude in",
	"gemini":         "Gemini CLI uses the folder you run gemini in",
	"codex":          "Codex uses the folder you run codex in",
	"cursor":         "Cursor does not document which",
	"vscode":         "VS Code does not document which",
	"windsurf":       "Windsurf does not document which",
}

// noWorkspaceRule is how sbshim treats a working directory that is no
// project folder.
const noWorkspaceRule = "if that is /, your home folder or a folder above it, the server gets no writable workspace"

// workspaceNote says what the workspace of a wrapped entry will be.
func (o WrapOptions) workspaceNote(e *entry) string {
	if !o.Trusted {
		if e.setsCwd() {
			return fmt.Sprintf("workspace: the project folder %s (--workspace); a project's file does not choose its workspace, so its cwd is not it", o.Project)
		}
		return "workspace: no cwd, so the folder the client starts it in (usually the project); " + noWorkspaceRule
	}
	if ws := o.cwdWorkspace(e); ws != "" {
		note := fmt.Sprintf("workspace: %s, its cwd (--workspace)", ws)
		if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
			note += "; that folder does not exist now"
		}
		return note
	}
	if c := e.absCwd(); c != "" {
		return fmt.Sprintf("workspace: none: its cwd %s is /, your home folder or a folder above it, which sbshim does not take for a workspace (not given as --workspace); set cwd to a project folder to give it one", c)
	}
	if m := e.obj.get("cwd"); m != nil {
		return fmt.Sprintf("workspace: its cwd %s as the client resolves it (sbshim takes the folder it is started in); %s", e.raw(m.value), noWorkspaceRule)
	}
	where, ok := clientStartDirs[o.Client]
	if !ok {
		where = "sbshim cannot know which"
	}
	if dir, isProject := strings.CutPrefix(e.scope, "project "); isProject && o.Client == "claude-code" {
		where = "Claude Code uses its project folder, " + dir
	}
	return fmt.Sprintf("workspace: no cwd, so the folder the client starts it in (%s); %s: add \"cwd\" to the entry to give it one", where, noWorkspaceRule)
}
