package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReportedExactlyWhenTheSandboxChangedTheOutcome: an attempt is
// reported as blocked exactly when the same call without the sandbox, by
// the same user, would have succeeded or reached something; then once,
// with the op, the host path and the rule. What the program would have
// got anyway (a file that is not there, a folder that exists, a file the
// user cannot write) is not reported.
func TestReportedExactlyWhenTheSandboxChangedTheOutcome(t *testing.T) {
	b := newBox(t)
	ws := b.ws
	if err := os.MkdirAll(b.path(".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file the user cannot write on the host either (root can).
	unwritable := b.mkfile("readonly-on-host", "x")
	if err := os.Chmod(unwritable, 0o444); err != nil {
		t.Fatal(err)
	}
	hostWrites := unix.Access(unwritable, unix.W_OK) == nil
	type report struct{ op, target, rule string }
	cases := []struct {
		name   string
		argv   []string
		errno  string // the errno the program sees ("" when it succeeds)
		report *report
	}{
		{"mkdir -p through existing parents", []string{"sh", "-c", "mkdir -p " + ws + "/a/b/c"}, "", nil},
		{"read an existing secret", []string{"attempt", "read", b.path(".ssh/id_rsa")}, "EACCES",
			&report{"read", b.path(".ssh/id_rsa"), "filesystem.denyRead ~/.ssh"}},
		{"read a secret that does not exist", []string{"attempt", "read", b.path(".netrc")}, "ENOENT", nil},
		{"read a secret relative to the working directory", []string{"sh", "-c", "cd " + b.home + " && cat .ssh/id_rsa"}, "",
			&report{"read", b.path(".ssh/id_rsa"), "filesystem.denyRead ~/.ssh"}},
		{"read relative to a folder's descriptor", []string{"attempt", "readat", ws, "README"}, "", nil},
		{"read in a hidden folder, nothing there", []string{"attempt", "read", b.path(".aws/none")}, "EACCES", nil},
		{"O_CREAT write of protected git config", []string{"attempt", "write", ws + "/.git/config", "x"}, "EROFS",
			&report{"write", ws + "/.git/config", "protected .git/config"}},
		{"append to ~/.bashrc", []string{"attempt", "append", b.path(".bashrc"), "x"}, "EROFS",
			&report{"write", b.path(".bashrc"), "protected .bashrc"}},
		{"O_CREAT write of ~/.bashrc", []string{"attempt", "write", b.path(".bashrc"), "x"}, "EROFS",
			&report{"write", b.path(".bashrc"), "protected .bashrc"}},
		{"create beside the workspace", []string{"attempt", "write", b.path("new-file"), "x"}, "EROFS",
			&report{"create", b.path("new-file"), "filesystem.allowWrite (not listed)"}},
		{"create a protected name", []string{"attempt", "write", ws + "/.mcp.json", "{}"}, "EACCES",
			&report{"create", ws + "/.mcp.json", "protected .mcp.json"}},
		{"write a file the user cannot write anyway", []string{"attempt", "write", unwritable, "x"}, "", nil},
		{"chmod of protected git config", []string{"attempt", "chmod", ws + "/.git/config", "600"}, "EROFS",
			&report{"chmod", ws + "/.git/config", "protected .git/config"}},
		{"utimes of ~/.bashrc", []string{"attempt", "utimes", b.path(".bashrc")}, "EROFS",
			&report{"utimes", b.path(".bashrc"), "protected .bashrc"}},
		{"truncate of ~/.bashrc", []string{"attempt", "truncate", b.path(".bashrc")}, "EROFS",
			&report{"truncate", b.path(".bashrc"), "protected .bashrc"}},
		{"setxattr of ~/.bashrc", []string{"attempt", "setxattr", b.path(".bashrc")}, "EROFS",
			&report{"xattr", b.path(".bashrc"), "protected .bashrc"}},
		{"chmod in the workspace", []string{"attempt", "chmod", ws + "/README", "600"}, "", nil},
		{"chmod of a missing file outside", []string{"attempt", "chmod", b.path("missing"), "600"}, "ENOENT", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "audit.jsonl")
			argv := c.argv
			if argv[0] == "attempt" {
				argv = append([]string{filepath.Join(binDir, "attempt")}, argv[1:]...)
			}
			stdout, stderr, _ := b.in(t).run([]string{"--audit-log", logPath}, argv...)
			if argv[0] != "sh" {
				want := `"ok":true`
				if c.errno != "" {
					want = `"errno":"` + c.errno + `"`
				}
				if c.name == "write a file the user cannot write anyway" {
					want = `"errno":"EROFS"` // the read-only mount answers first
				}
				if !strings.Contains(stdout, want) {
					t.Fatalf("the program saw %s, want %s", strings.TrimSpace(stdout), want)
				}
			}
			blocked := ofType(auditRecords(t, logPath), "blocked")
			want := c.report
			if c.name == "write a file the user cannot write anyway" && hostWrites {
				want = &report{"write", unwritable, "filesystem.allowWrite (not listed)"}
			}
			if want == nil {
				if len(blocked) != 0 {
					t.Fatalf("reported %v; the sandbox changed nothing here\nstderr: %s", blocked, stderr)
				}
				if strings.Contains(stderr, "sbshim: blocked") {
					t.Fatalf("stderr reports a block: %s", stderr)
				}
				return
			}
			if len(blocked) != 1 {
				t.Fatalf("%d blocked records, want 1: %v\nstderr: %s", len(blocked), blocked, stderr)
			}
			r := blocked[0]
			got := report{fmt.Sprint(r["op"]), fmt.Sprint(r["target"]), fmt.Sprint(r["rule"])}
			if got != *want {
				t.Fatalf("reported %+v, want %+v", got, *want)
			}
			if n := strings.Count(stderr, "sbshim: blocked "); n != 1 {
				t.Fatalf("%d stderr reports, want 1:\n%s", n, stderr)
			}
		})
	}
}

// TestHiddenCommandSaysWhatHidesIt: a command that exists on the host but
// not in the sandbox fails with 127 and a line that names the layer that
// hides it; so does a program inside that tries to run it (a blocked exec).
func TestHiddenCommandSaysWhatHidesIt(t *testing.T) {
	b := newBox(t)
	data, err := os.ReadFile(filepath.Join(binDir, "attempt"))
	if err != nil {
		t.Fatal(err)
	}
	inTmp, err := os.CreateTemp("/tmp", "sbshim-hidden-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(inTmp.Name())
	inTmp.Close()
	secret := b.path(".ssh/tool")
	for _, p := range []string{inTmp.Name(), secret} {
		if err := os.WriteFile(p, data, 0o755); err != nil || os.Chmod(p, 0o755) != nil {
			t.Fatal("write", p, err)
		}
	}
	for _, c := range []struct {
		path, want, rule string
		code             int
	}{
		{inTmp.Name(), "private /tmp", "private /tmp", 127},                                 // not there inside
		{secret, "hidden by filesystem.denyRead ~/.ssh", "filesystem.denyRead ~/.ssh", 126}, // there, not searchable
	} {
		_, stderr, code := b.run(nil, c.path, "env")
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.path, code, stderr, c.code, c.want)
		}
		// Run by a program inside, at any time: the exec is reported,
		// with the same layer.
		_, stderr, code = b.run(nil, "/bin/sh", "-c", c.path+" env")
		if code != c.code || !strings.Contains(stderr, "sbshim: blocked exec "+c.path) || !strings.Contains(stderr, c.rule) {
			t.Errorf("sh -c %s: exit %d, stderr %q; want %d and a blocked exec naming %q", c.path, code, stderr, c.code, c.rule)
		}
	}
}
