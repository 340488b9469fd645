package seatbelt

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The watcher of the system log: it turns the lines of `log stream` that
// carry a session's tag into Blocked reports. It is plain Go, tested on
// every OS with recorded streams.

// newSessionTag returns the tag of a session's deny messages: random, so
// that no other session (nor a program that guesses) shares it, and plain
// ASCII so that it can stand in a log predicate as it is.
func newSessionTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sbshim-" + hex.EncodeToString(b[:])
}

// logPredicate selects the log messages of a session's tag.
func logPredicate(tag string) string {
	return `eventMessage CONTAINS "` + tag + `"`
}

// Bounds of the log watcher.
const (
	// logLineMax is the longest log line read; a longer one is skipped.
	logLineMax = 256 << 10
	// dedupWindow: the same attempt (process, operation, target) logged
	// again within it is one attempt — realpath's readlink and the open
	// that follows, a retry of the same call.
	dedupWindow = 100 * time.Millisecond
	// dedupEntries bounds the attempts remembered for deduplication.
	dedupEntries = 4096
	// maxRepeats bounds the reports one "N duplicate reports" line gives.
	maxRepeats = 64
)

// logWatcher turns the lines of `log stream --style ndjson` into Blocked
// reports.
type logWatcher struct {
	tag    string
	rules  []string
	report func(Blocked)
	now    func() time.Time

	ready     chan struct{} // closed at the first line
	readyOnce sync.Once
	done      chan struct{} // closed when the stream has ended
	activity  chan struct{} // a line arrived (capacity 1)
	marked    chan struct{} // closed when the marker line has come through
	markOnce  sync.Once

	seen map[dedupKey]time.Time // run's goroutine only

	// lost, if set, hears that a live stream ended before stopping was
	// set: what the sandbox blocks from then on goes unreported.
	lost     func()
	stopping atomic.Bool
}

type dedupKey struct {
	pid              int
	kind, op, target string
}

func newLogWatcher(tag string, rules []string, report func(Blocked)) *logWatcher {
	if report == nil {
		report = func(Blocked) {}
	}
	return &logWatcher{
		tag: tag, rules: rules, report: report, now: time.Now,
		ready: make(chan struct{}), done: make(chan struct{}), activity: make(chan struct{}, 1),
		marked: make(chan struct{}),
		seen:   make(map[dedupKey]time.Time),
	}
}

// run reads the stream until it ends, reporting each denial of the
// session. The first line (the stream's banner) makes the watcher ready.
func (w *logWatcher) run(r io.Reader) {
	defer close(w.done)
	defer w.readyOnce.Do(func() {}) // ended before its first line: never ready
	defer func() {
		select {
		case <-w.ready:
			if w.lost != nil && !w.stopping.Load() {
				w.lost()
			}
		default:
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, logLineMax)
		if line != nil {
			w.readyOnce.Do(func() { close(w.ready) })
			select {
			case w.activity <- struct{}{}:
			default:
			}
			w.line(line)
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line without its newline; a line longer than max
// comes back empty (read and skipped, not kept).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		if !long {
			line = append(line, frag...)
			if len(line) > max+1 {
				long, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		switch {
		case long:
			return []byte{}, err
		case len(line) == 0:
			return nil, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// line handles one line of the stream.
func (w *logWatcher) line(line []byte) {
	d, ok := ParseLogLine(line, w.tag)
	if !ok {
		if bytes.Contains(line, []byte(readyMarker(w.tag))) {
			w.markOnce.Do(func() { close(w.marked) })
		}
		return
	}
	ev, ok := blocked(d, w.rules)
	if !ok {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = w.now()
	}
	key := dedupKey{ev.PID, ev.Kind, ev.Op, ev.Target}
	if last, ok := w.seen[key]; ok && d.Repeats == 1 && ev.Time.Sub(last).Abs() < dedupWindow {
		return
	}
	if len(w.seen) >= dedupEntries {
		for k, t := range w.seen {
			if ev.Time.Sub(t).Abs() >= dedupWindow {
				delete(w.seen, k)
			}
		}
		if len(w.seen) >= dedupEntries {
			clear(w.seen)
		}
	}
	w.seen[key] = ev.Time
	for range min(d.Repeats, maxRepeats) {
		w.report(ev)
	}
}

// readyMarker is the text sbshim logs, once the stream has started, to
// see it come through: from then on the stream is known to deliver the
// session's messages. It carries the tag, so the predicate selects it.
func readyMarker(tag string) string { return tag + " log stream ready" }

// waitMarked waits until the marker has come through, the stream has
// ended, or timeout has passed; it says whether the marker came.
func (w *logWatcher) waitMarked(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.marked:
		return true
	case <-w.done:
	case <-t.C:
	}
	select {
	case <-w.marked:
		return true
	default:
		return false
	}
}

// stop says that the stream is about to be ended on purpose.
func (w *logWatcher) stop() { w.stopping.Store(true) }

// waitReady waits until the stream has written its first line, has
// ended, or timeout has passed; it says whether the stream is live.
func (w *logWatcher) waitReady(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-w.done:
		select {
		case <-w.ready:
			return true
		default:
			return false
		}
	case <-t.C:
		return false
	}
}

// drain waits, once the command has ended, for the denials still on their
// way: until no line has arrived for quiet, the stream has ended, or max
// has passed.
func (w *logWatcher) drain(quiet, max time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	q := time.NewTimer(quiet)
	defer q.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-deadline.C:
			return
		case <-q.C:
			return
		case <-w.activity:
			if !q.Stop() {
				select {
				case <-q.C:
				default:
				}
			}
			q.Reset(quiet)
		}
	}
}
