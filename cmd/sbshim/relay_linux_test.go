package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests drive the stdio relay through the real binary: bytes must
// pass unchanged both ways, huge lines and many calls in flight must pass
// with bounded memory, and the session must end cleanly however the
// server behaves.

// auditRecords reads an audit log written by a test session.
func auditRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func ofType(recs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

// transcript is a recorded session with everything a relay could trip on.
func transcript() (c2s, s2c []byte) {
	var c, s bytes.Buffer
	c.WriteString(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{}},"clientInfo":{"name":"t","version":"1"}}}` + "\n")
	c.WriteString(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")
	c.WriteString(`  {"id": 1 , "jsonrpc":"2.0",  "method":"tools/call","params":{"name":"a","arguments":{"x":"\u00e9\ud83d\ude00"}}}` + "\r\n")
	c.WriteString(`[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b"}},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}]` + "\n")
	c.WriteString("not json at all\n\n")
	c.Write([]byte{0xff, 0xfe, '{', 0xc3, '\n'})
	c.WriteString(`{"jsonrpc":"2.0","id":"s-1","result":{"roots":[]}}` + "\n")
	c.WriteString(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"big","arguments":{"blob":"` + strings.Repeat("x", 300_000) + `"}}}` + "\n")
	c.WriteString(`{"jsonrpc":"2.0","id":4,"method":"ping"}`) // no final newline

	s.WriteString(`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"r","version":"1"}}}` + "\n")
	s.WriteString(`{"jsonrpc":"2.0","id":"s-1","method":"roots/list"}` + "\n")
	s.WriteString(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}` + "\n")
	s.WriteString(`{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"two"}],"isError":true}}` + "\r\n")
	s.WriteString("server says hello on stdout\n")
	s.Write([]byte{0x80, 0x81, '\n'})
	s.WriteString(`{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"` + strings.Repeat("y", 300_000) + `"}]}}` + "\n")
	s.WriteString(`{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"nope"}}`)
	return c.Bytes(), s.Bytes()
}

// replayServer is a shell that records everything it receives until its
// stdin ends, then writes the recorded server side (after the requests, so
// that every response finds its request in flight).
func replayServer(send, recv string) []string {
	return []string{"/bin/sh", "-c", `cat > "$2"; exec cat "$1"`, "sh", send, recv}
}

func TestRelayIsByteExact(t *testing.T) {
	c2s, s2c := transcript()
	for _, maxLine := range []string{"", "4096"} { // whole lines, and lines streamed over the cap
		t.Run("max-line="+maxLine, func(t *testing.T) {
			b := newBox(t)
			send := filepath.Join(b.ws, "send")
			if err := os.WriteFile(send, s2c, 0o644); err != nil {
				t.Fatal(err)
			}
			direct := runReplay(t, exec.Command(replayServer(send, filepath.Join(b.ws, "recv-direct"))[0], replayServer(send, filepath.Join(b.ws, "recv-direct"))[1:]...), c2s)
			flags := []string{"--audit-log", filepath.Join(b.root, "audit.jsonl")}
			if maxLine != "" {
				flags = append(flags, "--max-line", maxLine)
			}
			via := runReplay(t, b.command(flags, replayServer(send, filepath.Join(b.ws, "recv-sbshim"))...), c2s)
			if !bytes.Equal(direct, s2c) {
				t.Fatalf("direct run: the client got %d bytes, want the %d recorded", len(direct), len(s2c))
			}
			if !bytes.Equal(via, direct) {
				t.Fatalf("through sbshim the client got different bytes:\n%s", firstDiff(via, direct))
			}
			for _, name := range []string{"recv-direct", "recv-sbshim"} {
				got, err := os.ReadFile(filepath.Join(b.ws, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, c2s) {
					t.Fatalf("%s: the server got different bytes:\n%s", name, firstDiff(got, c2s))
				}
			}
			recs := auditRecords(t, filepath.Join(b.root, "audit.jsonl"))
			calls := ofType(recs, "tool_call")
			want := map[string]string{"1": "cancelled", "2": "tool_error", "3": "ok"}
			if maxLine != "" {
				// Call 3's request is over the cap: relayed, not parsed.
				want = map[string]string{"1": "cancelled", "2": "tool_error"}
			}
			got := map[string]string{}
			for _, c := range calls {
				got[c["request_id"].(string)] = c["outcome"].(string)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("audit tool_call outcomes %v, want %v", got, want)
			}
			if n := len(ofType(recs, "session_start")) + len(ofType(recs, "session_end")); n != 2 {
				t.Fatalf("audit log has %d session records, want start and end: %v", n, recs)
			}
		})
	}
}

func runReplay(t *testing.T, cmd *exec.Cmd, input []byte) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, errb.String())
	}
	return out.Bytes()
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	clip := func(x []byte) []byte {
		lo, hi := max(0, i-40), min(len(x), i+40)
		return x[lo:hi]
	}
	return fmt.Sprintf("lengths %d and %d, first difference at byte %d:\n got %q\nwant %q", len(a), len(b), i, clip(a), clip(b))
}

