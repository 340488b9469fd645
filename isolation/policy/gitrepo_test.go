package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gitWorld is a home with a repository (ws) that uses husky, includes,
// command variables, a submodule and a linked worktree (wt).
type gitWorld struct {
	root, home, ws, wt string
}

func newGitWorld(t *testing.T) gitWorld {
	t.Helper()
	root := t.TempDir()
	w := gitWorld{root: root, home: filepath.Join(root, "home"), ws: filepath.Join(root, "home", "ws"), wt: filepath.Join(root, "home", "wt")}
	files := map[string]string{
		"home/.gitconfig":   "[core]\n\thooksPath = ~/global-hooks\n\tattributesFile = ~/ws/attrs\n[include]\n\tpath = ws/inc-from-home\n",
		"home/ws/.git/HEAD": "ref: refs/heads/main\n",
		"home/ws/.git/config": "[core]\n\thooksPath = .husky/_\n\tfsmonitor = ./tools/fsmon.sh\n" +
			"[include]\n\tpath = ../extra.inc\n[includeIf \"gitdir:/nowhere/\"]\n\tpath = inc2\n" +
			"[filter \"x\"]\n\tclean = node ./scripts/clean.js %f\n[alias]\n\tst = !sh ./scripts/st.sh\n\tlg = log --oneline\n" +
			"[remote \"origin\"]\n\turl = ../elsewhere\n",
		"home/ws/extra.inc":                         "[diff \"y\"]\n\ttextconv = \"'./bin/text conv' --x\"\n[include]\n\tpath = extra.inc\n",
		"home/ws/.git/inc2":                         "[core]\n\tsshCommand = ~/ws/ssh-wrapper -v\n",
		"home/ws/.gitmodules":                       "[submodule \"s\"]\n\tpath = sub\n[submodule \"evil\"]\n\tpath = ../../outside\n",
		"home/ws/sub/.git":                          "gitdir: ../.git/modules/s\n",
		"home/ws/.git/modules/s/HEAD":               "ref: refs/heads/main\n",
		"home/ws/.git/modules/s/config":             "[core]\n",
		"home/ws/.git/worktrees/wt/commondir":       "../..\n",
		"home/ws/.git/worktrees/wt/gitdir":          "../../../wt/.git\n",
		"home/ws/.git/worktrees/wt/config.worktree": "[core]\n\thooksPath = /abs/hooks\n",
		"home/wt/.git":                              "gitdir: ../ws/.git/worktrees/wt\n",
		"home/ws/vendor/lib/.git/HEAD":              "ref: refs/heads/main\n",
		"home/ws/vendor/lib/.git/config":            "[core]\n\thooksPath = hooks-here\n",
		"home/ws/node_modules/x/.git/config":        "[core]\n",
	}
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestGitDerived(t *testing.T) {
	w := newGitWorld(t)
	p := &Policy{
		Filesystem: FilesystemPolicy{AllowWrite: []string{w.ws, w.wt}},
		Vars:       Vars{Home: w.home, Workspace: w.ws},
	}
	got := p.gitDerived(func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return w.ws + "/xdg"
		}
		return ""
	})
	want := []string{
		w.ws + "/xdg/git/config",             // git's global config where XDG_CONFIG_HOME leads
		w.home + "/global-hooks",             // ~/.gitconfig core.hooksPath
		w.ws + "/attrs",                      // core.attributesFile
		w.home + "/ws/inc-from-home",         // included from ~/.gitconfig, relative to it
		w.ws + "/.husky/_", w.ws + "/.husky", // husky: the hooks and the scripts they run
		w.wt + "/.husky/_", w.wt + "/.husky", // the same config, for the linked worktree's tree
		w.ws + "/tools/fsmon.sh",   // core.fsmonitor as a hook program
		w.ws + "/extra.inc",        // include.path, relative to .git
		w.ws + "/.git/inc2",        // includeIf, whatever the condition
		w.ws + "/bin/text conv",    // a command in an included file
		w.ws + "/ssh-wrapper",      // a command in a conditionally included file
		w.ws + "/scripts/clean.js", // filter driver
		w.ws + "/scripts/st.sh",    // shell alias
		w.ws + "/sub/.git",         // a submodule's .git file
		w.wt + "/.git",             // the worktree's .git file
		w.ws + "/.git/worktrees/wt/commondir", w.ws + "/.git/worktrees/wt/gitdir",
		w.ws + "/.git/worktrees/wt/config.worktree", w.ws + "/.git/worktrees/wt/hooks",
		w.ws + "/.git/modules/s/config",                                   // through the common dir's modules/**
		"/abs/hooks",                                                      // config.worktree of the linked worktree
		w.ws + "/vendor/lib/.git/config", w.ws + "/vendor/lib/.git/hooks", // a nested repository
		w.ws + "/vendor/lib/hooks-here", // its hooksPath, relative to its own work tree
	}
	for _, p := range want {
		if !slices.Contains(got, p) {
			t.Errorf("gitDerived lacks %s", p)
		}
	}
	for _, p := range got {
		if strings.Contains(p, "outside") || strings.Contains(p, "elsewhere") || strings.HasSuffix(p, "/log") || strings.Contains(p, "node_modules") {
			t.Errorf("gitDerived has %s", p)
		}
		if p == w.ws || p == w.wt || p == w.home {
			t.Errorf("gitDerived protects a whole root: %s", p)
		}
	}
}

