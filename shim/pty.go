package shim

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/term"
)

// PTYMode says whether a session gives its command a terminal of its own
// (PTY mode, DESIGN.md) or relays its stdio as pipes.
type PTYMode int

// The PTY modes.
const (
	// PTYAuto chooses PTY mode when sbshim's stdin is a terminal.
	PTYAuto PTYMode = iota
	// PTYOn always gives the command a terminal (--pty).
	PTYOn
	// PTYOff never does (--no-pty).
	PTYOff
)

// usePTY decides the mode for a session whose stdin is or is not a
// terminal.
func (m PTYMode) usePTY(stdinIsTerminal bool) bool {
	switch m {
	case PTYOn:
		return true
	case PTYOff:
		return false
	}
	return stdinIsTerminal
}

// fdOf is f's descriptor, read without Fd's side effect of putting the
// file in blocking mode (which would change the file status flags of a
// terminal shared with the user's shell).
func fdOf(f *os.File) (int, bool) {
	if f == nil {
		return -1, false
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if sc.Control(func(u uintptr) { fd = int(u) }) != nil {
		return -1, false
	}
	return fd, fd >= 0
}

// isTerminal says whether f is a terminal.
func isTerminal(f *os.File) bool {
	fd, ok := fdOf(f)
	return ok && term.IsTerminal(fd)
}

// heldWriter passes writes through until hold is called; from then on it
// keeps them (up to max bytes, then it counts what it dropped) until
// release writes them out and lets later writes through again. In PTY
// mode sbshim's own lines wait behind it while the agent owns the screen.
type heldWriter struct {
	mu      sync.Mutex
	w       io.Writer
	held    bool
	buf     bytes.Buffer
	max     int
	dropped int
}

func newHeldWriter(w io.Writer, max int) *heldWriter {
	return &heldWriter{w: w, max: max}
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.held {
		return h.w.Write(p)
	}
	room := h.max - h.buf.Len()
	if room < len(p) {
		if room > 0 {
			h.buf.Write(p[:room])
		}
		h.dropped += len(p) - max(room, 0)
		return len(p), nil
	}
	h.buf.Write(p)
	return len(p), nil
}

func (h *heldWriter) hold() {
	h.mu.Lock()
	h.held = true
	h.mu.Unlock()
}

// release writes out what was kept and passes later writes through.
func (h *heldWriter) release() error {
	return h.releaseTo(nil)
}

// releaseTo is release with w, when not nil, as the writer from now on.
func (h *heldWriter) releaseTo(w io.Writer) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w != nil {
		h.w = w
	}
	if !h.held {
		return nil
	}
	h.held = false
	_, err := h.w.Write(h.buf.Bytes())
	h.buf.Reset()
	if h.dropped > 0 && err == nil {
		_, err = fmt.Fprintf(h.w, "sbshim: (%d bytes of messages dropped)\n", h.dropped)
		h.dropped = 0
	}
	return err
}

// blockedSummary is the one line PTY mode prints after the agent exited,
// when something was blocked: how many attempts, and the command that
// lists them. auditLog is Options.AuditLog.
func blockedSummary(blocked int, session, auditLog string) string {
	if blocked == 0 {
		return ""
	}
	what := fmt.Sprintf("sbshim: %d blocked attempt%s", blocked, plural(blocked))
	switch auditLog {
	case "-":
		return what + " (no audit log: --audit-log -)\n"
	case "":
		return fmt.Sprintf("%s — sbshim audit --session %s --events\n", what, session)
	}
	return fmt.Sprintf("%s — sbshim audit --session %s --events --dir %s\n", what, session, filepath.Dir(auditLog))
}
