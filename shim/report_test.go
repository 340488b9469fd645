package shim

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
)

// testSession is a Session with a tracker and a reporter and nowhere to
// write to: enough for the reporter's bookkeeping.
func testSession(t *testing.T) *Session {
	t.Helper()
	s := &Session{
		pol:     &policy.Policy{},
		tracker: mcp.NewTracker(mcp.TrackerOptions{}),
		proto:   mcp.NewProtocol(),
		out:     newLineMux(io.Discard, 0),
		errw:    newLineMux(io.Discard, 0),
	}
	s.rep = newReporter(s)
	t.Cleanup(func() { s.rep.close() })
	return s
}

// A blocked attempt reported while its tool call ends must not leave an
// entry behind for the call: nothing would ever collect it, and every later
// server line would be held back as if a result still waited for its
// annotation. Calls start and end back to back while attempts keep coming.
func TestReporterEventRacingCallEnd(t *testing.T) {
	s := testSession(t)
	r := s.rep
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.event(isolation.Event{Kind: "file", Op: "read", Target: "/home/me/.ssh/id_rsa"})
		}
	}()
	for i := range 20000 {
		req := mcp.Decode(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"t"}}`, i))
		s.tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)
		resp := mcp.Decode(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"result":{"content":[]}}`, i))
		for _, c := range s.tracker.Observe(mcp.ServerToClient, &resp, time.Now(), nil) {
			r.callEnded(c)
		}
	}
	close(stop)
	wg.Wait()
	r.mu.Lock()
	left := len(r.calls)
	r.mu.Unlock()
	if left != 0 || r.blocksPending() {
		t.Fatalf("%d ended calls still have blocks waiting to be collected (blocksPending %v)", left, r.blocksPending())
	}
}

// A call that saw a block holds server lines until its result went by.
func TestReporterBlocksPending(t *testing.T) {
	s := testSession(t)
	r := s.rep
	req := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read"}}`))
	s.tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)
	if r.blocksPending() {
		t.Fatal("blocks pending before any block")
	}
	r.event(isolation.Event{Kind: "file", Op: "read", Target: "/x", Rule: "filesystem.denyRead /x"})
	if !r.blocksPending() {
		t.Fatal("no blocks pending after a block during a call")
	}
	resp := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`))
	ended := s.tracker.Observe(mcp.ServerToClient, &resp, time.Now(), nil)
	if len(ended) != 1 {
		t.Fatalf("ended %v", ended)
	}
	n, note := r.callEnded(ended[0])
	if n != 1 || note == "" {
		t.Fatalf("callEnded = %d, %q", n, note)
	}
	if r.blocksPending() {
		t.Fatal("blocks still pending after the call ended")
	}
}

// An attempt that keeps coming gets its totals further and further apart:
// after 1, 2, 4, 8, 16 and 32 intervals, then every 32, and once at the
// end — a handful of stderr lines for a loop of any length.
func TestRepeatTotalsGrowApart(t *testing.T) {
	var buf lockedBuffer
	s := &Session{
		pol:     &policy.Policy{},
		tracker: mcp.NewTracker(mcp.TrackerOptions{}),
		proto:   mcp.NewProtocol(),
		out:     newLineMux(io.Discard, 0),
		errw:    newLineMux(&buf, 0),
	}
	s.pol.Report.Stderr = true
	// The reporter's state, driven here interval by interval instead of
	// by its loop's ticker.
	r := &reporter{s: s, calls: map[uint64]*callBlocks{}, seen: map[string]*repeat{}, net: map[uint64]map[string]int{}}
	x := routed{ev: isolation.Event{Kind: "file", Op: "read", Target: "/home/me/.ssh/id_rsa", Rule: "filesystem.denyRead ~/.ssh"}}
	r.report(x)
	var at []int
	for tick := 1; tick <= 100; tick++ {
		for range 50 {
			r.report(x)
		}
		before := strings.Count(buf.String(), "\n")
		r.flushRepeats(false)
		if strings.Count(buf.String(), "\n") > before {
			at = append(at, tick)
		}
	}
	if want := []int{1, 2, 4, 8, 16, 32, 64, 96}; fmt.Sprint(at) != fmt.Sprint(want) {
		t.Errorf("totals after intervals %v, want %v", at, want)
	}
	r.flushRepeats(true)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || !strings.HasSuffix(lines[len(lines)-1], "(×5001)") {
		t.Errorf("%d stderr lines, the last %q; want 10, the last the whole count (×5001)", len(lines), lines[len(lines)-1])
	}
}

// lockedBuffer is a bytes.Buffer safe for the line mux's writer.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
