package isolation

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// StartTrace records when the phases of a session's start were reached,
// in sbshim and in the sandbox's init, for SBSHIM_TRACE_START=1. A nil
// *StartTrace records nothing and costs nothing; it is the default.
type StartTrace struct {
	mu     sync.Mutex
	origin time.Time
	marks  []TraceMark
}

// TraceMark is one phase reached: by which process ("sbshim", "init"),
// and when, in nanoseconds of the wall clock (both processes read the
// same clock).
type TraceMark struct {
	Proc  string `json:"proc"`
	Phase string `json:"phase"`
	At    int64  `json:"at"`
}

// NewStartTrace starts a trace whose times are counted from origin.
func NewStartTrace(origin time.Time) *StartTrace {
	return &StartTrace{origin: origin}
}

// Mark records that sbshim reached phase now.
func (t *StartTrace) Mark(phase string) {
	if t == nil {
		return
	}
	now := time.Now().UnixNano()
	t.mu.Lock()
	t.marks = append(t.marks, TraceMark{Proc: "sbshim", Phase: phase, At: now})
	t.mu.Unlock()
}

// add records the marks another process sent.
func (t *StartTrace) add(marks []TraceMark) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.marks = append(t.marks, marks...)
	t.mu.Unlock()
}

// WriteTo writes one line per mark, in the order of time: milliseconds
// since the origin, since the same process's previous mark, the process
// and the phase.
func (t *StartTrace) WriteTo(w io.Writer) (int64, error) {
	if t == nil {
		return 0, nil
	}
	t.mu.Lock()
	marks := append([]TraceMark(nil), t.marks...)
	t.mu.Unlock()
	slices.SortStableFunc(marks, func(a, b TraceMark) int { return cmp.Compare(a.At, b.At) })
	last := map[string]int64{}
	var n int64
	for _, m := range marks {
		prev, ok := last[m.Proc]
		if !ok {
			prev = t.origin.UnixNano()
		}
		last[m.Proc] = m.At
		k, err := fmt.Fprintf(w, "sbshim: trace %8.3f ms  %+8.3f ms  %-6s %s\n",
			float64(m.At-t.origin.UnixNano())/1e6, float64(m.At-prev)/1e6, m.Proc, m.Phase)
		n += int64(k)
		if err != nil {
			return n, fmt.Errorf("write the start trace: %w", err)
		}
	}
	return n, nil
}

// initTrace is the init's own record of its phases, sent with its status.
// A nil *initTrace records nothing.
type initTrace struct{ marks []TraceMark }

// mark records that the init reached phase now.
func (t *initTrace) mark(phase string) {
	if t == nil {
		return
	}
	t.marks = append(t.marks, TraceMark{Proc: "init", Phase: phase, At: time.Now().UnixNano()})
}

// list is what was recorded; nil for a nil trace.
func (t *initTrace) list() []TraceMark {
	if t == nil {
		return nil
	}
	return t.marks
}
