package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbshim/sbshim/shim/audit"
)

var auditFixture = map[string][]string{
	"filesystem.jsonl": {
		`{"ts":"2026-11-22T10:00:00Z","server":"filesystem","session":"A","type":"session_start","command":["npx","-y","@modelcontextprotocol/server-filesystem"],"profile":"default"}`,
		`{"ts":"2026-11-22T10:15:01Z","server":"filesystem","session":"A","type":"blocked","kind":"file","op":"read","target":"/home/me/.ssh/id_rsa","pid":42,"exe":"/usr/bin/node","tool":"read_text_file","request_id":"7","rule":"filesystem.denyRead ~/.ssh","layer":"observer"}`,
		`{"ts":"2026-11-22T10:15:02Z","server":"filesystem","session":"A","type":"tool_call","tool":"read_text_file","request_id":"7","duration_ms":12.3,"outcome":"ok","blocked":1}`,
		`{"ts":"2026-11-22T10:15:03Z","server":"filesystem","session":"A","type":"tool_call","tool":"read_text_file","request_id":"8","duration_ms":1200,"outcome":"tool_error"}`,
		`not json`,
		`{"ts":"2026-11-22T10:16:00Z","server":"filesystem","session":"A","type":"tool_call","tool":"list_directory","request_id":"9","duration_ms":0.4,"outcome":"ok"}`,
		`{"ts":"2026-11-22T10:20:00Z","server":"filesystem","session":"A","type":"session_end","exit_code":0,"duration_ms":1200000,"tool_calls":3,"blocked":1}`,
	},
	"fetch.jsonl": {
		`{"ts":"2026-11-23T09:00:00Z","server":"fetch","session":"B","type":"tool_call","tool":"fetch","duration_ms":850,"outcome":"ok","net":{"api.example.com:443":2}}`,
		`{"ts":"2026-11-23T09:00:01Z","server":"fetch","session":"B","type":"blocked","kind":"net","op":"connect","target":"evil.example:443","pid":50,"exe":"/usr/bin/python3","tool":"-","rule":"network.allow","layer":"proxy","count":2}`,
	},
}

func auditDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, lines := range auditFixture {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testAuditEnv(ctx context.Context) auditEnv {
	return auditEnv{
		ctx: ctx, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), loc: time.UTC,
		dir:  func() (string, error) { return "/nonexistent/default", nil },
		poll: 10 * time.Millisecond,
	}
}

func runAuditT(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runAudit(args, &out, &errb, testAuditEnv(context.Background()))
	return code, out.String(), errb.String()
}

func TestAuditCLI(t *testing.T) {
	dir := auditDir(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // a substring of it
	}{
		{"table", []string{"--dir", dir}, 0, `
SERVER      TOOL            CALLS  ERRORS  BLOCKED  P50      P95
fetch       -               0      0       2        -        -
fetch       fetch           1      0       0        850.0ms  850.0ms
filesystem  list_directory  1      0       0        0.40ms   0.40ms
filesystem  read_text_file  2      1       1        12.3ms   1.2s
`, "skipped 1 line(s) that are not audit records; first: " + filepath.Join(dir, "filesystem.jsonl") + ":5:"},
		{"net", []string{"--dir", dir, "--net", "--server", "fetch"}, 0, `
SERVER  TOOL   CALLS  ERRORS  BLOCKED  P50      P95
fetch   -      0      0       2        -        -
fetch   fetch  1      0       0        850.0ms  850.0ms

SERVER  TOOL   DESTINATION          ALLOWED  REFUSED
fetch   -      evil.example:443     0        2
fetch   fetch  api.example.com:443  2        0
`, ""},
		{"tool and since", []string{"--dir", dir, "--tool", "read_text_file", "--since", "2026-11-22T10:15:03Z"}, 0, `
SERVER      TOOL            CALLS  ERRORS  BLOCKED  P50   P95
filesystem  read_text_file  1      1       0        1.2s  1.2s
`, ""},
		{"events", []string{"--dir", dir, "--events"}, 0, `
TIME                 SERVER      TOOL            OP           TARGET                      PID/EXE     RULE
2026-11-22 10:15:01  filesystem  read_text_file  file read    /home/me/.ssh/id_rsa        42 node     filesystem.denyRead ~/.ssh
2026-11-23 09:00:01  fetch       -               net connect  evil.example:443 (2 times)  50 python3  network.allow
`, ""},
		{"events json", []string{"--dir", dir, "--events", "--json", "--session", "B"}, 0,
			"\n" + auditFixture["fetch.jsonl"][1] + "\n", ""},
		{"no match", []string{"--dir", dir, "--server", "nope"}, 0, "\nno matching records in " + dir + " (2 log file(s))\n", ""},
		{"missing dir", []string{"--dir", filepath.Join(dir, "nope")}, 0, "\nno audit logs in " + filepath.Join(dir, "nope") + "\n", ""},
		{"default dir", nil, 0, "\nno audit logs in /nonexistent/default\n", ""},
		{"help", []string{"-h"}, 0, "\n", "Usage: sbshim audit"},
		{"bad flag", []string{"--nope"}, 2, "\n", "Usage: sbshim audit"},
		{"argument", []string{"x"}, 2, "\n", `unexpected argument "x"`},
		{"bad since", []string{"--since", "yesterday"}, 2, "\n", `--since "yesterday": expected`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runAuditT(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errs)
			}
			if want := strings.TrimPrefix(tt.stdout, "\n"); out != want {
				t.Errorf("stdout\n%s\nwant\n%s", out, want)
			}
			if !strings.Contains(errs, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errs, tt.stderr)
			}
		})
	}
}

