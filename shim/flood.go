package shim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sbshim/sbshim/shim/audit"
)

// Flood limits: how much a session reports of its blocked attempts one by
// one — a line on stderr, a blocked record in the audit log, an in-band
// notification — before it only counts them. A sandboxed program can make
// thousands of distinct attempts a second; past these limits each goes
// into the session's counts of what was not listed (per kind and op, per
// tool), written as blocked_summary records and in session_end.
const (
	// blockedPerClass is how many blocked records (a first attempt, or
	// the total of its repeats) one class of attempt gets: the same kind,
	// op, rule and tool(s), whatever the target.
	blockedPerClass = 100
	// blockedPerSession is how many blocked records a session gets in all.
	blockedPerSession = 1000
	// blockedBytes bounds the text those records carry (targets,
	// executables, rules, tools; each record counts recordOverhead more).
	blockedBytes   = 1 << 20
	recordOverhead = 256
	// summaryInterval is how often, at most, a blocked_summary record
	// says what was counted and not listed since the last one; the last
	// is written when the session ends.
	summaryInterval = 30 * time.Second
	// summaryKeys bounds each map of a summary; further kinds of attempt
	// or tools are counted under summaryOther.
	summaryKeys  = 64
	summaryOther = "(other)"

	// connectionRecords is how many connection records (with
	// audit.connections) a session writes; every connection is counted
	// all the same, per destination, in tool_call and session_end.
	connectionRecords = 1000
	// netKeys bounds those counts: destinations past this many in one
	// call (or outside calls) are counted under summaryOther.
	netKeys = 256
)

// budget decides which blocked attempts are reported one by one. It is
// used by the reporter's goroutine only.
type budget struct {
	records int
	bytes   int
	class   map[string]int // records per class
}

// admit reports whether x may have one more record, and counts it if so.
func (b *budget) admit(x routed) bool {
	cost := recordOverhead + len(x.ev.Target) + len(x.ev.Exe) + len(x.ev.Rule)
	for _, t := range toolNames(x.calls) {
		cost += len(t)
	}
	class := classKey(x)
	if b.records >= blockedPerSession || b.bytes+cost > blockedBytes || b.class[class] >= blockedPerClass {
		return false
	}
	if b.class == nil {
		b.class = map[string]int{}
	}
	b.records++
	b.bytes += cost
	b.class[class]++
	return true
}

// classKey is what counts as one class of attempt: kind, op, rule and
// tools, not the target.
func classKey(x routed) string {
	ev := x.ev
	return strings.Join(append([]string{ev.Kind, ev.Op, ev.Rule}, toolNames(x.calls)...), "\x00")
}

// unlisted counts the blocked attempts that were not reported one by one.
// Guarded by reporter.mu: both the reporter's goroutine (over budget) and
// event (the queue was full) add to it.
type unlisted struct {
	total     int            // in the whole session
	pending   int            // since the last summary record
	byOp      map[string]int // "kind op" → attempts, since the last summary
	byTool    map[string]int // tool → attempts, since the last summary
	announced bool           // the stderr line saying so went out
	last      time.Time      // when the last summary record was written
	// sessionByOp is byOp over the whole session, for the last line on
	// stderr.
	sessionByOp map[string]int
}

// add counts n attempts like x.
func (u *unlisted) add(x routed, n int) {
	if n <= 0 {
		return
	}
	u.total += n
	u.pending += n
	op := strings.TrimSpace(x.ev.Kind + " " + x.ev.Op)
	if u.byOp == nil {
		u.byOp, u.byTool = map[string]int{}, map[string]int{}
	}
	if u.sessionByOp == nil {
		u.sessionByOp = map[string]int{}
	}
	bump(u.byOp, op, n, summaryKeys)
	bump(u.sessionByOp, op, n, summaryKeys)
	for _, t := range toolNames(x.calls) {
		bump(u.byTool, t, n, summaryKeys)
	}
}

// bump adds n to m[k], or to m[summaryOther] when m already holds limit
// keys and not k.
func bump(m map[string]int, k string, n, limit int) {
	if _, ok := m[k]; !ok && len(m) >= limit {
		k = summaryOther
	}
	m[k] += n
}

// summary returns the blocked_summary record of what was counted since the
// last one, and starts counting afresh; ok is false when there is nothing
// to say, or when the last summary is younger than summaryInterval and
// final is not set.
func (u *unlisted) summary(now time.Time, final bool) (rec audit.Record, ok bool) {
	if u.pending == 0 || (!final && !u.last.IsZero() && now.Sub(u.last) < summaryInterval) {
		return audit.Record{}, false
	}
	rec = audit.Record{
		TS: now, Type: audit.TypeBlockedSummary,
		Count: u.pending, ByOp: u.byOp, ByTool: u.byTool,
		Tool: audit.Tools(slices.Sorted(maps.Keys(u.byTool))),
	}
	u.pending, u.byOp, u.byTool = 0, nil, nil
	u.last = now
	return rec, true
}

// topOps is "12000 file read, 345 net connect": the session's most
// frequent kinds of attempt not listed, at most five.
func (u *unlisted) topOps() string {
	ops := slices.SortedFunc(maps.Keys(u.sessionByOp), func(a, b string) int {
		return cmp.Or(cmp.Compare(u.sessionByOp[b], u.sessionByOp[a]), cmp.Compare(a, b))
	})
	var parts []string
	for i, op := range ops {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", u.sessionByOp[op], audit.Escape(op)))
	}
	return strings.Join(parts, ", ")
}
