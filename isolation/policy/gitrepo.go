package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxGitIncludeDepth bounds how deep include.path chains are followed
// (git's own limit is 10).
const maxGitIncludeDepth = 10

// gitHookNames are the hooks git runs (githooks(5)); where core.hooksPath
// names a writable root itself, or one of its ancestors, only these names
// in it are protected rather than the whole tree.
func gitHookNames() []string {
	return []string{
		"applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
		"prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
		"post-merge", "pre-push", "pre-receive", "update", "proc-receive", "post-receive",
		"post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc",
		"post-rewrite", "sendemail-validate", "fsmonitor-watchman", "p4-changelist",
		"p4-prepare-changelist", "p4-post-changelist", "p4-pre-submit", "post-index-change",
	}
}

// gitCommandKey reports whether the variable holds a command git runs (or
// a program path): for these, every word of the value that is a path is
// protected, so that the script it names cannot be rewritten.
func gitCommandKey(e gitConfigEntry) bool {
	switch e.Section + "." + e.Key {
	case "core.fsmonitor", "core.sshcommand", "core.pager", "core.editor", "core.askpass",
		"core.gitproxy", "sequence.editor", "diff.external", "gpg.program", "credential.helper",
		"sendemail.smtpserver", "interactive.difffilter", "uploadpack.packobjectshook":
		return true
	}
	if e.Section == "alias" || e.Section == "pager" {
		return true
	}
	if !e.HasSubsection {
		return false
	}
	switch e.Section + ".*." + e.Key {
	case "diff.*.command", "diff.*.textconv", "difftool.*.cmd", "difftool.*.path",
		"mergetool.*.cmd", "mergetool.*.path", "merge.*.driver", "filter.*.clean",
		"filter.*.smudge", "filter.*.process", "credential.*.helper", "gpg.*.program",
		"remote.*.uploadpack", "remote.*.receivepack", "submodule.*.update", "man.*.cmd",
		"browser.*.cmd", "browser.*.path":
		return true
	}
	return false
}

// gitScan collects what git's configuration makes protected.
type gitScan struct {
	home string
	out  []string
}

// gitDerived returns the paths that the git repositories at the top of
// the writable roots, and git's global configuration, make protected
// beyond ProtectedNames. Load adds them to Filesystem.DenyWrite, so they
// are read-only if they exist and cannot be created if they do not. For
// each writable root R:
//   - where R/.git is a file ("gitdir: DIR", a linked worktree or a
//     submodule) that file itself, and in DIR and in the common git
//     directory its commondir names the git directory names (gitDirNames);
//     where R/.git is a link, the same for the folder it leads to; where
//     one of those names is a link (.git/hooks -> ../.githooks), what it
//     leads to;
//   - the same for the repositories nested in R (nestedWorkTrees), with
//     their own .git folder's names;
//   - for each submodule that R/.gitmodules lists (submodule.NAME.path),
//     its .git: the file (or the name, if missing), or a .git folder's
//     protected names;
//   - git's global config files themselves (they are protected names in
//     the home, but $XDG_CONFIG_HOME or $GIT_CONFIG_GLOBAL may lead
//     elsewhere);
//   - from the repository's config, config.worktree and git's global
//     configuration (~/.gitconfig, $XDG_CONFIG_HOME/git/config,
//     /etc/gitconfig, $GIT_CONFIG_GLOBAL, $GIT_CONFIG_SYSTEM), each with the
//     files it includes (include.path and every includeIf.*.path,
//     whatever the condition, followed up to maxGitIncludeDepth): the
//     included files; core.hooksPath (relative to R; "~/" is the home),
//     with its parent when it ends in "_" (husky's .husky/_ runs the
//     scripts in .husky); core.attributesFile and init.templateDir; and
//     every path in the value of a variable that holds a command
//     (gitCommandKey).
//
// Nothing is run; files are read with readGitConfigFile. Paths that
// cannot be resolved (~user/, %(prefix)/, $VARIABLES) are left alone.
func (p *Policy) gitDerived(env func(string) string) []string {
	s := &gitScan{home: p.Vars.Home}
	var global []gitConfigEntryAt
	for _, f := range gitGlobalConfigs(p.Vars.Home, env) {
		s.add(f) // where XDG_CONFIG_HOME or GIT_CONFIG_GLOBAL lead into a writable tree
		global = append(global, s.readConfig(f, 0, map[string]bool{})...)
	}
	trees := p.writableRoots()
	for _, root := range p.workTreeRoots() {
		trees = append(trees, nestedWorkTrees(root)...)
	}
	for i, tree := range trees {
		entries := slices.Clone(global)
		for _, f := range s.repoConfigs(tree, i < len(p.writableRoots())) {
			entries = append(entries, s.readConfig(f, 0, map[string]bool{})...)
		}
		s.submodules(tree)
		for _, e := range entries {
			s.apply(tree, e)
		}
	}
	slices.Sort(s.out)
	return slices.Compact(s.out)
}

