package shim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/mcp"
	"github.com/sbshim/sbshim/shim/audit"
)

// Reporting limits.
const (
	eventQueue     = 4096            // events waiting for the reporters
	repeatInterval = 2 * time.Second // how often collapsed repeats are looked at
	repeatMaxGap   = 32              // at most this many intervals between two totals of one attempt
	notesPerCall   = 5               // distinct attempts named in one annotation
)

// reporter joins Events to the tool calls in flight and reports them on
// every channel: stderr, the audit log, in-band MCP log notifications, and
// the annotation of the call's result.
//
// Attribution happens synchronously in event, before the sandbox layer lets
// the blocked syscall return, so a call's result — which the server can
// only write after that — always sees its own blocks. Everything slower
// runs on the reporter's goroutine.
type reporter struct {
	s *Session

	mu       sync.Mutex
	calls    map[uint64]*callBlocks // by Call.Seq, calls in flight that saw blocks
	pending  atomic.Int32           // len(calls), read without mu by the relay
	total    int
	unlisted unlisted // attempts not reported one by one
	closed   bool

	// queued are the events the reporter goroutine has yet to take, at
	// most eventQueue (under mu); wake tells it there are some, and is
	// closed with the reporter. A slice that grows as events come, not a
	// channel with room for eventQueue of them made up front: most
	// sessions see a few, and the room cost a start more than most of
	// its work.
	queued []routed
	wake   chan struct{}
	done   chan struct{}
	// key is the session's report key, a secret every in-band
	// notification of sbshim's carries in _meta (reportKeyMeta). It never
	// enters the sandbox, so the server cannot put it on its own
	// notifications; the audit log's session_start has its SHA-256.
	key    string
	seen   map[string]*repeat // by collapse key; reporter goroutine only
	budget budget             // reporter goroutine only

	// Connections the network proxy made: per call in flight (by
	// Call.Seq), and outside any call.
	netMu       sync.Mutex
	net         map[uint64]map[string]int
	sessionNet  map[string]int
	connRecords int // connections seen, for connectionRecords
}

// callBlocks counts what was blocked during one call.
type callBlocks struct {
	n     int
	notes []string
}

// routed is an Event with the calls it was attributed to.
type routed struct {
	ev    isolation.Event
	calls []mcp.Call
}

// repeat counts identical attempts, reported once and then as a total.
// The totals of one attempt that keeps coming grow apart: after 2, 4, 8
// … seconds, at most every minute, and at the end, so that a tight loop
// gives a handful of lines, not one every two seconds.
type repeat struct {
	r        routed
	count    int
	reported int
	gap      int // intervals until the next total after this one
	wait     int // intervals still to wait before the next total
}

func newReporter(s *Session) *reporter {
	r := &reporter{
		s:     s,
		calls: make(map[uint64]*callBlocks),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		seen:  make(map[string]*repeat),
		net:   make(map[uint64]map[string]int),
		key:   newReportKey(),
	}
	go r.loop()
	return r
}

// event receives a blocked attempt from a sandbox layer. It may be called
// from several goroutines; it does not block.
//
// The calls in flight are looked up under mu, the lock callEnded takes to
// collect a call's blocks: a call found in flight here has not reached
// callEnded yet, so its entry is always collected. (Looked up before mu,
// a call could end in between and its entry would stay behind for good,
// holding back every later server line, see blocksPending.)
func (r *reporter) event(ev isolation.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	calls := r.s.tracker.ToolCalls(nil, ev.Time, ev.Time)
	r.total++
	for _, c := range calls {
		if c.Outcome != mcp.OutcomeInFlight {
			continue
		}
		cb := r.calls[c.Seq]
		if cb == nil {
			cb = &callBlocks{}
			r.calls[c.Seq] = cb
			r.pending.Store(int32(len(r.calls)))
		}
		cb.n++
		note := describe(ev, nil)
		if len(cb.notes) < notesPerCall && !contains(cb.notes, note) {
			cb.notes = append(cb.notes, note)
		}
	}
	if len(r.queued) >= eventQueue {
		r.unlisted.add(routed{ev: ev, calls: calls}, 1)
		return
	}
	r.queued = append(r.queued, routed{ev: ev, calls: calls})
	select {
	case r.wake <- struct{}{}:
	default: // already told
	}
}

