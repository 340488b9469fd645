package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The observer: every refused attempt is reported with exactly what was
// tried, by whom and why, and the program sees the errno the Event names.

func TestObserverReportsEachKind(t *testing.T) {
	b := newBox(t)
	key := b.path(".ssh/id_rsa")
	if err := os.Symlink(key, filepath.Join(b.ws, "key-link")); err != nil {
		t.Fatal(err)
	}
	// A link in the workspace to a file that exists but is protected:
	// the kernel resolves it, and the report names the file it reaches.
	if err := os.Symlink(b.path(".bashrc"), filepath.Join(b.ws, "rc-link")); err != nil {
		t.Fatal(err)
	}
	tool := b.mkfile(".ssh/tool", "")
	// Executable on the host: only then is hiding it what stops the exec.
	if data, err := os.ReadFile(filepath.Join(binDir, "attempt")); err != nil || os.WriteFile(tool, data, 0o755) != nil || os.Chmod(tool, 0o755) != nil {
		t.Fatal("copy attempt into ~/.ssh")
	}
	cases := []struct {
		name       string
		action     []string
		kind, op   string
		target     string
		ruleSubstr string
		errno      string
	}{
		{"read absolute", []string{"read", key}, "file", "read", key, "denyRead", "EACCES"},
		{"read relative to cwd", []string{"read", "../.ssh/id_rsa"}, "file", "read", key, "denyRead", "EACCES"},
		{"read relative to a dirfd", []string{"readat", b.home, ".ssh/id_rsa"}, "file", "read", key, "denyRead", "EACCES"},
		{"read through a symlink", []string{"read", filepath.Join(b.ws, "key-link")}, "file", "read", key, "denyRead", "EACCES"},
		{"read with a .. escape", []string{"read", b.ws + "/../.aws/credentials"}, "file", "read", b.path(".aws/credentials"), "denyRead", "EACCES"},
		{"create outside the workspace", []string{"write", b.path("outside"), "x"}, "file", "create", b.path("outside"), "allowWrite", "EROFS"},
		{"write a protected file", []string{"append", b.path(".bashrc"), "evil"}, "file", "write", b.path(".bashrc"), "protected", "EROFS"},
		{"write through a symlink", []string{"append", filepath.Join(b.ws, "rc-link"), "evil"}, "file", "write", b.path(".bashrc"), "protected", "EROFS"},
		{"delete outside the workspace", []string{"unlink", b.path(".bashrc")}, "file", "delete", b.path(".bashrc"), "protected", "EROFS"},
		{"rename out of the workspace", []string{"rename", filepath.Join(b.ws, "README"), b.path("moved")}, "file", "rename", b.path("moved"), "allowWrite", ""},
		{"exec a hidden program", []string{"exec", tool}, "file", "exec", tool, "denyRead", "EACCES"},
		{"connect out", []string{"connect-tcp", "192.0.2.1:443"}, "net", "connect", "192.0.2.1:443", "network.mode proxy: direct connections are refused", "ENETUNREACH"},
		{"dns query", []string{"send-udp", "192.0.2.1:53"}, "net", "dns", "192.0.2.1:53", "network.mode proxy: the program sends DNS queries itself", "ENETUNREACH"},
		{"deny-list syscall", []string{"ptrace", "1"}, "syscall", "ptrace", "", "seccomp", "EPERM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(b.root, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			stdout, stderr, _ := b.run([]string{"--audit-log", logPath}, append([]string{filepath.Join(binDir, "attempt")}, tc.action...)...)
			var o outcome
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &o); err != nil {
				t.Fatalf("attempt output %q: %v; stderr %s", stdout, err, stderr)
			}
			if o.OK {
				t.Fatalf("%v succeeded inside the sandbox", tc.action)
			}
			if tc.errno != "" && o.Errno != tc.errno {
				t.Fatalf("the program saw %s (%s), want %s", o.Errno, o.Detail, tc.errno)
			}
			var ev map[string]any
			for _, r := range ofType(auditRecords(t, logPath), "blocked") {
				if r["op"] == tc.op {
					ev = r
				}
			}
			if ev == nil {
				t.Fatalf("no blocked %s event; audit: %v; stderr %s", tc.op, auditRecords(t, logPath), stderr)
			}
			if ev["kind"] != tc.kind || (tc.target != "" && ev["target"] != tc.target) || !strings.Contains(ev["rule"].(string), tc.ruleSubstr) {
				t.Fatalf("event %v, want kind %s target %s rule ~%s", ev, tc.kind, tc.target, tc.ruleSubstr)
			}
			if ev["errno"] != o.Errno {
				t.Fatalf("event says %v, the program saw %s", ev["errno"], o.Errno)
			}
			if ev["tool"] != "-" || ev["pid"] == nil || !strings.HasSuffix(ev["exe"].(string), "attempt") {
				t.Fatalf("event attribution %v", ev)
			}
			if want := "sbshim: blocked " + tc.op; tc.kind != "syscall" && !strings.Contains(stderr, want+" "+tc.target) {
				t.Fatalf("stderr lacks %q: %s", want+" "+tc.target, stderr)
			}
		})
	}
}