// maxNestedDirs bounds the search for repositories nested in a work tree,
// which runs at every start, so it stays short in a large workspace. The
// control files of the repositories it finds are bound read-only; those of
// any other are kept by the deputy, which performs every open that may
// write and checks the file first (protectedRule's nested git names).
const maxNestedDirs = 2000

// nestedWorkTrees returns the folders below root (not root itself) that
// hold a .git, level by level, at most maxNestedDirs folders read, never
// following links, never into .git or node_modules.
func nestedWorkTrees(root string) (out []string) {
	level, budget := []string{root}, maxNestedDirs
	for depth := 0; len(level) > 0; depth++ {
		var next []string
		for _, dir := range level {
			if budget <= 0 {
				return out
			}
			budget--
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			for _, e := range entries {
				switch name := e.Name(); {
				case name == ".git":
					if depth > 0 {
						out = append(out, dir)
					}
				case e.IsDir() && name != "node_modules":
					next = append(next, filepath.Join(dir, name))
				}
			}
		}
		level = next
	}
	return out
}

// gitConfigEntryAt is a config variable and the folder of the file it was
// read from.
type gitConfigEntryAt struct {
	gitConfigEntry
	dir string
}

// gitGlobalConfigs lists git's global and system config files.
func gitGlobalConfigs(home string, env func(string) string) []string {
	var out []string
	if home != "" {
		out = append(out, filepath.Join(home, ".gitconfig"), filepath.Join(home, ".config", "git", "config"))
	}
	if x := env("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		out = append(out, filepath.Join(x, "git", "config"))
	}
	out = append(out, "/etc/gitconfig")
	for _, k := range []string{"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"} {
		if x := env(k); filepath.IsAbs(x) {
			out = append(out, x)
		}
	}
	return out
}

// add protects path (clean, absolute).
func (s *gitScan) add(path string) {
	s.out = append(s.out, filepath.Clean(path))
}

// addGitDir protects the git directory names in dir.
func (s *gitScan) addGitDir(dir string) {
	for _, n := range gitDirNames() {
		if strings.Contains(n, "*") {
			s.out = append(s.out, globExisting(dir, strings.Split(n, "/"))...)
		} else {
			s.add(filepath.Join(dir, n))
		}
	}
	s.addLinkTargets(dir)
}

// addLinkTargets protects where the git directory names in dir lead when
// they are symlinks (.git/hooks -> ../.githooks, a common set-up): the
// name itself is protected already, its target lies elsewhere in the
// tree.
func (s *gitScan) addLinkTargets(dir string) {
	for _, n := range gitDirNames() {
		if strings.Contains(n, "*") {
			continue
		}
		p := filepath.Join(dir, n)
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			s.add(r)
		}
	}
}

// repoConfigs follows root/.git and returns the config files of the
// repository whose work tree is root; it protects the git directories it
// finds outside root/.git, and root/.git itself unless top (a writable
// root, whose .git ProtectedNames covers).
func (s *gitScan) repoConfigs(root string, top bool) []string {
	dotGit := filepath.Join(root, ".git")
	fi, err := os.Lstat(dotGit)
	if err != nil {
		return nil
	}
	gitDir := dotGit
	switch {
	case fi.Mode().IsRegular():
		s.add(dotGit)
		d, ok := readGitFile(dotGit)
		if !ok {
			return nil
		}
		gitDir = d
		s.addGitDir(gitDir)
	case fi.Mode()&os.ModeSymlink != 0:
		d, err := filepath.EvalSymlinks(dotGit)
		if err != nil {
			return nil
		}
		gitDir = d
		s.addGitDir(gitDir)
	case !fi.IsDir():
		return nil
	case top:
		s.addLinkTargets(dotGit)
	default:
		s.addGitDir(dotGit)
	}
	common := gitDir
	if c, ok := readCommonDir(gitDir); ok {
		common = c
		s.addGitDir(common)
	}
	return []string{filepath.Join(common, "config"), filepath.Join(common, "config.worktree"),
		filepath.Join(gitDir, "config.worktree")}
}