// peakRSS is a process's high-water resident set in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	rss := peakRSSOf(pid)
	if rss == 0 {
		t.Fatalf("no VmHWM for pid %d", pid)
	}
	return rss
}

// memoryBound is what sbshim may hold at most: two line buffers at the
// parse cap plus the runtime, far below the 100 MB passing through.
const memoryBound = 80 << 20

func TestRelayHugeLineWithBoundedMemory(t *testing.T) {
	b := newBox(t)
	cmd := b.command([]string{"--audit-log", "-"}, "/bin/cat")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const size = 100 << 20
	want := sha256.New()
	go func() {
		chunk := bytes.Repeat([]byte(`{"k":"0123456789abcdef"}`), 4096)
		w := io.MultiWriter(stdin, want)
		for n := 0; n < size; n += len(chunk) {
			w.Write(chunk[:min(len(chunk), size-n)])
		}
		w.Write([]byte("\n"))
	}()
	got := sha256.New()
	n, err := io.CopyN(got, stdout, size+1)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n, err)
	}
	rss := peakRSS(t, cmd.Process.Pid)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("the 100 MB line came back different")
	}
	t.Logf("peak RSS of sbshim relaying a 100 MB line: %d MiB", rss>>20)
	if rss > memoryBound {
		t.Fatalf("sbshim peaked at %d MiB relaying one 100 MB line; memory must stay bounded (< %d MiB)", rss>>20, memoryBound>>20)
	}
}

