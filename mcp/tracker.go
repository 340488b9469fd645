package mcp

import (
	"sync"
	"time"
)

// Defaults for TrackerOptions.
const (
	DefaultMaxInFlight = 100000
	DefaultRecent      = 1024
)

// TrackerOptions configures a Tracker. The zero value selects the defaults.
type TrackerOptions struct {
	// MaxInFlight caps the calls tracked per direction (default 100,000);
	// requests beyond it are relayed but not tracked (see Stats.Untracked).
	MaxInFlight int
	// Recent is how many ended tools/call calls are remembered for
	// ToolCalls queries over past windows (default 1024).
	Recent int
	// ArgumentsLimit is how many bytes of tools/call arguments to keep in
	// Call.Arguments; 0 keeps none.
	ArgumentsLimit int
}

// TrackerStats are running counters.
type TrackerStats struct {
	InFlight  int    // calls in flight now, both directions
	Ended     uint64 // calls ended so far
	Orphans   uint64 // responses or cancellations matching no call in flight
	Untracked uint64 // requests not tracked because MaxInFlight was reached
}

// Tracker follows the requests in flight in each direction and matches
// responses and cancellations to them. It is safe for concurrent use: the
// two relay directions call Observe from their own goroutines while the
// event router queries ToolCalls. Memory is bounded: ended calls are freed,
// except the last Recent tools/call calls kept for window queries.
type Tracker struct {
	mu       sync.Mutex
	opts     TrackerOptions
	inflight [2]map[string]*Call // by direction the request travelled, keyed by idKey
	peak     [2]int
	recent   []Call // ring of ended tools/call calls
	next     int    // next write position in recent
	seq      uint64
	stats    TrackerStats
}

// NewTracker returns an empty Tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Recent <= 0 {
		opts.Recent = DefaultRecent
	}
	// recent grows as calls end: a session that makes a few calls does
	// not pay at start-up for room for opts.Recent of them.
	t := &Tracker{opts: opts}
	t.inflight[0] = make(map[string]*Call)
	t.inflight[1] = make(map[string]*Call)
	return t
}

// Observe records one message travelling in dir, observed at time at, and
// appends to ended the calls it ends (a response, a cancellation, a request
// id reused while in flight). Batches are walked element by element.
// Messages of KindInvalid are ignored. env is not retained.
func (t *Tracker) Observe(dir Direction, env *Envelope, at time.Time, ended []Call) []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	if env.Kind == KindBatch {
		for i := range env.Batch {
			ended = t.observe(dir&1, &env.Batch[i], at, ended)
		}
		return ended
	}
	return t.observe(dir&1, env, at, ended)
}

func (t *Tracker) observe(dir Direction, env *Envelope, at time.Time, ended []Call) []Call {
	switch env.Kind {
	case KindRequest:
		return t.start(dir, env, at, ended)
	case KindResponse, KindErrorResponse:
		return t.answer(dir.opposite(), env, at, ended)
	case KindNotification:
		if env.Method == MethodCancelled && env.CancelledID != nil {
			// The requester cancels: the request travelled the same way.
			c := t.take(dir, env.CancelledID)
			if c == nil {
				t.stats.Orphans++
				return ended
			}
			return t.end(c, OutcomeCancelled, at, ended)
		}
	}
	return ended
}

func (t *Tracker) start(dir Direction, env *Envelope, at time.Time, ended []Call) []Call {
	m := t.inflight[dir]
	key := idKey(env.ID)
	if old, ok := m[key]; ok {
		// A reused id: the old call will never be matched now.
		delete(m, key)
		ended = t.end(old, OutcomeNoResponse, at, ended)
	} else if len(m) >= t.opts.MaxInFlight {
		t.stats.Untracked++
		return ended
	}
	t.seq++
	id := key // the raw token, when it is its own key
	if !plainID(env.ID) {
		id = string(env.ID)
	}
	c := &Call{
		Seq:       t.seq,
		Direction: dir,
		ID:        id,
		Method:    env.Method,
		Tool:      env.Tool,
		LogLevel:  env.LogLevel,
		Start:     at,
	}
	if n := min(len(env.Arguments), t.opts.ArgumentsLimit); n > 0 {
		c.Arguments = append([]byte(nil), env.Arguments[:n]...)
	}
	m[key] = c
	t.peak[dir] = max(t.peak[dir], len(m))
	return ended
}