func TestAuditCLIJSON(t *testing.T) {
	code, out, _ := runAuditT(t, "--dir", auditDir(t), "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var s audit.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Records != 8 || s.Sessions != 2 || s.BadLines != 1 || len(s.Tools) != 4 || s.Tools[3].Tool != "read_text_file" || s.Tools[3].P95MS != 1200 {
		t.Errorf("summary %+v", s)
	}
	for _, key := range []string{`"server"`, `"tool"`, `"calls"`, `"errors"`, `"cancelled"`, `"no_response"`, `"blocked"`, `"p50_ms"`, `"p95_ms"`, `"refused"`, `"net"`, `"bad_lines"`} {
		if !strings.Contains(out, key) {
			t.Errorf("no %s in %s", key, out)
		}
	}
	code, out, _ = runAuditT(t, "--dir", filepath.Join(t.TempDir(), "none"), "--json")
	if code != 0 || !strings.Contains(out, `"tools": []`) {
		t.Errorf("empty JSON summary: %d %s", code, out)
	}
}

// syncBuffer is a bytes.Buffer that a copier (sbshim's stderr, the audit
// follower) and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAuditCLIFollow(t *testing.T) {
	dir := auditDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAudit([]string{"--dir", dir, "-f", "--server", "filesystem"}, &out, &errs, testAuditEnv(ctx))
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q within 10s in:\n%s", s, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("session A ended")
	want := `10:00:00 filesystem  session A started: npx -y @modelcontextprotocol/server-filesystem (profile default)
10:15:01 filesystem read_text_file  blocked file read /home/me/.ssh/id_rsa (pid 42 node, filesystem.denyRead ~/.ssh)
10:15:02 filesystem read_text_file  ok 12.3ms (1 blocked)
10:15:03 filesystem read_text_file  tool_error 1.2s
10:16:00 filesystem list_directory  ok 0.40ms
10:20:00 filesystem  session A ended: exit 0 after 20m00s, 3 tool calls, 1 blocked
`
	if got := out.String(); got != want {
		t.Errorf("existing records:\n%s\nwant\n%s", got, want)
	}
	w, err := audit.Open(filepath.Join(dir, "filesystem.jsonl"), "filesystem", "C")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(audit.Record{TS: time.Date(2026, 11, 23, 10, 0, 5, 0, time.UTC), Type: audit.TypeToolCall, Tool: audit.Tools{"write_file"}, DurationMS: 3, Outcome: audit.OutcomeCancelled})
	w.Close()
	waitFor("10:00:05 filesystem write_file  cancelled 3.0ms\n")
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr %s", code, errs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not stop")
	}
	if !strings.Contains(errs.String(), "filesystem.jsonl:5") {
		t.Errorf("stderr %q", errs.String())
	}
}

// A flood's blocked_summary records show in --events and in the table's
// totals; a target with control characters stays on its row, escaped.
func TestAuditCLIFloodAndHostileNames(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		`{"ts":"2026-11-22T10:15:01Z","server":"fs","session":"A","type":"blocked","kind":"file","op":"read","target":"/home/me/.ssh/x\nsbshim: all clear\u001b[2K","pid":42,"exe":"/usr/bin/node","tool":"-","rule":"filesystem.denyRead ~/.ssh"}`,
		`{"ts":"2026-11-22T10:15:02Z","server":"fs","session":"A","type":"blocked_summary","tool":["-","read"],"count":12,"by_op":{"file read":12},"by_tool":{"-":2,"read":10}}`,
		`{"ts":"2026-11-22T10:15:03Z","server":"fs","session":"A","type":"tool_call","tool":"read","duration_ms":1,"outcome":"ok","blocked":10}`,
		`{"ts":"2026-11-22T10:16:00Z","server":"fs","session":"A","type":"session_end","exit_code":0,"duration_ms":60000,"tool_calls":1,"blocked":13,"dropped":12}`,
	}
	if err := os.WriteFile(filepath.Join(dir, "fs.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--events"}, `
TIME                 SERVER  TOOL    OP            TARGET                                     PID/EXE  RULE
2026-11-22 10:15:01  fs      -       file read     /home/me/.ssh/x\nsbshim: all clear\x1b[2K  42 node  filesystem.denyRead ~/.ssh
2026-11-22 10:15:02  fs      -,read  12 file read  (12 not listed)                            -        -
`},
		{nil, `
SERVER  TOOL  CALLS  ERRORS  BLOCKED  P50    P95
fs      -     0      0       3        -      -
fs      read  1      0       10       1.0ms  1.0ms
(12 blocked attempts counted above were not listed one by one: sbshim audit --events shows the summaries)
`},
	} {
		code, out, errs := runAuditT(t, append([]string{"--dir", dir}, tt.args...)...)
		if want := strings.TrimPrefix(tt.want, "\n"); code != 0 || out != want {
			t.Errorf("sbshim audit %v: exit %d, stderr %s, stdout\n%s\nwant\n%s", tt.args, code, errs, out, want)
		}
	}
}
