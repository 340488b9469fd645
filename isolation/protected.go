package isolation

import (
	"path/filepath"
	"slices"
)

// ProtectedNames returns the names, relative to a writable root or the
// home folder, that stay read-only whatever the profile says: things that
// run code or configure tools and agents outside the sandbox, so that a
// sandboxed program can neither widen its own sandbox nor plant code that
// the user runs later.
//
// Decisions on the borderline ones:
//   - .git/info/attributes is protected: with a filter driver already set
//     up it selects code to run; nothing needs to write it automatically.
//     Other .git contents (objects, refs, index) stay writable for git.
//   - .gitmodules is NOT protected: it is tracked project content that
//     servers edit legitimately, and git refuses command-style "update"
//     settings coming from it.
//   - .envrc is protected: direnv normally asks before loading a changed
//     one, but whitelisted folders load it with no question.
//   - .npmrc, .yarnrc and .yarnrc.yml are protected: in a project they can
//     redirect the registry or (yarnPath) run a script on the user's next
//     install.
//   - .git/modules/*/hooks of submodules cannot be listed in advance and are
//     not covered.
func ProtectedNames() []string {
	return []string{
		// git
		".git/hooks", ".git/config", ".git/info/attributes",
		".gitconfig", ".config/git",
		// shells
		".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
		".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout",
		".config/fish",
		// editors that run rc code
		".vimrc", ".config/nvim", ".emacs", ".emacs.d",
		// login-time code and remote access
		".ssh", ".config/autostart", ".config/systemd", "Library/LaunchAgents",
		// MCP, editor and agent configuration
		".mcp.json", ".vscode", ".idea", ".cursor", ".claude", ".claude.json",
		".codex", ".gemini", ".windsurf", ".codeium", ".continue", ".roo",
		".zed", ".config/zed", ".config/Claude", ".config/Code/User",
		".config/Cursor/User", "Library/Application Support/Claude",
		"Library/Application Support/Code/User", "Library/Application Support/Cursor/User",
		// package-manager and environment hooks
		".envrc", ".npmrc", ".yarnrc", ".yarnrc.yml",
	}
}

// writableRoots returns the clean AllowWrite entries and Vars.Home, the
// folders the protected names are joined to.
func (p *Policy) writableRoots() []string {
	var roots []string
	for _, r := range p.Filesystem.AllowWrite {
		roots = appendUnique(roots, filepath.Clean(r))
	}
	if p.Vars.Home != "" {
		roots = appendUnique(roots, filepath.Clean(p.Vars.Home))
	}
	return roots
}

// ProtectedPaths returns the always-protected paths of this policy: every
// protected name under every writable root and under Vars.Home, plus
// Vars.ConfigDir (sbshim's own config). They are read-only whether they
// exist or not. Absolute, sorted, unique.
func (p *Policy) ProtectedPaths() []string {
	var out []string
	for _, root := range p.writableRoots() {
		for _, name := range ProtectedNames() {
			out = append(out, filepath.Join(root, name))
		}
	}
	if p.Vars.ConfigDir != "" {
		out = append(out, filepath.Clean(p.Vars.ConfigDir))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// protectedRule returns "protected NAME" if path equals or lies under a
// protected path.
func (p *Policy) protectedRule(path string) (string, bool) {
	for _, root := range p.writableRoots() {
		if !within(path, root) {
			continue
		}
		for _, name := range ProtectedNames() {
			if within(path, filepath.Join(root, name)) {
				return "protected " + name, true
			}
		}
	}
	if p.Vars.ConfigDir != "" {
		if c := filepath.Clean(p.Vars.ConfigDir); within(path, c) {
			return "protected " + p.Vars.displayPath(c), true
		}
	}
	return "", false
}