// connected receives a connection the network proxy made: it is counted
// for each tool call in flight, or for the session when there is none,
// and logged on its own with audit.connections. It does not block.
func (r *reporter) connected(ev isolation.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	// Looked up under the lock callNet takes, so that a call cannot end
	// between the lookup and the count and leave an entry behind.
	r.netMu.Lock()
	calls := r.s.tracker.ToolCalls(nil, ev.Time, ev.Time)
	counted := false
	for _, c := range calls {
		if c.Outcome != mcp.OutcomeInFlight {
			continue
		}
		m := r.net[c.Seq]
		if m == nil {
			m = map[string]int{}
			r.net[c.Seq] = m
		}
		bump(m, ev.Target, 1, netKeys)
		counted = true
	}
	if !counted {
		if r.sessionNet == nil {
			r.sessionNet = map[string]int{}
		}
		bump(r.sessionNet, ev.Target, 1, netKeys)
	}
	logIt := r.s.pol.Audit.Connections && r.connRecords < connectionRecords
	announce := r.s.pol.Audit.Connections && r.connRecords == connectionRecords
	r.connRecords++
	r.netMu.Unlock()
	if announce {
		r.s.warn(fmt.Sprintf("over %d connections: the rest are counted in tool_call and session_end records, not logged one by one", connectionRecords))
	}
	if logIt {
		rec := audit.Record{TS: ev.Time, Type: audit.TypeConnection, Kind: ev.Kind, Op: ev.Op,
			Target: ev.Target, Rule: ev.Rule, Layer: ev.Layer, Tool: toolNames(calls)}
		r.s.record(rec)
	}
}

// callNet returns and forgets the connections counted for call c.
func (r *reporter) callNet(c mcp.Call) map[string]int {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	m := r.net[c.Seq]
	delete(r.net, c.Seq)
	return m
}

// sessionConnections returns the connections made outside any call.
func (r *reporter) sessionConnections() map[string]int {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	return r.sessionNet
}

// blocksPending reports whether some call in flight saw a block: its result
// will be annotated, so the relay holds server lines until they are whole.
func (r *reporter) blocksPending() bool {
	return r.pending.Load() > 0
}

// callEnded returns how many attempts were blocked during c and the text
// its result is annotated with ("" if none).
func (r *reporter) callEnded(c mcp.Call) (int, string) {
	r.mu.Lock()
	cb := r.calls[c.Seq]
	if cb != nil {
		delete(r.calls, c.Seq)
		r.pending.Store(int32(len(r.calls)))
	}
	r.mu.Unlock()
	if cb == nil {
		return 0, ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sbshim blocked %d attempt%s during this call:", cb.n, plural(cb.n))
	for _, n := range cb.notes {
		b.WriteString("\n- ")
		b.WriteString(n)
	}
	if extra := cb.n - len(cb.notes); extra > 0 && len(cb.notes) == notesPerCall {
		b.WriteString("\n- … and more (sbshim audit --events)")
	}
	return cb.n, b.String()
}

// close stops the reporter after reporting the repeats still pending and
// what was not listed, and returns the session's number of blocked
// attempts.
func (r *reporter) close() int {
	total, _ := r.closeCounts()
	return total
}

// closeCounts is close, returning also how many of the attempts were not
// reported one by one.
func (r *reporter) closeCounts() (total, unlisted int) {
	r.mu.Lock()
	if r.closed {
		defer r.mu.Unlock()
		return r.total, r.unlisted.total
	}
	r.closed = true
	close(r.wake)
	r.mu.Unlock()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unlisted.total > 0 && r.s.pol.Report.Stderr {
		r.s.sayEscaped(fmt.Sprintf("%d more blocked attempt%s not listed one by one: %s", r.unlisted.total,
			plural(r.unlisted.total), r.unlisted.topOps()))
	}
	return r.total, r.unlisted.total
}

func (r *reporter) loop() {
	defer close(r.done)
	tick := time.NewTicker(repeatInterval)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-r.wake:
			r.mu.Lock()
			batch := r.queued
			r.queued = nil
			r.mu.Unlock()
			for _, x := range batch {
				r.report(x)
			}
			if !ok {
				r.flushRepeats(true)
				r.summarize(true)
				return
			}
		case <-tick.C:
			r.flushRepeats(false)
			r.summarize(false)
		}
	}
}

