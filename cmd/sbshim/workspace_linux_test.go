package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runIn runs sbshim FLAGS -- ARGV with dir as its working directory and
// returns stdout, stderr and the exit status.
func (b *box) runIn(dir string, flags []string, argv ...string) (string, string, int) {
	b.t.Helper()
	ws := b.ws
	b.ws = dir
	defer func() { b.ws = ws }()
	return b.run(flags, argv...)
}

// policyIn is what `sbshim policy` prints in dir: the policy and stderr.
func (b *box) policyIn(dir string, flags ...string) (allowWrite []string, workspace string, stderr string) {
	b.t.Helper()
	out, stderr, code := b.runIn(dir, append([]string{"policy"}, flags...))
	if code != 0 {
		b.t.Fatalf("sbshim policy in %s: exit %d: %s", dir, code, stderr)
	}
	var pol struct {
		Filesystem struct {
			AllowWrite []string `json:"allowWrite"`
		} `json:"filesystem"`
		Vars struct {
			Workspace string `json:"workspace"`
		} `json:"vars"`
	}
	if err := json.Unmarshal([]byte(out), &pol); err != nil {
		b.t.Fatalf("sbshim policy in %s: %v\n%s", dir, err, out)
	}
	return pol.Filesystem.AllowWrite, pol.Vars.Workspace, stderr
}

// TestNoWorkspaceInRootOrHome: started in /, in the home folder or in a
// folder that holds it, as MCP clients do, sbshim has no writable
// workspace: a write there is refused, sbshim says so in one line naming
// --workspace, and `sbshim policy` says the same. Started in the project,
// the project is writable and nothing is said.
func TestNoWorkspaceInRootOrHome(t *testing.T) {
	b := newBox(t)
	cases := []struct {
		name, dir string
		notice    bool
	}{
		{"root", "/", true},
		{"home", b.home, true},
		{"holds the home", b.root, true},
		{"project", b.ws, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(c.dir, fmt.Sprintf("sbshim-ws-test-%d", time.Now().UnixNano()))
			t.Cleanup(func() { os.Remove(target) })
			stdout, stderr, code := b.runIn(c.dir, nil, filepath.Join(binDir, "attempt"), "write", target, "x")
			var o outcome
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &o); err != nil {
				t.Fatalf("attempt: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			_, statErr := os.Stat(target)
			notices := strings.Count(stderr, "no writable workspace")
			allow, ws, policyErr := b.policyIn(c.dir)
			if !c.notice {
				if !o.OK || statErr != nil || notices != 0 || ws != c.dir {
					t.Fatalf("in the project: write ok %v (%s), on the host: %v, notices %d, policy workspace %q", o.OK, o.Errno, statErr, notices, ws)
				}
				return
			}
			if o.OK || statErr == nil {
				t.Fatalf("a write to %s succeeded (errno %q); the folder sbshim ran in is no workspace", target, o.Errno)
			}
			if o.Errno != "EROFS" {
				t.Errorf("write to %s: %s, want EROFS", target, o.Errno)
			}
			if notices != 1 || !strings.Contains(stderr, "--workspace") || !strings.Contains(stderr, c.dir) {
				t.Errorf("stderr must say once, naming %s and --workspace, that there is no workspace:\n%s", c.dir, stderr)
			}
			if ws != "" || strings.Count(policyErr, "no writable workspace") != 1 {
				t.Errorf("sbshim policy: workspace %q, stderr %q", ws, policyErr)
			}
			for _, w := range allow {
				if w == "/" || strings.HasPrefix(b.home+"/", strings.TrimSuffix(w, "/")+"/") {
					t.Errorf("sbshim policy: allowWrite %v holds %s", allow, w)
				}
			}
		})
	}
}

// TestWorkspaceMustExist: a --workspace that is not a folder is an error
// (125) before anything runs, not a silently read-only working directory.
func TestWorkspaceMustExist(t *testing.T) {
	b := newBox(t)
	marker := filepath.Join(b.ws, "command-ran")
	for _, ws := range []string{filepath.Join(b.root, "no-such-folder"), b.path("proj/README")} {
		for _, sub := range [][]string{nil, {"policy"}} {
			_, stderr, code := b.run(append(append([]string{}, sub...), "--workspace", ws), "touch", marker)
			if code != 125 || !strings.Contains(stderr, "--workspace "+ws) {
				t.Errorf("sbshim %v --workspace %s: exit %d, stderr %q; want 125 naming it", sub, ws, code, stderr)
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the command ran with a --workspace that does not exist")
	}
	// An existing one is taken, and writable.
	other := filepath.Join(b.root, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	b.mustWork([]string{"--workspace", other}, "write", filepath.Join(other, "f"), "x")
}
