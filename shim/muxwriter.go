package shim

import (
	"io"
	"sync"
	"time"
)

// lineMux is one writer shared by a relayed stream and sbshim's own
// messages. The stream's bytes go out as they come; a message goes out
// only between two of the stream's lines, so neither is ever cut in half.
// While the stream is in the middle of a line, messages wait; if the line
// stays open longer than hold (a prompt, a progress bar), they go out after
// a line break of their own.
type lineMux struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
	pending [][]byte
	hold    time.Duration
	timer   *time.Timer
	err     error // the first write error; later writes are dropped
}

func newLineMux(w io.Writer, hold time.Duration) *lineMux {
	return &lineMux{w: w, hold: hold}
}

// setWriter replaces the underlying writer (with another way to the same
// stream).
func (m *lineMux) setWriter(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.w = w
}

// stream writes a piece of the relayed stream; end says it ends a line.
func (m *lineMux) stream(p []byte, end bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if len(p) > 0 {
		if _, err := m.w.Write(p); err != nil {
			m.err = err
			return err
		}
	}
	m.midLine = !end
	if end {
		m.flushLocked(false)
	}
	return nil
}

// Write implements io.Writer for a stream that is not line-framed (a
// program's stderr): a line ends where the chunk ends in '\n'.
func (m *lineMux) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := m.stream(p, p[len(p)-1] == '\n'); err != nil {
		return 0, err
	}
	return len(p), nil
}

// message writes one whole line of sbshim's own (msg must end in '\n')
// between the stream's lines.
func (m *lineMux) message(msg []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	if !m.midLine {
		if _, err := m.w.Write(msg); err != nil {
			m.err = err
		}
		return
	}
	m.pending = append(m.pending, msg)
	if m.timer == nil && m.hold > 0 {
		m.timer = time.AfterFunc(m.hold, m.overdue)
	}
}

// overdue sends the waiting messages after their own line break when the
// stream kept a line open for too long.
func (m *lineMux) overdue() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.timer = nil
	if m.midLine && len(m.pending) > 0 {
		m.flushLocked(true)
		// The stream's line continues after our messages; it is no
		// longer known to be at a line start.
	}
}

// flush sends whatever waits, at the end of a session. If the stream
// ended in the middle of a line, the messages go out after a line break
// when breakLine allows it, and are dropped otherwise (client stdout: a
// break would corrupt the peer's last message).
func (m *lineMux) flush(breakLine bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.midLine && !breakLine {
		m.pending = nil
		return
	}
	m.flushLocked(m.midLine)
	m.midLine = false
}

func (m *lineMux) flushLocked(breakFirst bool) {
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	if len(m.pending) == 0 || m.err != nil {
		m.pending = nil
		return
	}
	if breakFirst {
		if _, err := m.w.Write([]byte{'\n'}); err != nil {
			m.err = err
			return
		}
	}
	for _, msg := range m.pending {
		if _, err := m.w.Write(msg); err != nil {
			m.err = err
			break
		}
	}
	m.pending = nil
}
