package mcp

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func observe(tr *Tracker, dir Direction, line string, ms int) []Call {
	env := Decode([]byte(line))
	return tr.Observe(dir, &env, at(ms), nil)
}

func TestTrackerOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		steps    []step
		want     []string // "method tool id outcome duration"
		inFlight int
	}{
		{"ok", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read"}}`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, 12},
		}, []string{"tools/call read 1 ok 12ms"}, 0},
		{"tool error", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"w"}}`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":"a","result":{"isError":true}}`, 5},
		}, []string{`tools/call w "a" tool_error 5ms`}, 0},
		{"rpc error", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"bad"}}`, 1},
		}, []string{"tools/call x 2 rpc_error 1ms"}, 0},
		{"string and number ids differ", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"n"}}`, 0},
			{ClientToServer, `{"jsonrpc":"2.0","id":"1","method":"tools/call","params":{"name":"s"}}`, 1},
			{ServerToClient, `{"jsonrpc":"2.0","id":"1","result":{}}`, 3},
		}, []string{`tools/call s "1" ok 2ms`}, 1},
		{"re-encoded string id matches", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":"\u0041","method":"ping"}`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":"A","result":{}}`, 3},
		}, []string{`ping  "\u0041" ok 3ms`}, 0},
		{"directions are separate", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"t"}}`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":0,"method":"roots/list"}`, 1},
			{ClientToServer, `{"jsonrpc":"2.0","id":0,"result":{"roots":[]}}`, 2},
			{ServerToClient, `{"jsonrpc":"2.0","id":0,"result":{}}`, 4},
		}, []string{"roots/list  0 ok 1ms", "tools/call t 0 ok 4ms"}, 0},
		{"cancelled, late response is an orphan", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow"}}`, 0},
			{ClientToServer, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, 50},
			{ServerToClient, `{"jsonrpc":"2.0","id":3,"result":{}}`, 60},
		}, []string{"tools/call slow 3 cancelled 50ms"}, 0},
		{"reused id ends the old call", []step{
			{ClientToServer, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"a"}}`, 0},
			{ClientToServer, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"b"}}`, 7},
		}, []string{"tools/call a 4 no_response 7ms"}, 1},
		{"batch", []step{
			{ClientToServer, `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b"}}]`, 0},
			{ServerToClient, `[{"jsonrpc":"2.0","id":2,"result":{}},{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}]`, 9},
		}, []string{"tools/call b 2 ok 9ms", "tools/call a 1 rpc_error 9ms"}, 0},
		{"garbage and orphans ignored", []step{
			{ClientToServer, `not json`, 0},
			{ServerToClient, `{"jsonrpc":"2.0","id":99,"result":{}}`, 1},
			{ClientToServer, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 2},
		}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(TrackerOptions{})
			var got []string
			for _, s := range tc.steps {
				for _, c := range observe(tr, s.dir, s.line, s.ms) {
					got = append(got, fmt.Sprintf("%s %s %s %s %v", c.Method, c.Tool, c.ID, c.Outcome, c.Duration()))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("ended:\n got %q\nwant %q", got, tc.want)
			}
			if n := tr.Stats().InFlight; n != tc.inFlight {
				t.Fatalf("in flight = %d, want %d", n, tc.inFlight)
			}
		})
	}
}

type step struct {
	dir  Direction
	line string
	ms   int
}

