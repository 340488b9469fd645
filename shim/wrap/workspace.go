package wrap

import (
	"fmt"
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

// cwdWorkspace returns the folder wrap gives as --workspace for a trusted
// entry's cwd, or "".
func (e *entry) cwdWorkspace() string {
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
	if ws := e.cwdWorkspace(); ws != "" {
		return fmt.Sprintf("workspace: %s, its cwd (--workspace)", ws)
	}
	if m := e.obj.get("cwd"); m != nil {
		return fmt.Sprintf("workspace: its cwd %s as the client resolves it (sbshim takes the folder it is started in); %s", e.raw(m.value), noWorkspaceRule)
	}
	where, ok := clientStartDirs[o.Client]
	if !ok {
		where = "sbshim cannot know which"
	}
	return fmt.Sprintf("workspace: no cwd, so the folder the client starts it in (%s); %s: add \"cwd\" to the entry to give it one", where, noWorkspaceRule)
}
