package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ProtectedNames returns the names, relative to a writable root or the
// home folder, that stay read-only whatever the profile says: things that
// run code or configure tools and agents outside the sandbox, so that a
// sandboxed program can neither widen its own sandbox nor plant code that
// the user runs later. A component "*" stands for any one name, "**" for
// any number of them (see ProtectedPaths for how they are matched).
//
// Decisions on the borderline ones:
//   - git: what makes git run code or read configuration is protected in
//     the repository's .git and in each of its linked worktrees'
//     (worktrees/NAME) and submodules' (modules/NAME, at any depth) git
//     directories: config, config.worktree, commondir (it names the
//     directory whose config and hooks count), gitdir, hooks and
//     info/attributes (with a filter driver already set up it selects code
//     to run). core.fsmonitor, core.sshCommand, core.pager, filter, diff and
//     merge drivers, credential helpers and aliases all live in config and
//     are covered with it. Other .git contents (objects, refs, index, HEAD)
//     stay writable for git; as a consequence a server cannot add a
//     worktree or initialise a submodule of the workspace's repository.
//     A .git may not be created where there is none (see CreateOnlyNames),
//     and Load adds what the repository's own configuration points at
//     (gitDerived).
//   - .gitmodules is NOT protected: it is tracked project content that
//     servers edit legitimately, and git refuses command-style "update"
//     settings coming from it.
//   - .envrc is protected: direnv normally asks before loading a changed
//     one, but whitelisted folders load it with no question.
//   - .npmrc, .yarnrc and .yarnrc.yml are protected: in a project they can
//     redirect the registry or (yarnPath) run a script on the user's next
//     install.
func ProtectedNames() []string {
	return []string{
		// git: the repository's git directory (see gitDirNames)
		".git/hooks", ".git/config", ".git/info/attributes", ".git/config.worktree",
		".git/commondir", ".git/gitdir",
		".git/worktrees/*/hooks", ".git/worktrees/*/config", ".git/worktrees/*/info/attributes",
		".git/worktrees/*/config.worktree", ".git/worktrees/*/commondir", ".git/worktrees/*/gitdir",
		".git/modules/**/hooks", ".git/modules/**/config", ".git/modules/**/info/attributes",
		".git/modules/**/config.worktree", ".git/modules/**/commondir", ".git/modules/**/gitdir",
		// git's global configuration; husky's, which its hooks source
		".gitconfig", ".config/git", ".config/husky", ".huskyrc",
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

// gitDirNames returns the names, relative to a git directory, that make
// git run code or read configuration: its own config, hooks, attributes
// and pointers to other git directories, and the same in the git
// directories of its linked worktrees and of its submodules (whose names
// may hold slashes, and which nest). ProtectedNames holds them under
// .git/.
func gitDirNames() []string {
	return []string{
		"hooks", "config", "info/attributes", "config.worktree", "commondir", "gitdir",
		"worktrees/*/hooks", "worktrees/*/config", "worktrees/*/info/attributes",
		"worktrees/*/config.worktree", "worktrees/*/commondir", "worktrees/*/gitdir",
		"modules/**/hooks", "modules/**/config", "modules/**/info/attributes",
		"modules/**/config.worktree", "modules/**/commondir", "modules/**/gitdir",
	}
}

// CreateOnlyNames returns the names, relative to a writable root, that may
// not be created where they do not exist but are not made read-only where
// they do: .git. A new .git (a folder, a "gitdir:" file or a link) at the
// top of a writable tree would make the user's next git command there use
// a repository the program wrote: its config (core.fsmonitor) and hooks
// run code. Protecting config and hooks alone would not do, as a .git file
// may name any folder. An existing .git folder keeps its contents writable
// (minus the protected names); an existing .git file is made read-only by
// Load (gitDerived).
//
// Inside a work tree (workTreeRoots) this holds at any depth: a
// repository nested anywhere in the workspace is one gitlink away from the
// user's git at the top, which runs git status inside every populated
// submodule, with that repository's config. So no .git can be made
// anywhere in the workspace (no git init or git clone there; $TMP and
// $CACHE are not work trees), and the git directory names of nested
// repositories that exist are protected (nestedGitNames).
//
// For the same reason no file named HEAD can be made in a work tree
// outside a .git: git takes any folder with HEAD, objects/ and refs/ for
// a bare repository (safe.bareRepository defaults to "all"), and uses its
// config — core.pager at the user's next git log there, or in any folder
// below it (reproduced). No bare repository can be made in the workspace
// either (git init --bare, git clone --bare: use $TMP).
func CreateOnlyNames() []string { return []string{".git"} }

// nestedGitNames returns the protected names of git directories nested at
// any depth in a work tree (workTreeRoots): gitDirNames under **/.git/.
func nestedGitNames() []string {
	return []string{
		"**/.git/hooks", "**/.git/config", "**/.git/info/attributes", "**/.git/config.worktree",
		"**/.git/commondir", "**/.git/gitdir",
		"**/.git/worktrees/*/hooks", "**/.git/worktrees/*/config", "**/.git/worktrees/*/info/attributes",
		"**/.git/worktrees/*/config.worktree", "**/.git/worktrees/*/commondir", "**/.git/worktrees/*/gitdir",
		"**/.git/modules/**/hooks", "**/.git/modules/**/config", "**/.git/modules/**/info/attributes",
		"**/.git/modules/**/config.worktree", "**/.git/modules/**/commondir", "**/.git/modules/**/gitdir",
	}
}

// workTreeRoots returns the writable roots the user runs git in: the
// allowWrite entries but $TMP (private to the sandbox) and those within
// $CACHE or sbshim's private folders.
func (p *Policy) workTreeRoots() []string {
	var out []string
	for _, r := range p.Filesystem.AllowWrite {
		r = filepath.Clean(r)
		if r == p.Vars.Tmp || p.Vars.Cache != "" && Within(r, p.Vars.Cache) || UnderAny(r, p.Vars.PrivateDirs) {
			continue
		}
		out = appendUnique(out, r)
	}
	return out
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
// exist or not; a name with * or ** stands for the paths that match it
// now (at most maxGlobMatches each), while protectedRule matches the
// pattern itself, so that a path created later is covered too. Absolute,
// sorted, unique.
func (p *Policy) ProtectedPaths() []string {
	var out []string
	for _, root := range p.writableRoots() {
		for _, name := range ProtectedNames() {
			if !strings.Contains(name, "*") {
				out = append(out, filepath.Join(root, name))
				continue
			}
			out = append(out, globExisting(root, strings.Split(name, "/"))...)
		}
	}
	if p.Vars.ConfigDir != "" {
		out = append(out, filepath.Clean(p.Vars.ConfigDir))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// protectedRule returns "protected NAME" if path equals or lies under a
// protected path. It is on the observer's path for every write: it builds
// no string.
func (p *Policy) protectedRule(path string) (string, bool) {
	for _, root := range p.writableRoots() {
		if !Inside(path, root) {
			continue
		}
		rel := relBelow(path, root)
		for _, name := range ProtectedNames() {
			if globWithin(name, rel) {
				return "protected " + name, true
			}
		}
	}
	for _, root := range p.workTreeRoots() {
		if !Inside(path, root) || !strings.Contains(path, "/.git/") {
			continue
		}
		rel := relBelow(path, root)
		for _, name := range nestedGitNames() {
			if globWithin(name, rel) {
				return "protected " + name, true
			}
		}
	}
	if p.Vars.ConfigDir != "" {
		if c := filepath.Clean(p.Vars.ConfigDir); Within(path, c) {
			return "protected " + p.Vars.displayPath(c), true
		}
	}
	return "", false
}

// createOnlyRule returns "protected NAME" if path is a create-only name
// (CreateOnlyNames) at the top of a writable root, or anywhere in a work
// tree (workTreeRoots).
func (p *Policy) createOnlyRule(path string) (string, bool) {
	for _, root := range p.writableRoots() {
		if !Inside(path, root) {
			continue
		}
		rel := relBelow(path, root)
		for _, name := range CreateOnlyNames() {
			if rel == name {
				return "protected " + name, true
			}
		}
	}
	for _, root := range p.workTreeRoots() {
		if !Inside(path, root) {
			continue
		}
		base := filepath.Base(path)
		for _, name := range CreateOnlyNames() {
			if base == name {
				return "protected **/" + name, true
			}
		}
		if base == "HEAD" && !strings.Contains(path, "/.git/") {
			return "protected **/HEAD", true
		}
	}
	return "", false
}

// protectedBelow returns "protected NAME" if a protected path (or one a
// protected pattern could match) lies strictly below path: placing a
// prepared tree at path would put it in place.
func (p *Policy) protectedBelow(path string) (string, bool) {
	for _, root := range p.writableRoots() {
		if !Within(path, root) {
			continue
		}
		rel := relBelow(path, root)
		for _, name := range ProtectedNames() {
			if globAncestor(name, rel) && !globWithin(name, rel) {
				return "protected " + name, true
			}
		}
	}
	return "", false
}

// relBelow returns path, which lies within root (both clean), relative to
// root: "" for root itself.
func relBelow(path, root string) string {
	if len(path) == len(root) {
		return ""
	}
	if root == "/" {
		return path[1:]
	}
	return path[len(root)+1:]
}

// globWithin reports whether the relative path rel lies within a path that
// the pattern pat matches: some leading run of rel's components matches
// all of pat's. In pat, a component with * is matched by starMatch against
// one component; "**" matches any number of components, none included.
func globWithin(pat, rel string) bool {
	for pat != "" {
		pc, prest, _ := strings.Cut(pat, "/")
		if pc == "**" {
			for {
				if globWithin(prest, rel) {
					return true
				}
				if rel == "" {
					return false
				}
				_, rel, _ = strings.Cut(rel, "/")
			}
		}
		if rel == "" {
			return false
		}
		rc, rrest, _ := strings.Cut(rel, "/")
		if !starMatch(pc, rc) {
			return false
		}
		pat, rel = prest, rrest
	}
	return true
}

// globAncestor reports whether the relative path rel equals, or is an
// ancestor of, some path that pat matches (see globWithin); "" is the
// ancestor of everything.
func globAncestor(pat, rel string) bool {
	for rel != "" {
		if pat == "" {
			return false
		}
		pc, prest, _ := strings.Cut(pat, "/")
		if pc == "**" {
			return true
		}
		rc, rrest, _ := strings.Cut(rel, "/")
		if !starMatch(pc, rc) {
			return false
		}
		pat, rel = prest, rrest
	}
	return true
}

// maxGlobDepth bounds how deep a "**" of a protected name is looked for
// on disk.
const maxGlobDepth = 8

// globExisting returns the existing paths below base that pat matches
// (see matchWithin), at most maxGlobMatches.
func globExisting(base string, pat []string) []string {
	var out []string
	var walk func(dir string, pat []string, depth int)
	walk = func(dir string, pat []string, depth int) {
		if len(out) >= maxGlobMatches {
			return
		}
		if len(pat) == 0 {
			if _, err := os.Lstat(dir); err == nil {
				out = append(out, dir)
			}
			return
		}
		c := pat[0]
		if !strings.Contains(c, "*") {
			walk(filepath.Join(dir, c), pat[1:], depth)
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return // missing or unreadable: matches nothing
		}
		if c == "**" {
			walk(dir, pat[1:], depth)
			if depth >= maxGlobDepth {
				return
			}
			// Inside a git directory (it has a HEAD) only the folders
			// that hold other git directories are searched, not objects
			// or refs.
			_, err := os.Lstat(filepath.Join(dir, "HEAD"))
			gitDir := err == nil
			for _, e := range entries {
				if e.IsDir() && (!gitDir || e.Name() == "modules" || e.Name() == "worktrees") {
					walk(filepath.Join(dir, e.Name()), pat, depth+1)
				}
			}
			return
		}
		for _, e := range entries {
			if starMatch(c, e.Name()) {
				walk(filepath.Join(dir, e.Name()), pat[1:], depth)
			}
		}
	}
	walk(base, pat, 0)
	return out
}

// CheckMove says whether an object may go from oldPath to newPath (a
// rename, a hard link; with exchange, newPath's object also goes to
// oldPath): nothing leaves a git directory for a work tree outside one.
// Inside a .git a file named HEAD may be made, so a folder prepared there
// (HEAD, objects/, refs/, a config with core.fsmonitor) would be a bare
// repository once moved out, which the user's next git command there
// uses; a symlink made there may point at one.
func (p *Policy) CheckMove(oldPath, newPath string, exchange bool) (rule string, denied bool) {
	o, n := filepath.Clean(oldPath), filepath.Clean(newPath)
	out := func(from, to string) bool {
		if !inGitDir(from) || inGitDir(to) {
			return false
		}
		for _, root := range p.workTreeRoots() {
			if Within(to, root) {
				return true
			}
		}
		return false
	}
	if out(o, n) || exchange && out(n, o) {
		return "protected **/.git (its contents stay in it)", true
	}
	return "", false
}

// CheckSymlink says whether a symlink to target may be made at path: in
// a work tree, outside a git directory, none may lead into a .git, nor
// into a writable folder that is no work tree ($TMP, $CACHE): a folder
// prepared there as a bare repository (HEAD, objects/, refs/, a config
// with core.fsmonitor) would be the repository the user's git takes when
// run in the link.
func (p *Policy) CheckSymlink(path, target string) (rule string, denied bool) {
	clean := filepath.Clean(path)
	if inGitDir(clean) {
		return "", false
	}
	inWorkTree := false
	for _, root := range p.workTreeRoots() {
		if Within(clean, root) {
			inWorkTree = true
			break
		}
	}
	if !inWorkTree {
		return "", false
	}
	for _, c := range strings.Split(target, "/") {
		if c == ".git" {
			return "protected **/.git (no link into it)", true
		}
	}
	to := target
	if !filepath.IsAbs(to) {
		to = filepath.Join(filepath.Dir(clean), to)
	}
	to = filepath.Clean(to)
	for _, r := range p.preparedRoots() {
		if Within(to, r) {
			return "protected **/HEAD (no link to " + p.Vars.displayPath(r) + ", where a bare repository can be made)", true
		}
	}
	return "", false
}

// preparedRoots returns the writable roots that are no work trees
// (workTreeRoots leaves them out): there a folder may be made a bare
// repository, so no work tree may link to it.
func (p *Policy) preparedRoots() []string {
	work := p.workTreeRoots()
	var out []string
	for _, r := range p.Filesystem.AllowWrite {
		r = filepath.Clean(r)
		if !slices.Contains(work, r) {
			out = appendUnique(out, r)
		}
	}
	return out
}

// inGitDir says whether the clean absolute path p lies strictly inside a
// .git folder.
func inGitDir(p string) bool { return strings.Contains(p, "/.git/") }
