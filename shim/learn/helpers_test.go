package learn

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
)

// Test world: a home with a workspace in it; the policy is the built-in
// default loaded for it.
const (
	tHome = "/home/u"
	tWS   = "/home/u/proj"
)

func testPolicy(t testing.TB, profile string) *policy.Policy {
	t.Helper()
	cfg := t.TempDir()
	t.Setenv("XDG_STATE_HOME", "/home/u/.local/state")
	pol, err := policy.Load(policy.LoadOptions{Profile: profile, UserConfigDir: cfg, Vars: policy.Vars{
		Home: tHome, Workspace: tWS, Tmp: "/tmp", Cache: "/home/u/.cache/sbshim/t", ConfigDir: "/home/u/.config/sbshim",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// fakeFS is a file system of listed paths: dirs, files, symlinks (to a
// target); every ancestor of a listed path is a folder.
type fakeFS struct {
	dirs, files map[string]bool
	links       map[string]string
}

func newFakeFS(entries ...string) *fakeFS {
	f := &fakeFS{dirs: map[string]bool{"/": true}, files: map[string]bool{}, links: map[string]string{}}
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e, "/"):
			f.addDir(strings.TrimSuffix(e, "/"))
		case strings.Contains(e, " -> "):
			from, to, _ := strings.Cut(e, " -> ")
			f.addDir(filepath.Dir(from))
			f.links[from] = to
		default:
			f.addDir(filepath.Dir(e))
			f.files[e] = true
		}
	}
	return f
}

func (f *fakeFS) addDir(d string) {
	for ; d != "/" && d != "."; d = filepath.Dir(d) {
		f.dirs[d] = true
	}
}

func (f *fakeFS) Lstat(p string) (fs.FileMode, error) {
	switch {
	case f.dirs[p]:
		return fs.ModeDir | 0o755, nil
	case f.files[p]:
		return 0o644, nil
	case f.links[p] != "":
		return fs.ModeSymlink | 0o777, nil
	}
	return 0, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

func (f *fakeFS) EvalSymlinks(p string) (string, error) {
	// Resolve any symlinked component.
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for _, c := range parts {
		next := filepath.Join(cur, c)
		if to := f.links[next]; to != "" {
			next = to
		}
		cur = next
	}
	return cur, nil
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// att builds an attempt as the supervisor would log it.
func att(kind, op, target, rule string, tool string) *Attempt {
	layer := "supervisor"
	if kind == "net" && (strings.HasPrefix(rule, "network.") || strings.HasPrefix(rule, "rebinding")) && !strings.HasPrefix(rule, "network.allowUnixSockets") {
		layer = isolation.ProxyLayer
	}
	return &Attempt{Kind: kind, Op: op, Target: target, Rule: rule, Layer: layer, Tools: map[string]int{tool: 1}, Times: 1, First: t0, Last: t0}
}

const notListed = "filesystem.allowWrite (not listed)"
const netNotListed = "network.allow (not listed)"