// report sends the first of a kind of attempt everywhere; repeats are
// counted and reported as totals by flushRepeats.
func (r *reporter) report(x routed) {
	key := collapseKey(x)
	if rp, ok := r.seen[key]; ok {
		rp.count++
		return
	}
	if !r.budget.admit(x) {
		r.unlist(x, 1)
		return
	}
	r.seen[key] = &repeat{r: x, count: 1, reported: 1}
	pol := r.s.pol.Report
	if pol.Stderr {
		r.s.sayEscaped(describeRouted(x))
	}
	r.s.record(blockedRecord(x, 0))
	if pol.Notify {
		r.notify(x)
	}
}

// flushRepeats reports the totals of the repeats that are due (all of
// them at the end).
func (r *reporter) flushRepeats(final bool) {
	for _, rp := range r.seen {
		n := rp.count - rp.reported
		if n <= 0 {
			continue
		}
		if !final && rp.wait > 0 {
			rp.wait--
			continue
		}
		rp.gap = min(max(2*rp.gap, 1), repeatMaxGap)
		rp.wait = rp.gap - 1
		rp.reported = rp.count
		if !r.budget.admit(rp.r) {
			r.unlist(rp.r, n)
			continue
		}
		if r.s.pol.Report.Stderr {
			r.s.sayEscaped(fmt.Sprintf("%s (×%d)", describeRouted(rp.r), rp.count))
		}
		r.s.record(blockedRecord(rp.r, n))
	}
}

// unlist counts n attempts like x as not reported one by one; the first
// time, it says so on stderr.
func (r *reporter) unlist(x routed, n int) {
	r.mu.Lock()
	r.unlisted.add(x, n)
	announce := !r.unlisted.announced
	r.unlisted.announced = true
	r.mu.Unlock()
	if announce && r.s.pol.Report.Stderr {
		r.s.say(fmt.Sprintf("warning: too many blocked attempts to list one by one (a session lists %d of one kind, %d in all): "+
			"the rest are counted, in blocked_summary records of the audit log and at the end", blockedPerClass, blockedPerSession))
	}
}

// summarize writes a blocked_summary record of the attempts counted and
// not listed since the last one, if there are any and it is time (final:
// the session ends).
func (r *reporter) summarize(final bool) {
	r.mu.Lock()
	// Attempts the full queue turned away are announced here: event
	// does not write to stderr.
	announce := r.unlisted.total > 0 && !r.unlisted.announced
	r.unlisted.announced = r.unlisted.announced || announce
	rec, ok := r.unlisted.summary(time.Now(), final)
	r.mu.Unlock()
	if announce && r.s.pol.Report.Stderr {
		r.s.say("warning: blocked attempts came too fast to list one by one: the rest are counted, " +
			"in blocked_summary records of the audit log and at the end")
	}
	if ok {
		r.s.record(rec)
	}
}

// notify injects a log notification where the protocol era allows one.
func (r *reporter) notify(x routed) {
	const level = mcp.LoggingLevel("warning")
	reqs := []mcp.Envelope{{}}
	if len(x.calls) > 0 {
		reqs = reqs[:0]
		for _, c := range x.calls {
			reqs = append(reqs, c.Envelope())
		}
	}
	for _, req := range reqs {
		if !r.s.proto.CanNotify(level, req) {
			continue
		}
		line, err := mcp.LogNotificationMeta(level, struct {
			Message   string          `json:"message"`
			Tool      audit.Tools     `json:"tool"`
			Blocked   isolation.Event `json:"blocked"`
			TargetB64 string          `json:"target_b64,omitempty"`
		}{"sbshim: " + describeRouted(x), toolNames(x.calls), x.ev, bytesB64(x.ev.Target)},
			map[string]any{reportKeyMeta: r.key, sessionMeta: r.s.id})
		if err == nil {
			r.s.out.message(audit.SafeJSON(line))
		}
		return
	}
}

