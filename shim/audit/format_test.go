package audit

import (
	"strings"
	"testing"
	"time"
)

func TestFormatMS(t *testing.T) {
	tests := []struct {
		ms   float64
		want string
	}{
		{0, "0.00ms"},
		{0.25, "0.25ms"},
		{1, "1.0ms"},
		{12.34, "12.3ms"},
		{999.9, "999.9ms"},
		{999.96, "1.0s"},
		{1234, "1.2s"},
		{59_900, "59.9s"},
		{59_960, "1m00s"},
		{123_000, "2m03s"},
		{3_900_000, "1h05m"},
	}
	for _, tt := range tests {
		if got := FormatMS(tt.ms); got != tt.want {
			t.Errorf("FormatMS(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 15, 2, 0, time.UTC)
	tests := []struct {
		r    Record
		want string
	}{
		{Record{TS: ts, Server: "fs", Type: TypeBlocked, Tool: Tools{"a", "b"}, Kind: "net", Op: "connect", Target: "x:443", Count: 3},
			"10:15:02 fs a,b  blocked net connect x:443 (3 times)"},
		{Record{TS: ts, Server: "fs", Type: TypeConnection, Tool: Tools{"fetch"}, Kind: "net", Op: "connect", Target: "api.test:443", Rule: "network.allow api.test"},
			"10:15:02 fs fetch  connected api.test:443 (network.allow api.test)"},
		{Record{TS: ts, Server: "fs", Type: TypeBlocked, Kind: "syscall", Op: "ptrace", Exe: "/bin/sh"},
			"10:15:02 fs -  blocked syscall ptrace - (pid sh)"},
		{Record{TS: ts, Server: "fs", Type: TypeToolCall, Tool: Tools{"t"}, Outcome: OutcomeNoResponse, DurationMS: 5000},
			"10:15:02 fs t  no_response 5.0s"},
		{Record{TS: ts, Server: "fs", Session: "S", Type: TypeSessionEnd, DurationMS: 100},
			"10:15:02 fs  session S ended after 100.0ms, 0 tool calls, 0 blocked"},
		{Record{TS: ts, Server: "fs", Type: "future"}, "10:15:02 fs  future"},
		{Record{TS: ts, Server: "fs", Type: TypeBlockedSummary, Tool: Tools{"-", "read"}, Count: 12,
			ByOp: map[string]int{"file read": 10, "net connect": 2}, ByTool: map[string]int{"read": 10, "-": 2}},
			"10:15:02 fs -,read  12 blocked attempts not listed: 10 file read, 2 net connect"},
		{Record{TS: ts, Server: "fs", Session: "S", Type: TypeSessionEnd, DurationMS: 100, Blocked: 20, Dropped: 12},
			"10:15:02 fs  session S ended after 100.0ms, 0 tool calls, 20 blocked (12 not listed)"},
	}
	for _, tt := range tests {
		if got := Line(tt.r, time.UTC); got != tt.want {
			t.Errorf("Line:\n got %q\nwant %q", got, tt.want)
		}
	}
}

func TestWriteTableNoNet(t *testing.T) {
	var b strings.Builder
	if err := WriteTable(&b, Summary{Tools: []ToolSummary{{Server: "s", Tool: "t", Calls: 1, P50MS: 2, P95MS: 2}}}, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(no network activity recorded)") || !strings.HasPrefix(b.String(), "SERVER  TOOL  CALLS") {
		t.Errorf("table:\n%s", b.String())
	}
}

// A blocked_summary is one row of --events, and the table says how many
// attempts were not listed; the attempts outside any call count for "-".
func TestFormatBlockedSummary(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 15, 2, 0, time.UTC)
	recs := []Record{
		{TS: ts, Server: "fs", Session: "S", Type: TypeBlocked, Tool: Tools{NoTool}, Kind: "file", Op: "read", Target: "/k"},
		{TS: ts, Server: "fs", Session: "S", Type: TypeBlockedSummary, Tool: Tools{"-", "read"}, Count: 12,
			ByOp: map[string]int{"file read": 12}, ByTool: map[string]int{"read": 10, "-": 2}},
		{TS: ts, Server: "fs", Session: "S", Type: TypeToolCall, Tool: Tools{"read"}, Outcome: OutcomeOK, Blocked: 10},
	}
	var b strings.Builder
	if err := WriteEvents(&b, recs[:2], time.UTC); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2026-11-22 10:15:02  fs      -,read  12 file read  (12 not listed)  -        -") {
		t.Errorf("events:\n%s", b.String())
	}
	s := Summarize(recs)
	if s.Dropped != 12 || len(s.Tools) != 2 || s.Tools[0].Tool != NoTool || s.Tools[0].Blocked != 3 || s.Tools[1].Blocked != 10 {
		t.Fatalf("summary %+v", s)
	}
	b.Reset()
	if err := WriteTable(&b, s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(12 blocked attempts counted above were not listed one by one") {
		t.Errorf("table:\n%s", b.String())
	}
}
