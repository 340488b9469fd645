package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func intp(n int) *int { return &n }

var fixedTS = time.Date(2026, 11, 22, 10, 15, 2, 123456789, time.UTC)

func TestWriterRoundTrip(t *testing.T) {
	recs := []Record{
		{TS: fixedTS, Type: TypeSessionStart, Command: []string{"npx", "-y", "@modelcontextprotocol/server-filesystem", "/home/me/proj"},
			Profile: "default", Mode: "stdio", Layers: map[string]any{"userns": true, "landlock": 7}, PID: 4100},
		{TS: fixedTS, Type: TypeToolCall, Tool: Tools{"read_file"}, RequestID: "7", DurationMS: 12.3, Outcome: OutcomeOK,
			Blocked: 1, Arguments: json.RawMessage(`{"path":"/x"}`), Net: map[string]int{"api.example.com:443": 2, "a.example.org:80": 1}},
		{TS: fixedTS, Type: TypeBlocked, Kind: "file", Op: "read", Target: "/home/me/.ssh/id_rsa", PID: 42, Exe: "/usr/bin/node",
			Tool: Tools{"read_file"}, RequestID: "abc", Rule: "filesystem.denyRead ~/.ssh", Layer: "observer", Errno: "EACCES", Count: 3},
		{TS: fixedTS, Type: TypeBlocked, Kind: "net", Op: "connect", Target: "evil.example:443", Tool: Tools{"a", "b"}},
		{TS: fixedTS, Type: TypeBlocked, Kind: "syscall", Op: "ptrace", Tool: Tools{NoTool}},
		{TS: fixedTS, Type: TypeSessionEnd, ExitCode: intp(0), DurationMS: 5000, ToolCalls: 12, Blocked: 3},
		{TS: fixedTS, Type: TypeToolCall, Tool: Tools{"quoted \"name\" <&> \u2028"}, Outcome: OutcomeRPCError},
		{TS: fixedTS, Type: TypeSessionStart, ReportKeySHA256: "ab12"},
		{TS: fixedTS, Type: TypeBlockedSummary, Tool: Tools{"-", "read_file"}, Count: 12,
			ByOp: map[string]int{"file read": 10, "net connect": 2}, ByTool: map[string]int{"read_file": 10, "-": 2}},
		{TS: fixedTS, Type: TypeSessionEnd, ExitCode: intp(1), Blocked: 20, Dropped: 12},
		{TS: fixedTS, Type: TypeStartFailed, Command: []string{"no-such-server", "-x"}, Mode: "stdio", PID: 4100,
			ExitCode: intp(127), Error: "no-such-server: command not found \"\x1b[31m\""},
	}
	path := filepath.Join(t.TempDir(), "sub", "filesystem.jsonl")
	w, err := Open(path, "filesystem", "S1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(recs), data)
	}
	for i, line := range lines {
		want := recs[i]
		want.Server, want.Session = "filesystem", "S1"
		// What encoding/json makes of the record is what zap must have
		// written, field for field (order aside).
		ref, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d not JSON: %v\n%s", i, err, line)
		}
		if err := json.Unmarshal(ref, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("line %d:\n got %s\nwant %s", i, line, ref)
		}
		rec, err := ParseLine([]byte(line))
		if err != nil {
			t.Fatalf("ParseLine line %d: %v", i, err)
		}
		if !rec.TS.Equal(fixedTS) {
			t.Errorf("line %d ts %v", i, rec.TS)
		}
		if !strings.HasPrefix(line, `{"ts":"2026-11-22T10:15:02.123456789Z","server":"filesystem","session":"S1","type":"`) {
			t.Errorf("line %d starts %.90s", i, line)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v %v", fi.Mode(), err)
	}
}

func TestWriterOmitsZeroFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	w, err := Open(path, "x", "S")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tests := []struct {
		rec  Record
		want string
	}{
		{Record{TS: fixedTS, Type: TypeToolCall}, `{"ts":"2026-11-22T10:15:02.123456789Z","server":"x","session":"S","type":"tool_call"}`},
		{Record{TS: fixedTS, Type: TypeSessionEnd, ExitCode: intp(0)}, `{"ts":"2026-11-22T10:15:02.123456789Z","server":"x","session":"S","type":"session_end","exit_code":0}`},
		{Record{TS: fixedTS, Type: TypeToolCall, Tool: Tools{}, Net: map[string]int{}, Command: []string{}, Layers: nil}, `{"ts":"2026-11-22T10:15:02.123456789Z","server":"x","session":"S","type":"tool_call"}`},
		{Record{TS: fixedTS, Type: TypeToolCall, Arguments: json.RawMessage(`{"path":"/very/lo`)},
			`{"ts":"2026-11-22T10:15:02.123456789Z","server":"x","session":"S","type":"tool_call","arguments":"{\"path\":\"/very/lo"}`},
		{Record{TS: fixedTS.In(time.FixedZone("X", 3600)), Type: TypeBlocked, Tool: Tools{"a", "b"}},
			`{"ts":"2026-11-22T10:15:02.123456789Z","server":"x","session":"S","type":"blocked","tool":["a","b"]}`},
	}
	for _, tt := range tests {
		if err := w.Write(tt.rec); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, tt := range tests {
		if lines[i] != tt.want {
			t.Errorf("record %d:\n got %s\nwant %s", i, lines[i], tt.want)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(filepath.Join(dir, "x.jsonl"), "x", "S")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{}); err == nil {
		t.Error("record without a type: no error")
	}
	if err := w.Write(Record{Type: TypeSessionStart, Layers: make(chan int)}); err == nil {
		t.Error("unmarshallable layers: no error")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(Record{Type: TypeToolCall}); err == nil {
		t.Error("write after Close: no error")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "x.jsonl")); len(data) != 0 {
		t.Errorf("failed writes left %q", data)
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	if _, err := Open(filepath.Join(blocker, "x.jsonl"), "x", "S"); err == nil {
		t.Error("Open under a file: no error")
	}
}

func TestWriterFillsTS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	w, _ := Open(path, "x", "S")
	before := time.Now()
	w.Write(Record{Type: TypeToolCall})
	w.Close()
	data, _ := os.ReadFile(path)
	r, err := ParseLine(bytes.TrimSpace(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.TS.Before(before.Add(-time.Second)) || r.TS.After(time.Now().Add(time.Second)) || r.TS.Location() != time.UTC {
		t.Errorf("ts %v", r.TS)
	}
}

// checkWholeLines reads path and checks that it holds exactly want valid
// records, and for each writer tag exactly perTag of them, numbered 0..n-1.
func checkWholeLines(t *testing.T, path string, tags []string, perTag int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		r, err := ParseLine(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v\n%q", n, err, sc.Text())
		}
		if seen[r.Session] == nil {
			seen[r.Session] = map[string]bool{}
		}
		if seen[r.Session][r.RequestID] {
			t.Fatalf("duplicate %s/%s", r.Session, r.RequestID)
		}
		seen[r.Session][r.RequestID] = true
	}
	if n != len(tags)*perTag {
		t.Fatalf("%d lines, want %d", n, len(tags)*perTag)
	}
	for _, tag := range tags {
		if len(seen[tag]) != perTag {
			t.Errorf("writer %s: %d records, want %d", tag, len(seen[tag]), perTag)
		}
	}
}

// writeMany writes n tool_call records with a large argument through w
// from g goroutines; request ids are 0..n-1.
func writeMany(w *Writer, n, g int) error {
	pad := json.RawMessage(strconv.Quote(strings.Repeat("x", 3000)))
	var wg sync.WaitGroup
	errs := make(chan error, g)
	for k := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < n; i += g {
				if err := w.Write(Record{Type: TypeToolCall, Tool: Tools{"t"}, RequestID: strconv.Itoa(i), Arguments: pad, DurationMS: 1.5, Outcome: OutcomeOK}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func TestWriterConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	var tags []string
	var ws []*Writer
	for i := range 3 {
		tag := fmt.Sprintf("g%d", i)
		w, err := Open(path, "x", tag)
		if err != nil {
			t.Fatal(err)
		}
		tags, ws = append(tags, tag), append(ws, w)
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeMany(w, 500, 8); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		w.Close()
	}
	checkWholeLines(t, path, tags, 500)
}

const childEnv = "SBSHIM_AUDIT_TEST_CHILD"

// TestWriterChildProcess is the body of the child processes of
// TestWriterConcurrentProcesses; on its own it does nothing.
func TestWriterChildProcess(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("helper for TestWriterConcurrentProcesses")
	}
	path, tag, _ := strings.Cut(spec, "|")
	w, err := Open(path, "x", tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeMany(w, 400, 4); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterConcurrentProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), "x.jsonl")
	var tags []string
	var cmds []*exec.Cmd
	for i := range 5 {
		tag := fmt.Sprintf("p%d", i)
		cmd := exec.Command(exe, "-test.run=^TestWriterChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+path+"|"+tag)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("child %s:\n%s", tag, out.String())
			}
		})
		tags, cmds = append(tags, tag), append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	checkWholeLines(t, path, tags, 400)
}

func TestNewSessionID(t *testing.T) {
	id := sessionID(time.Date(2026, 11, 22, 11, 15, 0, 0, time.FixedZone("CET", 3600)))
	if !strings.HasPrefix(id, "20261122T101500-") || len(id) != len("20261122T101500-4f3a9c1e") {
		t.Errorf("id %q", id)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := NewSessionID()
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "x.jsonl"), "filesystem", NewSessionID())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec := Record{Type: TypeBlocked, Kind: "file", Op: "read", Target: "/home/me/.ssh/id_rsa", PID: 42, Exe: "/usr/bin/node",
		Tool: Tools{"read_file"}, RequestID: "7", Rule: "filesystem.denyRead ~/.ssh", Layer: "observer", Errno: "EACCES"}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriterWriteAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	w, err := Open(path, "s", "S1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	batch := []Record{
		{TS: fixedTS, Type: TypeToolCall, Tool: Tools{"a"}, Outcome: OutcomeOK},
		{TS: fixedTS, Type: TypeToolCall, Tool: Tools{"b"}, Outcome: OutcomeToolError},
		{TS: fixedTS, Type: TypeBlocked, Kind: "file", Op: "read", Target: "/x"},
	}
	if err := w.WriteAll(batch); err != nil {
		t.Fatal(err)
	}
	// A bad record fails its whole batch: nothing of it is written.
	if err := w.WriteAll([]Record{{TS: fixedTS, Type: TypeToolCall}, {}}); err == nil {
		t.Fatal("WriteAll with a record without a type succeeded")
	}
	if err := w.WriteAll(nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var single bytes.Buffer
	p2 := filepath.Join(t.TempDir(), "one.jsonl")
	w2, err := Open(p2, "s", "S1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range batch {
		if err := w2.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w2.Close()
	one, err := os.ReadFile(p2)
	if err != nil {
		t.Fatal(err)
	}
	single.Write(one)
	if string(data) != single.String() {
		t.Fatalf("WriteAll wrote\n%s\nrecord by record:\n%s", data, single.String())
	}
}
