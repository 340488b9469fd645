package shim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/mcp"
)

// Events that arrive after the fact (macOS's log delivers Seatbelt's
// denials late) are joined to the tool calls that were running when the
// attempt was made, by Event.Time, not to those running on arrival: a
// call that has ended is still named on stderr and in the audit log,
// though its result can no longer be annotated; a call still in flight
// at arrival is annotated only if the attempt fell within it.
func TestReporterLateEvents(t *testing.T) {
	t0 := time.Now().Add(-time.Minute)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type span struct {
		id, tool   string
		start, end int // ms after t0; end < 0: still in flight
	}
	calls := []span{
		{"1", "alpha", 0, 10},
		{"2", "beta", 20, -1},
		{"3", "gamma", 30, 40},
		{"4", "delta", 35, -1},
	}
	tests := []struct {
		name      string
		ms        int
		wantTools string // as the stderr line names them; "" for none
		annotated []string
	}{
		{"during a call that has ended", 5, "alpha", nil},
		{"at the start of a call that has ended", 0, "alpha", nil},
		{"at the end of a call that has ended", 10, "alpha", nil},
		{"during a call still in flight", 25, "beta", []string{"beta"}},
		{"before any call", -5, "", nil},
		{"between calls", 15, "", nil},
		{"during an ended and a running call", 37, "beta, gamma, delta", []string{"beta", "delta"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSession(t)
			s.pol.Report.Stderr = true
			var errBuf syncBuffer
			s.errw = newLineMux(&errBuf, 0)
			// Replay the calls at their own times.
			type mark struct {
				ms   int
				line string
				dir  mcp.Direction
			}
			var marks []mark
			for _, c := range calls {
				marks = append(marks, mark{c.start, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":%q}}`, c.id, c.tool), mcp.ClientToServer})
				if c.end >= 0 {
					marks = append(marks, mark{c.end, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[]}}`, c.id), mcp.ServerToClient})
				}
			}
			for len(marks) > 0 {
				next := 0
				for i, m := range marks {
					if m.ms < marks[next].ms {
						next = i
					}
				}
				m := marks[next]
				marks = append(marks[:next], marks[next+1:]...)
				env := mcp.Decode([]byte(m.line))
				for _, c := range s.tracker.Observe(m.dir, &env, at(m.ms), nil) {
					if n, _ := s.rep.callEnded(c); n != 0 {
						t.Fatalf("call %s ended with %d blocks before any event", c.Tool, n)
					}
				}
			}
			// The event arrives now, stamped with the time of the attempt.
			s.rep.event(isolation.Event{Time: at(tt.ms), Kind: "file", Op: "read", Target: "/Users/u/.ssh/id_rsa",
				PID: 42, Exe: "node", Rule: "filesystem.denyRead ~/.ssh", Layer: "seatbelt"})
			var annotated []string
			for _, c := range s.tracker.Drain(time.Now()) {
				if n, note := s.rep.callEnded(c); n > 0 {
					annotated = append(annotated, c.Tool)
					if !strings.Contains(note, "read /Users/u/.ssh/id_rsa") {
						t.Errorf("annotation of %s: %q", c.Tool, note)
					}
				}
			}
			s.rep.close()
			if strings.Join(annotated, ",") != strings.Join(tt.annotated, ",") {
				t.Errorf("annotated %v, want %v", annotated, tt.annotated)
			}
			out := errBuf.String()
			if !strings.Contains(out, "blocked read /Users/u/.ssh/id_rsa") {
				t.Fatalf("stderr %q does not report the attempt", out)
			}
			switch {
			case tt.wantTools == "" && strings.Contains(out, " in tool "):
				t.Errorf("stderr %q names a tool, want none", out)
			case tt.wantTools != "" && !strings.Contains(out, " in tool "+tt.wantTools+" "):
				t.Errorf("stderr %q, want it to name tool %s", out, tt.wantTools)
			}
		})
	}
}
