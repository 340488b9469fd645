package policy

import (
	"fmt"
	"path/filepath"
	"strings"
)

// workspaceRefusal says why the folder p.Vars.Workspace cannot be the
// workspace of policy p (expanded with it), or "" when it can. The
// workspace is a project folder: a working directory is one only when
// making it writable gives what the policy says and no more. It is not
//   - the root folder, the home folder or a folder that holds the home
//     folder (an MCP client that starts its servers in / or in ~ names no
//     project; / could never be made writable, and ~ would put every
//     dotfile the protected names do not cover within the server's reach);
//   - $TMP itself: the sandbox replaces it with a private one, so nothing
//     written there would reach the host;
//   - within sbshim's own configuration folder, always read-only;
//   - within a filesystem.denyRead path (~/.ssh, sbshim's private state):
//     the sandbox shows an empty folder there, which a write never reaches.
//
// Each test applies to the folder as named and with its symlinks resolved,
// so a link to / or to the home folder is no workspace either.
func (p *Policy) workspaceRefusal() string {
	v := p.Vars
	if v.Workspace == "" {
		return ""
	}
	c := newSymCache()
	forms := symlinkForms(filepath.Clean(v.Workspace), c)
	var homes []string
	if v.Home != "" {
		homes = symlinkForms(filepath.Clean(v.Home), c)
	}
	for _, f := range forms {
		switch {
		case f == "/":
			return "is the root folder"
		case v.Tmp != "" && f == filepath.Clean(v.Tmp):
			return "is replaced by a private folder inside the sandbox"
		case v.ConfigDir != "" && Within(f, filepath.Clean(v.ConfigDir)):
			return "lies in sbshim's own configuration folder " + v.ConfigDir
		}
		for _, h := range homes {
			if f == h {
				return "is the home folder"
			}
			if Within(h, f) {
				return "holds the home folder " + v.Home
			}
		}
	}
	for _, f := range forms {
		for _, d := range p.Filesystem.DenyRead {
			if Within(f, filepath.Clean(d)) {
				return fmt.Sprintf("lies in %s, which filesystem.denyRead hides", v.displayPath(d))
			}
		}
	}
	return ""
}

// pathNeedsWorkspace reports whether the profile path p starts with
// $WORKSPACE while there is none: such an entry drops out.
func pathNeedsWorkspace(p string, v Vars) bool {
	head, _, _ := strings.Cut(p, "/")
	return v.Workspace == "" && head == "$WORKSPACE"
}

// valueNeedsWorkspace reports whether the env.set value s names
// $WORKSPACE (as expandValue reads it) while there is none: such a
// variable is not set.
func valueNeedsWorkspace(s string, v Vars) bool {
	if v.Workspace != "" {
		return false
	}
	for i := strings.IndexByte(s, '$'); i >= 0; i = strings.IndexByte(s, '$') {
		s = s[i:]
		if strings.HasPrefix(s, "${WORKSPACE}") ||
			strings.HasPrefix(s, "$WORKSPACE") && (len(s) == len("$WORKSPACE") || !isNameByte(s[len("$WORKSPACE")])) {
			return true
		}
		s = s[1:]
	}
	return false
}