// Racing the observer — swapping a symlink between an allowed file and a
// secret while reading it — changes at most what is reported: the kernel
// layers still hide the secret.
func TestObserverRaceCannotLeak(t *testing.T) {
	b := newBox(t)
	o := b.attempt([]string{"--audit-log", "-"}, "race-read", filepath.Join(b.ws, "flip"), filepath.Join(b.ws, "README"), b.path(".ssh/id_rsa"), "3000")
	if o.OK {
		t.Fatalf("the race read the secret: %s", o.Detail)
	}
	if !strings.Contains(o.Detail, "3000 reads") || strings.Contains(o.Detail, " 0 opened") {
		t.Fatalf("the race did not run: %s", o.Detail)
	}
	t.Log(o.Detail)
}

// Repeats of one attempt are collapsed on stderr.
func TestObserverCollapsesRepeats(t *testing.T) {
	b := newBox(t)
	script := `for i in 1 2 3 4 5 6 7 8 9 10; do cat "$1" 2>/dev/null; done; true`
	_, stderr, code := b.run([]string{"--audit-log", "-"}, "/bin/sh", "-c", script, "sh", b.path(".ssh/id_rsa"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Count(stderr, "blocked read "+b.path(".ssh/id_rsa"))
	if lines != 2 || !strings.Contains(stderr, "(×10)") {
		t.Fatalf("want the first attempt and one (×10) total on stderr, got:\n%s", stderr)
	}
}

// Directories: opening a hidden directory by its path (ls ~/.ssh) is
// reported; one step of a directory walk (openat relative to the parent's
// descriptor, as find does) is not sent to the observer — a walk opens
// thousands — but the mount tree still hides what is inside.
func TestObserverDirectories(t *testing.T) {
	b := newBox(t)
	logPath := filepath.Join(b.root, "dirs.jsonl")
	_, stderr, code := b.run([]string{"--audit-log", logPath}, "/bin/ls", b.path(".ssh"))
	if code == 0 {
		t.Fatalf("ls of the hidden ~/.ssh succeeded: %s", stderr)
	}
	var seen bool
	for _, r := range ofType(auditRecords(t, logPath), "blocked") {
		seen = seen || (r["op"] == "read" && r["target"] == b.path(".ssh"))
	}
	if !seen || !strings.Contains(stderr, "sbshim: blocked read "+b.path(".ssh")) {
		t.Fatalf("ls ~/.ssh was not reported; audit %v; stderr %s", auditRecords(t, logPath), stderr)
	}
	stdout, stderr, _ := b.run([]string{"--audit-log", "-"}, "/usr/bin/find", b.home)
	if strings.Contains(stdout, "id_rsa") {
		t.Fatalf("find walked into the hidden ~/.ssh: %s", stdout)
	}
	if !strings.Contains(stdout, b.ws+"\n") || !strings.Contains(stderr, b.path(".ssh")) || !strings.Contains(stderr, "Permission denied") {
		t.Fatalf("find did not walk the home, or was not refused ~/.ssh: %q %s", stdout, stderr)
	}
}
