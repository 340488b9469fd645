package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(i + 1)
		}
		return s
	}
	tests := []struct {
		in      []float64
		p, want float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 95, 7},
		{[]float64{1, 2}, 50, 1},
		{[]float64{1, 2}, 95, 2},
		{[]float64{1, 2, 3}, 50, 2},
		{seq(10), 50, 5},
		{seq(10), 95, 10},
		{seq(20), 95, 19},
		{seq(100), 95, 95},
		{seq(100), 50, 50},
		{seq(101), 50, 51},
		{seq(5), 0, 1},
		{seq(5), 100, 5},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var recs []Record
	for _, line := range []string{
		`{"ts":"2026-11-22T10:00:00Z","server":"fs","session":"A","type":"session_start"}`,
		`{"ts":"2026-11-22T10:00:01Z","server":"fs","session":"A","type":"tool_call","tool":"read","duration_ms":10,"outcome":"ok","blocked":2,"net":{"a:443":1}}`,
		`{"ts":"2026-11-22T10:00:01Z","server":"fs","session":"A","type":"blocked","kind":"file","tool":"read","target":"/x"}`,
		`{"ts":"2026-11-22T10:00:02Z","server":"fs","session":"A","type":"tool_call","tool":"read","duration_ms":30,"outcome":"tool_error","net":{"a:443":2,"b:80":1}}`,
		`{"ts":"2026-11-22T10:00:03Z","server":"fs","session":"A","type":"tool_call","tool":"read","duration_ms":20,"outcome":"rpc_error"}`,
		`{"ts":"2026-11-22T10:00:04Z","server":"fs","session":"A","type":"tool_call","tool":"read","duration_ms":5000,"outcome":"no_response"}`,
		`{"ts":"2026-11-22T10:00:05Z","server":"fs","session":"B","type":"tool_call","tool":"write","duration_ms":1,"outcome":"cancelled"}`,
		`{"ts":"2026-11-22T10:00:06Z","server":"fs","session":"B","type":"blocked","kind":"net","target":"evil:443","tool":"-","count":3}`,
		`{"ts":"2026-11-22T10:00:07Z","server":"fs","session":"B","type":"blocked","kind":"net","target":"evil:443","tool":["read","write"]}`,
		`{"ts":"2026-11-22T10:00:08Z","server":"fs","session":"B","type":"blocked","kind":"syscall","op":"ptrace"}`,
		`{"ts":"2026-11-22T10:00:09Z","server":"ab","session":"A","type":"tool_call","tool":"z","duration_ms":3,"outcome":"ok"}`,
		`{"ts":"2026-11-22T10:00:10Z","server":"fs","session":"B","type":"connection","kind":"net","op":"connect","target":"a:443","tool":"-"}`,
		`{"ts":"2026-11-22T10:00:11Z","server":"fs","session":"B","type":"session_end","exit_code":0,"net":{"reg:443":4}}`,
	} {
		r, err := ParseLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	got := Summarize(recs)
	want := Summary{Records: 13, Sessions: 3, Tools: []ToolSummary{
		{Server: "ab", Tool: "z", Calls: 1, P50MS: 3, P95MS: 3},
		{Server: "fs", Tool: "-", Blocked: 4, Refused: map[string]int{"evil:443": 3}, Net: map[string]int{"reg:443": 4}},
		{Server: "fs", Tool: "read", Calls: 4, Errors: 2, NoResponse: 1, Blocked: 2, P50MS: 20, P95MS: 30,
			Net: map[string]int{"a:443": 3, "b:80": 1}, Refused: map[string]int{"evil:443": 1}},
		{Server: "fs", Tool: "write", Calls: 1, Cancelled: 1, P50MS: 1, P95MS: 1, Refused: map[string]int{"evil:443": 1}},
	}}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
	if s := Summarize(nil); len(s.Tools) != 0 || s.Tools == nil {
		t.Errorf("empty summary %+v", s)
	}
}

// TestSummaryListsFailedStarts: start_failed records are counted per
// server, the last one's error and exit status kept, and the table and
// the follow line say that the server did not start.
func TestSummaryListsFailedStarts(t *testing.T) {
	t1 := fixedTS
	t2 := fixedTS.Add(time.Minute)
	recs := []Record{
		{TS: t2, Server: "gh", Session: "S2", Type: TypeStartFailed, ExitCode: intp(125), Error: "bad config"},
		{TS: t1, Server: "gh", Session: "S1", Type: TypeStartFailed, ExitCode: intp(127), Error: "npx: command not found"},
		{TS: t1, Server: "fs", Session: "S3", Type: TypeToolCall, Tool: Tools{"read"}, Outcome: OutcomeOK},
		{TS: t1, Server: "\x1b[2Jx", Session: "S4", Type: TypeStartFailed, ExitCode: intp(126), Error: "\x1b]52;c;x\x07"},
	}
	s := Summarize(recs)
	want := []StartFailure{
		{Server: "\x1b[2Jx", Count: 1, Last: t1, ExitCode: 126, Error: "\x1b]52;c;x\x07"},
		{Server: "gh", Count: 2, Last: t2, ExitCode: 125, Error: "bad config"},
	}
	if !reflect.DeepEqual(s.StartFailures, want) || s.Sessions != 4 || len(s.Tools) != 1 {
		t.Fatalf("summary %+v", s)
	}
	var out strings.Builder
	if err := WriteTable(&out, s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "gh: did not start (2 times; last 2026-11-22T10:16:02Z, exit 125): bad config\n") ||
		!strings.Contains(out.String(), "SERVER") || strings.Contains(out.String(), "\x1b") {
		t.Errorf("table:\n%s", out.String())
	}
	recs[1].Command = []string{"npx", "-y", "x"}
	if line := Line(recs[1], time.UTC); line != "10:15:02 gh  session S1 did not start: npx -y x (exit 127): npx: command not found" {
		t.Errorf("line %q", line)
	}
}