func TestRelayTenThousandCallsInFlight(t *testing.T) {
	const n = 10000
	b := newBox(t)
	logPath := filepath.Join(b.root, "audit.jsonl")
	cmd := b.command([]string{"--audit-log", logPath}, filepath.Join(binDir, "echo"), "-hold", strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		fmt.Fprintln(w, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{}}}`+"\n", i)
		}
		w.Flush()
	}()
	seen := make([]bool, n)
	sc := bufio.NewScanner(stdout)
	for count := 0; count < n+1; count++ {
		if !sc.Scan() {
			t.Fatalf("after %d responses: %v; stderr %s", count, sc.Err(), stderr.String())
		}
		var r struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Result == nil {
			t.Fatalf("response %q: %v", sc.Text(), err)
		}
		if id, err := strconv.Atoi(string(r.ID)); err == nil {
			if seen[id] {
				t.Fatalf("id %d answered twice", id)
			}
			seen[id] = true
		}
	}
	rss := peakRSS(t, cmd.Process.Pid)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v; stderr %s", err, stderr.String())
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("call %d never answered", i)
		}
	}
	calls := ofType(auditRecords(t, logPath), "tool_call")
	if len(calls) != n {
		t.Fatalf("audit log has %d tool_call records, want %d", len(calls), n)
	}
	for _, c := range calls {
		if c["outcome"] != "ok" || c["tool"] != "echo" {
			t.Fatalf("tool_call record %v", c)
		}
	}
	t.Logf("peak RSS with %d calls in flight: %d MiB", n, rss>>20)
	if rss > memoryBound {
		t.Fatalf("sbshim peaked at %d MiB with %d calls in flight", rss>>20, n)
	}
}

const initLine = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n"

func TestRelayShutdown(t *testing.T) {
	grace := []string{"--term-grace", "300ms", "--kill-grace", "300ms"}
	cases := []struct {
		name     string
		server   []string
		input    string
		wantCode int
		outcomes []string // tool_call outcomes in the audit log
	}{
		{"server exits at stdin EOF", []string{"/bin/sh", "-c", "cat >/dev/null"}, initLine, 0, nil},
		{"server ignores stdin EOF: SIGTERM", []string{"/bin/sh", "-c", "exec sleep 1000"}, initLine, 128 + 15, nil},
		{"server ignores SIGTERM: SIGKILL", []string{"/bin/sh", "-c", `trap "" TERM; sleep 1000 & while :; do wait; done`}, initLine, 128 + 9, nil},
		{"server never reads its stdin, the client hangs up", []string{"/bin/sh", "-c", "exec sleep 1000"},
			initLine + strings.Repeat(`{"jsonrpc":"2.0","method":"notifications/x","params":{"pad":"`+strings.Repeat("p", 1000)+`"}}`+"\n", 100), 128 + 15, nil},
		{"server closes stdout early", []string{"/bin/sh", "-c", "exec >&-; cat >/dev/null"}, initLine, 0, nil},
		{"server exits with calls in flight", []string{"/bin/sh", "-c", "read a; read b; exit 3"},
			initLine + `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}}` + "\n", 3, []string{"no_response"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t)
			logPath := filepath.Join(b.root, "audit.jsonl")
			cmd := b.command(append([]string{"--audit-log", logPath}, grace...), tc.server...)
			cmd.Stdin = strings.NewReader(tc.input)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("sbshim hangs; stderr %s", stderr.String())
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.wantCode, stderr.String())
			}
			var outcomes []string
			for _, c := range ofType(auditRecords(t, logPath), "tool_call") {
				outcomes = append(outcomes, c["outcome"].(string))
			}
			if fmt.Sprint(outcomes) != fmt.Sprint(tc.outcomes) {
				t.Fatalf("tool_call outcomes %v, want %v", outcomes, tc.outcomes)
			}
		})
	}
}

// A program that does not speak MCP is not hurried: stdin at EOF is just
// EOF, as without sbshim.
func TestNonMCPCommandIsNotHurried(t *testing.T) {
	b := newBox(t)
	cmd := b.command([]string{"--term-grace", "100ms", "--kill-grace", "100ms", "--audit-log", "-"}, "/bin/sh", "-c", "sleep 1; echo done")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.Output()
	if err != nil || string(out) != "done\n" {
		t.Fatalf("got %q, %v", out, err)
	}
}

// A client that closes its end of sbshim's stderr (some close it with
// stdin) must not kill sbshim when the server writes to stderr later: the
// session ends as usual, with the command's status and session_end.
func TestClosedStderrDoesNotKillSbshim(t *testing.T) {
	b := newBox(t)
	logPath := filepath.Join(b.root, "audit.jsonl")
	cmd := b.command([]string{"--audit-log", logPath}, "/bin/sh", "-c", "sleep 0.3; echo late >&2; echo late; exit 3")
	cmd.Stdin = strings.NewReader("")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the client is gone from stderr before anything is written
	cmd.Stderr = w
	out, err := cmd.Output()
	w.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("want the command's exit status 3, got %v (stdout %q)", err, out)
	}
	if string(out) != "late\n" {
		t.Errorf("stdout = %q, want %q", out, "late\n")
	}
	ends := ofType(auditRecords(t, logPath), "session_end")
	if len(ends) != 1 {
		t.Fatalf("want one session_end record, got %v", auditRecords(t, logPath))
	}
}

// The command's own descriptors by name — /dev/stdout, /dev/stderr,
// /dev/fd/N, /proc/self/fd/N — open as they do outside, with or without
// O_CREAT (the shell's > and >>), although sbshim's supervisor performs
// creating opens and "self" means sbshim there.
func TestOwnDescriptorsByName(t *testing.T) {
	b := newBox(t)
	cmd := b.command([]string{"--audit-log", "-"}, "/bin/sh", "-c",
		`echo a > /dev/stdout && echo b >> /dev/fd/1 && echo c > /proc/self/fd/1 && echo d > /dev/stderr && exec 3>/dev/stdout && echo e >&3`)
	cmd.Stdin = strings.NewReader("")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "a\nb\nc\ne\n" || !strings.Contains(stderr.String(), "d\n") {
		t.Fatalf("got %q, %v; stderr %q", out, err, stderr.String())
	}
	if strings.Contains(stderr.String(), "sbshim: blocked") {
		t.Fatalf("a false report: %s", stderr.String())
	}
}