func TestTrackerDrainAndWindows(t *testing.T) {
	tr := NewTracker(TrackerOptions{ArgumentsLimit: 4})
	observe(tr, ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"p":"long"}}}`, 0)
	observe(tr, ClientToServer, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b"}}`, 10)
	observe(tr, ClientToServer, `{"jsonrpc":"2.0","id":3,"method":"ping"}`, 10)
	observe(tr, ServerToClient, `{"jsonrpc":"2.0","id":1,"result":{}}`, 20)

	names := func(cs []Call) string {
		s := ""
		for _, c := range cs {
			s += c.Tool + ","
		}
		return s
	}
	if got := names(tr.InFlight(nil)); got != "b," {
		t.Fatalf("InFlight = %s", got)
	}
	for _, w := range []struct {
		from, to int
		want     string
	}{
		{-10, -1, ""},
		{0, 5, "a,"},
		{5, 15, "a,b,"},
		{20, 20, "a,b,"},
		{21, 1000, "b,"},
	} {
		if got := names(tr.ToolCalls(nil, at(w.from), at(w.to))); got != w.want {
			t.Errorf("ToolCalls[%d,%d] = %q, want %q", w.from, w.to, got, w.want)
		}
	}
	recent := tr.ToolCalls(nil, at(0), at(0))
	if string(recent[0].Arguments) != `{"p"` {
		t.Fatalf("Arguments = %q, want truncated to 4 bytes", recent[0].Arguments)
	}

	ended := tr.Drain(at(30))
	if len(ended) != 2 || ended[0].Tool != "b" || ended[1].Method != "ping" {
		t.Fatalf("Drain = %+v", ended)
	}
	for _, c := range ended {
		if c.Outcome != OutcomeNoResponse || !c.End.Equal(at(30)) {
			t.Fatalf("drained call %+v", c)
		}
	}
	if s := tr.Stats(); s.InFlight != 0 || s.Ended != 3 || s.Orphans != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTrackerRecentBounded(t *testing.T) {
	tr := NewTracker(TrackerOptions{Recent: 3})
	for i := range 10 {
		observe(tr, ClientToServer, fmt.Sprintf(`{"id":%d,"method":"tools/call","params":{"name":"t%d"}}`, i, i), i)
		observe(tr, ServerToClient, fmt.Sprintf(`{"id":%d,"result":{}}`, i), i)
	}
	got := tr.ToolCalls(nil, at(0), at(100))
	if len(got) != 3 || got[0].Tool != "t7" || got[2].Tool != "t9" {
		t.Fatalf("recent = %+v", got)
	}
}

func TestTrackerMaxInFlight(t *testing.T) {
	tr := NewTracker(TrackerOptions{MaxInFlight: 2})
	for i := range 3 {
		observe(tr, ClientToServer, fmt.Sprintf(`{"id":%d,"method":"x"}`, i), 0)
	}
	if s := tr.Stats(); s.InFlight != 2 || s.Untracked != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTracker10000Concurrent(t *testing.T) {
	const n = 10000
	tr := NewTracker(TrackerOptions{})
	reqs := make([][]byte, n)
	resps := make([][]byte, n)
	for i := range n {
		reqs[i] = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"tool%d"}}`, i, i%7)
		resps[i] = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"result":{"content":[]}}`, i)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// Requests from several goroutines at once, while queries run.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				env := Decode(reqs[i])
				tr.Observe(ClientToServer, &env, at(i), nil)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			tr.ToolCalls(nil, at(0), at(n))
		}
	})
	wg.Wait()
	if got := len(tr.InFlight(nil)); got != n {
		t.Fatalf("%d in flight, want %d", got, n)
	}
	if got := len(tr.ToolCalls(nil, at(n/2), at(n/2))); got != n/2+1 {
		t.Fatalf("%d overlapping the midpoint, want %d", got, n/2+1)
	}

	var mu sync.Mutex
	var ended int
	for w := range 8 {
		wg.Go(func() {
			var buf []Call
			for i := w; i < n; i += 8 {
				env := Decode(resps[i])
				buf = tr.Observe(ServerToClient, &env, at(n+i), buf[:0])
				mu.Lock()
				ended += len(buf)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ended != n {
		t.Fatalf("%d calls ended, want %d", ended, n)
	}
	if s := tr.Stats(); s.InFlight != 0 || s.Orphans != 0 {
		t.Fatalf("stats %+v", s)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Only the ring of recent calls should remain.
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 2<<20 {
		t.Fatalf("heap grew by %d bytes after all calls ended", grown)
	}
}
