package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// learnCmd runs sbshim learn ARGS in the box's world, as a user would.
func (b *box) learnCmd(args ...string) (string, string, int) {
	b.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "sbshim"), append([]string{"learn"}, args...)...)
	cmd.Dir = b.ws
	cmd.Env = append(filteredEnviron(), "HOME="+b.home,
		"XDG_CONFIG_HOME="+filepath.Join(b.home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(b.home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(b.root, "state"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("run sbshim learn: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

// waitSessions waits until the log holds n session_end records and
// returns the records of the last session.
func waitSessions(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Count(string(b), `"session_end"`) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d session_end records in %s", n, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recs := auditRecords(t, path)
	starts := ofType(recs, "session_start")
	last := starts[len(starts)-1]["session"]
	var out []map[string]any
	for _, r := range recs {
		if r["session"] == last {
			out = append(out, r)
		}
	}
	return out
}

// TestLearnFilesystem is the acceptance test of sbshim learn: the real
// server-filesystem, given a folder outside the workspace, cannot change
// it under the default profile (blocked and reported); sbshim learn
// --write proposes and saves the folder; with --profile NAME the same
// tools work with zero blocks; and learn then proposes nothing new.
func TestLearnFilesystem(t *testing.T) {
	b := newBox(t)
	notes := filepath.Dir(b.mkfile("notes/old.txt", "one\ntwo\n"))
	argv := serverArgv(t, "server-filesystem", b.ws, notes)
	logPath := filepath.Join(b.root, "state", "sbshim", "audit", "fs-learn.jsonl")
	const name = "fs-learn"

	// useTools calls the tools that change the folder; want says whether
	// they should work.
	useTools := func(flags []string, want bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, nil)
		cs := b.sdkSession(ctx, cl, flags, argv)
		defer cs.Close()
		calls := []struct {
			tool string
			args map[string]any
		}{
			{"write_file", map[string]any{"path": filepath.Join(notes, "new.txt"), "content": "learned"}},
			{"create_directory", map[string]any{"path": filepath.Join(notes, "sub")}},
			{"edit_file", map[string]any{"path": filepath.Join(notes, "old.txt"), "edits": []map[string]any{{"oldText": "two", "newText": "three"}}}},
		}
		for _, c := range calls {
			text, isErr := sdkCall(t, ctx, cs, c.tool, c.args)
			if isErr == want {
				t.Fatalf("%s (should work: %v): error %v: %s", c.tool, want, isErr, text)
			}
			if !want && !strings.Contains(text, "sbshim blocked") {
				t.Fatalf("%s: the refusal is not reported: %s", c.tool, text)
			}
		}
		// Reading was never restricted.
		if text, isErr := sdkCall(t, ctx, cs, "read_text_file", map[string]any{"path": filepath.Join(notes, "old.txt")}); isErr {
			t.Fatalf("read_text_file: %s", text)
		}
	}

	useTools([]string{"--name", name}, false)
	recs := waitSessions(t, logPath, 1)
	if len(ofType(recs, "blocked")) == 0 {
		t.Fatal("the first session reported no blocked attempt")
	}

	out, errOut, code := b.learnCmd("--server", name, "--write")
	t.Logf("sbshim learn --write:\n%s", out)
	if code != 0 {
		t.Fatalf("learn --write: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"+  ~/notes\n", "+    # tool write_file needed", "+    # tool create_directory needed", "+    # tool edit_file needed",
		"sbshim --name " + name + " --profile " + name + " -- "} {
		if !strings.Contains(out, want) {
			t.Errorf("learn output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "+  ") && !strings.HasPrefix(l, "+    ") && l != "+  ~/notes" {
			t.Errorf("learn proposes more than the folder: %q\n%s", l, out)
		}
	}
	if _, err := os.Stat(filepath.Join(b.home, ".config", "sbshim", "profiles", name+".json")); err != nil {
		t.Fatalf("the profile was not written: %v\n%s", err, out)
	}

	useTools([]string{"--name", name, "--profile", name}, true)
	recs = waitSessions(t, logPath, 2)
	if blocked := ofType(recs, "blocked"); len(blocked) != 0 {
		t.Fatalf("with the learned profile, still blocked: %v", blocked)
	}
	if got, err := os.ReadFile(filepath.Join(notes, "old.txt")); err != nil || string(got) != "one\nthree\n" {
		t.Fatalf("edit_file through the sandbox: %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(notes, "new.txt")); err != nil || string(got) != "learned" {
		t.Fatalf("write_file through the sandbox: %q, %v", got, err)
	}

	out, errOut, code = b.learnCmd("--server", name)
	if code != 0 || !strings.Contains(out, "Nothing new to propose") || strings.Contains(out, "\n+  ") {
		t.Fatalf("learn with the profile in force: exit %d\n%s\n%s", code, out, errOut)
	}
}