func (t *Tracker) answer(reqDir Direction, env *Envelope, at time.Time, ended []Call) []Call {
	c := t.take(reqDir, env.ID)
	if c == nil {
		t.stats.Orphans++
		return ended
	}
	outcome := OutcomeOK
	switch {
	case env.Kind == KindErrorResponse:
		outcome = OutcomeRPCError
		c.ErrorCode, c.ErrorMessage = env.ErrorCode, env.ErrorMessage
	case env.IsError:
		outcome = OutcomeToolError
	}
	return t.end(c, outcome, at, ended)
}

// take removes and returns the call in flight with the given raw id.
func (t *Tracker) take(dir Direction, id []byte) *Call {
	if id == nil {
		return nil
	}
	m := t.inflight[dir]
	plain := plainID(id)
	var c *Call
	if plain {
		c = m[string(id)]
	} else {
		c = m[idKey(id)]
	}
	if c == nil {
		return nil
	}
	if plain {
		delete(m, string(id))
	} else {
		delete(m, idKey(id))
	}
	if len(m) == 0 && t.peak[dir] > 1024 {
		// Go maps never shrink: drop the one a burst left behind.
		t.inflight[dir] = make(map[string]*Call)
		t.peak[dir] = 0
	}
	return c
}

// end closes c and records it.
func (t *Tracker) end(c *Call, outcome Outcome, at time.Time, ended []Call) []Call {
	c.End, c.Outcome = at, outcome
	if c.End.Before(c.Start) {
		c.End = c.Start
	}
	t.stats.Ended++
	if c.IsToolCall() {
		if len(t.recent) < t.opts.Recent {
			t.recent = append(t.recent, *c)
		} else {
			t.recent[t.next] = *c
		}
		t.next = (t.next + 1) % t.opts.Recent
	}
	return append(ended, *c)
}

// Drain ends every call in flight as OutcomeNoResponse at time at (the child
// exited or the client went away) and returns them in request order.
func (t *Tracker) Drain(at time.Time) []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	var open []*Call
	for dir := range t.inflight {
		for _, c := range t.inflight[dir] {
			open = append(open, c)
		}
		t.inflight[dir] = make(map[string]*Call)
		t.peak[dir] = 0
	}
	sortBySeq(open)
	ended := make([]Call, 0, len(open))
	for _, c := range open {
		ended = t.end(c, OutcomeNoResponse, at, ended)
	}
	return ended
}

// InFlight appends to dst the client's tools/call calls in flight now, in
// request order.
func (t *Tracker) InFlight(dst []Call) []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := len(dst)
	for _, c := range t.inflight[ClientToServer] {
		if c.IsToolCall() {
			dst = append(dst, *c)
		}
	}
	sortCallsBySeq(dst[first:])
	return dst
}

// ToolCalls appends to dst the client's tools/call calls that were running
// at some instant of [t0, t1] — those in flight and those recently ended —
// in request order. The shim attributes an Event stamped in that window to
// them: none means "-", several means all of them.
func (t *Tracker) ToolCalls(dst []Call, t0, t1 time.Time) []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := len(dst)
	for _, c := range t.inflight[ClientToServer] {
		if c.IsToolCall() && c.overlaps(t0, t1) {
			dst = append(dst, *c)
		}
	}
	for i := range t.recent {
		if t.recent[i].overlaps(t0, t1) {
			dst = append(dst, t.recent[i])
		}
	}
	sortCallsBySeq(dst[first:])
	return dst
}

// Stats returns the running counters.
func (t *Tracker) Stats() TrackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.InFlight = len(t.inflight[0]) + len(t.inflight[1])
	return s
}

// idKey turns a raw id token into a map key under which equal ids meet even
// if a peer re-encoded them: a string with escapes (or non-ASCII) by its
// decoded value, anything else as the raw token (`"7"` and `7` stay apart).
func idKey(raw []byte) string {
	if len(raw) >= 2 && raw[0] == '"' && needsUnquote(raw[1:len(raw)-1]) {
		return `"` + unquoteBody(raw[1:len(raw)-1]) + `"`
	}
	return string(raw)
}

// plainID reports whether raw is its own key, so that a lookup can use
// m[string(raw)], which does not allocate.
func plainID(raw []byte) bool {
	return len(raw) < 2 || raw[0] != '"' || !needsUnquote(raw[1:len(raw)-1])
}
