package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFailedStartIsRecorded: a server that never starts (command not
// found, not executable, bad config, bad --workspace, in stdio and PTY
// mode) leaves one start_failed record with the error and sbshim's exit
// status in the audit log its name gives, never an empty log, and
// `sbshim audit` says it did not start. The name comes from the program
// or package, never from inline code.
func TestFailedStartIsRecorded(t *testing.T) {
	b := newBox(t)
	notExec := b.mkfile("proj/not-executable", "#!/bin/sh\n")
	cases := []struct {
		name  string
		flags []string
		argv  []string
		code  int
		mode  string
	}{
		{"no-such-server-x", nil, []string{"no-such-server-x", "--stdio"}, 127, "stdio"},
		{"not-executable", nil, []string{notExec}, 126, "stdio"},
		{"no-such-pty-server", []string{"--pty"}, []string{"no-such-pty-server"}, 127, "pty"},
		{"server-y", []string{"--profile", "no-such-profile"}, []string{"npx", "-y", "@x/server-y@1.0"}, 125, ""},
		{"python3", []string{"--workspace", b.path("missing")}, []string{"python3", "-W", "ignore", "-c", "print('/etc/x')"}, 125, ""},
	}
	auditDir := filepath.Join(b.root, "state", "sbshim", "audit")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := b.run(c.flags, c.argv...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, stderr)
			}
			recs := auditRecords(t, filepath.Join(auditDir, c.name+".jsonl"))
			if len(recs) != 1 || recs[0]["type"] != "start_failed" {
				t.Fatalf("audit log %s.jsonl: %v; want one start_failed record", c.name, recs)
			}
			r := recs[0]
			errText, _ := r["error"].(string)
			if errText == "" || !strings.Contains(stderr, errText) || r["exit_code"] != float64(c.code) || r["session"] == "" {
				t.Errorf("start_failed %v; stderr %q", r, stderr)
			}
			if mode, _ := r["mode"].(string); mode != c.mode {
				t.Errorf("mode %q, want %q", mode, c.mode)
			}
			cmd, _ := r["command"].([]any)
			if got := fmt.Sprint(cmd); got != fmt.Sprint(c.argv) {
				t.Errorf("command %s, want %s", got, fmt.Sprint(c.argv))
			}
		})
	}
	out, stderr, code := b.run([]string{"audit"})
	if code != 0 {
		t.Fatalf("sbshim audit: exit %d: %s", code, stderr)
	}
	for _, c := range cases {
		if want := fmt.Sprintf("%s: did not start (1 time; last ", c.name); !strings.Contains(out, want) ||
			!strings.Contains(out, fmt.Sprintf("exit %d)", c.code)) {
			t.Errorf("sbshim audit does not say that %s did not start:\n%s", c.name, out)
		}
	}
	entries, err := os.ReadDir(auditDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != len(cases) || slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "etc") }) {
		t.Errorf("audit logs %v: one per server, named after the program or package", names)
	}
}