// readGitFile reads a "gitdir: DIR" file; DIR relative to the file's
// folder.
func readGitFile(path string) (string, bool) {
	data, err := readGitConfigFile(path)
	if err != nil {
		return "", false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	d, ok := strings.CutPrefix(strings.TrimSpace(string(line)), "gitdir:")
	d = strings.TrimSpace(d)
	if !ok || d == "" {
		return "", false
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(filepath.Dir(path), d)
	}
	return filepath.Clean(d), true
}

// readCommonDir reads gitDir/commondir, relative to gitDir.
func readCommonDir(gitDir string) (string, bool) {
	data, err := readGitConfigFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return "", false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	d := strings.TrimSpace(string(line))
	if d == "" {
		return "", false
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(gitDir, d)
	}
	return filepath.Clean(d), true
}

// submodules protects the .git of each submodule root/.gitmodules lists.
func (s *gitScan) submodules(root string) {
	data, err := readGitConfigFile(filepath.Join(root, ".gitmodules"))
	if err != nil {
		return
	}
	entries, _ := parseGitConfig(data)
	for _, e := range entries {
		if e.Section != "submodule" || !e.HasSubsection || e.Key != "path" || !e.HasValue {
			continue
		}
		rel := filepath.Clean(e.Value)
		if !filepath.IsLocal(rel) {
			continue
		}
		dotGit := filepath.Join(root, rel, ".git")
		if fi, err := os.Lstat(dotGit); err == nil && fi.IsDir() {
			s.addGitDir(dotGit)
			continue
		}
		s.add(dotGit)
	}
}

// readConfig parses one config file and those it includes, protecting
// each included file. seen guards against include loops.
func (s *gitScan) readConfig(path string, depth int, seen map[string]bool) []gitConfigEntryAt {
	path = filepath.Clean(path)
	if seen[path] || depth > maxGitIncludeDepth {
		return nil
	}
	seen[path] = true
	data, err := readGitConfigFile(path)
	if len(data) == 0 {
		_ = err // missing, unreadable or not a file: nothing in it counts
		return nil
	}
	entries, _ := parseGitConfig(data)
	var out []gitConfigEntryAt
	for _, e := range entries {
		out = append(out, gitConfigEntryAt{e, filepath.Dir(path)})
		if e.Key != "path" || !e.HasValue || (e.Section != "include" && e.Section != "includeif") {
			continue
		}
		inc, ok := s.expandPath(e.Value, filepath.Dir(path))
		if !ok {
			continue
		}
		s.add(inc)
		out = append(out, s.readConfig(inc, depth+1, seen)...)
	}
	return out
}

// expandPath resolves a path value of git's config: "~" and "~/" to the
// home folder, a relative one against base. ok is false for what cannot
// be resolved here.
func (s *gitScan) expandPath(v, base string) (string, bool) {
	switch {
	case v == "":
		return "", false
	case v == "~" || strings.HasPrefix(v, "~/"):
		if s.home == "" {
			return "", false
		}
		v = s.home + v[1:]
	case strings.HasPrefix(v, "~"), strings.HasPrefix(v, "%("), strings.Contains(v, "$"):
		return "", false
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(base, v)
	}
	return filepath.Clean(v), true
}

// apply protects what one config variable points at, for the repository
// whose work tree is root.
func (s *gitScan) apply(root string, e gitConfigEntryAt) {
	if !e.HasValue {
		return
	}
	switch e.Section + "." + e.Key {
	case "core.hookspath":
		d, ok := s.expandPath(e.Value, root)
		if !ok {
			return
		}
		if Within(root, d) {
			// The hooks folder is the work tree or above it: its hooks
			// alone, not the whole tree.
			for _, h := range gitHookNames() {
				s.add(filepath.Join(d, h))
			}
			return
		}
		s.add(d)
		if filepath.Base(d) == "_" && !Within(root, filepath.Dir(d)) {
			s.add(filepath.Dir(d))
		}
		return
	case "core.attributesfile", "init.templatedir":
		if f, ok := s.expandPath(e.Value, root); ok && !Within(root, f) {
			s.add(f)
		}
		return
	}
	if !gitCommandKey(e.gitConfigEntry) {
		return
	}
	for _, w := range shellWords(strings.TrimPrefix(strings.TrimSpace(e.Value), "!")) {
		if !strings.Contains(w, "/") || strings.HasPrefix(w, "-") {
			continue
		}
		if f, ok := s.expandPath(w, root); ok && !Within(root, f) {
			s.add(f)
		}
	}
}

// shellWords splits a command line into words the simple way a shell
// would: blanks separate, '...' and "..." quote, \ escapes. Operators are
// not understood; they only make words that name no file.
func shellWords(cmd string) []string {
	var words []string
	var cur []byte
	inWord := false
	var quote byte
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(cmd) {
				i++
				cur = append(cur, cmd[i])
			} else {
				cur = append(cur, c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(cmd):
			i++
			cur, inWord = append(cur, cmd[i]), true
		case c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			if inWord {
				words = append(words, string(cur))
			}
			cur, inWord = cur[:0], false
		default:
			cur, inWord = append(cur, c), true
		}
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words
}
