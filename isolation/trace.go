package isolation

import (
	"cmp"
	"fmt"
	"io"
	"runtime/metrics"
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
	// Alloc is how many bytes the process had allocated on its heap by
	// then, and Faults how many minor page faults it had taken: at
	// start-up a fresh page costs more than most of the work done in it.
	Alloc  uint64 `json:"alloc"`
	Faults int64  `json:"faults"`
}

// newMark is a mark of this process, now.
func newMark(proc, phase string) TraceMark {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	m := TraceMark{Proc: proc, Phase: phase, At: time.Now().UnixNano(), Faults: minorFaults()}
	if s[0].Value.Kind() == metrics.KindUint64 {
		m.Alloc = s[0].Value.Uint64()
	}
	return m
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
	m := newMark("sbshim", phase)
	t.mu.Lock()
	t.marks = append(t.marks, m)
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
// since the origin, since the same process's previous mark, the heap
// allocated (KiB) and the page faults taken since that mark, the process
// and the phase.
func (t *StartTrace) WriteTo(w io.Writer) (int64, error) {
	if t == nil {
		return 0, nil
	}
	t.mu.Lock()
	marks := append([]TraceMark(nil), t.marks...)
	t.mu.Unlock()
	slices.SortStableFunc(marks, func(a, b TraceMark) int { return cmp.Compare(a.At, b.At) })
	last := map[string]TraceMark{}
	var n int64
	for _, m := range marks {
		prev, ok := last[m.Proc]
		if !ok {
			prev = TraceMark{At: t.origin.UnixNano()}
		}
		last[m.Proc] = m
		k, err := fmt.Fprintf(w, "sbshim: trace %8.3f ms  %+8.3f ms %+7.0f KiB %+5d faults  %-6s %s\n",
			float64(m.At-t.origin.UnixNano())/1e6, float64(m.At-prev.At)/1e6,
			float64(m.Alloc-prev.Alloc)/1024, m.Faults-prev.Faults, m.Proc, m.Phase)
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
	t.marks = append(t.marks, newMark("init", phase))
}

// list is what was recorded; nil for a nil trace.
func (t *initTrace) list() []TraceMark {
	if t == nil {
		return nil
	}
	return t.marks
}