// TestGitDerivedLinkedHooks: a .git/hooks that is a link into the work
// tree protects what it leads to.
func TestGitDerivedLinkedHooks(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "ws")
	if err := os.MkdirAll(filepath.Join(ws, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, ".githooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../.githooks", filepath.Join(ws, ".git", "hooks")); err != nil {
		t.Fatal(err)
	}
	p := &Policy{Filesystem: FilesystemPolicy{AllowWrite: []string{ws}}, Vars: Vars{Home: filepath.Join(root, "home")}}
	if got := p.gitDerived(func(string) string { return "" }); !slices.Contains(got, filepath.Join(ws, ".githooks")) {
		t.Errorf("linked hooks: %v", got)
	}
}

// TestGitDerivedHooksPathAtRoot: a hooksPath that is the work tree itself
// protects the hooks in it, not the whole tree.
func TestGitDerivedHooksPathAtRoot(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "ws")
	if err := os.MkdirAll(filepath.Join(ws, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".git", "config"), []byte("[core]\nhooksPath = .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Policy{Filesystem: FilesystemPolicy{AllowWrite: []string{ws}}, Vars: Vars{Home: filepath.Join(root, "home")}}
	got := p.gitDerived(func(string) string { return "" })
	if slices.Contains(got, ws) || !slices.Contains(got, ws+"/pre-commit") || !slices.Contains(got, ws+"/post-checkout") {
		t.Errorf("hooksPath . gave %v", got)
	}
}

// TestLoadProtectsGitDerived: Load puts what git's configuration points
// at into denyWrite when it lies in a writable tree, so it cannot be
// created or changed.
func TestLoadProtectsGitDerived(t *testing.T) {
	w := newGitWorld(t)
	p, err := Load(LoadOptions{UserConfigDir: filepath.Join(w.root, "cfg"), Vars: Vars{
		Home: w.home, Workspace: w.ws, Cache: filepath.Join(w.root, "cache", "sbshim", "x"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		deny bool
	}{
		{w.ws + "/.husky/_/pre-commit", true},
		{w.ws + "/.husky/pre-commit", true},
		{w.ws + "/tools/fsmon.sh", true},
		{w.ws + "/extra.inc", true},
		{w.ws + "/sub/.git", true},
		{w.ws + "/.git/modules/s/config", true},
		{w.ws + "/.git/modules/s/hooks/post-checkout", true},
		{w.ws + "/.git/worktrees/new/commondir", true},
		{w.ws + "/.git/objects/ab", false},
		{w.ws + "/tools/other.sh", false},
		{w.ws + "/.git", true},
		{w.ws + "/sub/.gitignore", false},
	} {
		if _, denied := p.CheckCreate(c.path, false); denied != c.deny {
			t.Errorf("CheckCreate(%s) denied %v, want %v", c.path, denied, c.deny)
		}
	}
	if slices.Contains(p.Filesystem.DenyWrite, "/abs/hooks") {
		t.Errorf("denyWrite holds a path outside every writable tree")
	}
}

// TestGitDirNamesProtected: every git directory name is protected in the
// repository's own .git.
func TestGitDirNamesProtected(t *testing.T) {
	for _, n := range gitDirNames() {
		if !slices.Contains(ProtectedNames(), ".git/"+n) {
			t.Errorf("ProtectedNames lacks .git/%s", n)
		}
	}
}

func TestGlobWithin(t *testing.T) {
	for _, c := range []struct {
		pat, rel         string
		within, ancestor bool
	}{
		{".git/hooks", ".git/hooks", true, true},
		{".git/hooks", ".git/hooks/x", true, false},
		{".git/hooks", ".git", false, true},
		{".git/hooks", "", false, true},
		{".git/hooks", ".git/hooksx", false, false},
		{".git/worktrees/*/gitdir", ".git/worktrees/a/gitdir", true, true},
		{".git/worktrees/*/gitdir", ".git/worktrees/a", false, true},
		{".git/worktrees/*/gitdir", ".git/worktrees/a/b/gitdir", false, false},
		{".git/modules/**/config", ".git/modules/config", true, true},
		{".git/modules/**/config", ".git/modules/a/b/c/config/x", true, true},
		{".git/modules/**/config", ".git/modules/a/b", false, true},
		{".git/modules/**/config", ".git/modulesx/a/config", false, false},
		{"a*b", "axxb", true, true},
	} {
		if got := globWithin(c.pat, c.rel); got != c.within {
			t.Errorf("globWithin(%q, %q) = %v", c.pat, c.rel, got)
		}
		if got := globAncestor(c.pat, c.rel); got != c.ancestor {
			t.Errorf("globAncestor(%q, %q) = %v", c.pat, c.rel, got)
		}
	}
}