func blockedRecord(x routed, count int) audit.Record {
	ev := x.ev
	rec := audit.Record{
		TS: ev.Time, Type: "blocked",
		Kind: ev.Kind, Op: ev.Op, Target: ev.Target, PID: ev.PID, Exe: ev.Exe,
		Rule: ev.Rule, Layer: ev.Layer, Errno: ev.Errno,
		Tool: toolNames(x.calls), Count: count,
	}
	if count > 0 {
		rec.TS = time.Time{} // a total, reported now
	}
	ids := make([]string, 0, len(x.calls))
	for _, c := range x.calls {
		ids = append(ids, requestID(c.ID))
	}
	rec.RequestID = strings.Join(ids, ",")
	return rec
}

func toolNames(calls []mcp.Call) audit.Tools {
	if len(calls) == 0 {
		return audit.Tools{"-"}
	}
	t := make(audit.Tools, 0, len(calls))
	for _, c := range calls {
		t = append(t, c.Tool)
	}
	return t
}

func collapseKey(x routed) string {
	ev := x.ev
	return strings.Join(append([]string{ev.Kind, ev.Op, ev.Target, ev.Rule, ev.Exe}, toolNames(x.calls)...), "\x00")
}

// describe is one attempt in a few words: "read /home/me/.ssh/id_rsa
// (filesystem.denyRead ~/.ssh)"; with tools set (the stderr form) it also
// says in which tool call and by which process.
//
// Every name in it passes through audit.Escape: the text is one line
// whatever the sandboxed program called its files, hosts and executables.
func describe(ev isolation.Event, tools audit.Tools) string {
	what := audit.Escape(ev.Op) + " " + audit.Escape(ev.Target)
	if ev.Kind == "syscall" {
		what = "syscall " + audit.Escape(ev.Op)
	}
	if len(tools) > 0 && tools[0] != "-" {
		what += " in tool " + audit.Escape(strings.Join(tools, ", "))
	}
	var why []string
	if tools != nil && ev.PID > 0 {
		why = append(why, fmt.Sprintf("pid %d %s", ev.PID, audit.Escape(filepath.Base(ev.Exe))))
	}
	if ev.Rule != "" {
		why = append(why, audit.Escape(ev.Rule))
	}
	if len(why) == 0 {
		return what
	}
	return what + " (" + strings.Join(why, ", ") + ")"
}

// describeRouted is the stderr form: "blocked read /x in tool t (pid 7
// node, rule)".
func describeRouted(x routed) string {
	return "blocked " + describe(x.ev, toolNames(x.calls))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// auditArguments is what the audit log keeps of a call's arguments: the raw
// JSON when it is whole, else the truncated text as a JSON string.
func auditArguments(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if len(raw) <= argumentsLimit && json.Valid(raw) {
		return json.RawMessage(raw)
	}
	if len(raw) > argumentsLimit {
		raw = raw[:argumentsLimit]
	}
	b, _ := json.Marshal(string(raw) + "…")
	return b
}

func jsonUnmarshalString(raw string, v *string) error {
	return json.Unmarshal([]byte(raw), v)
}

// The _meta keys of sbshim's in-band notifications: the session's report
// key, and the session's id, which names the audit log's session_start
// record that holds the key's digest.
const (
	reportKeyMeta = "io.github.sbshim/report-key"
	sessionMeta   = "io.github.sbshim/session"
)

// newReportKey returns a fresh report key: 128 random bits, in hex.
func newReportKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (it panics instead)
	return hex.EncodeToString(b[:])
}

// keyDigest is the SHA-256 of the session's report key, in hex: what the
// audit log's session_start records of it.
func (r *reporter) keyDigest() string {
	sum := sha256.Sum256([]byte(r.key))
	return hex.EncodeToString(sum[:])
}

// bytesB64 is s in base64 when s is not valid UTF-8 (JSON cannot carry
// it exactly), else "".
func bytesB64(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}
