//go:build linux || darwin

package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/shim/audit"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Bounds of PTY mode's shutdown.
const (
	// ptyDrain is how long the agent's last output may take to arrive
	// once it has exited.
	ptyDrain = 2 * time.Second
	// heldMessages bounds sbshim's own lines kept while the agent owns
	// the screen.
	heldMessages = 64 << 10
)

// runPTY runs the command on a terminal of its own (on Linux made in the
// sandbox's devpts, on macOS outside it, the one terminal its profile
// allows), and relays the user's terminal to it: PTY mode (DESIGN.md). The
// user's terminal is raw while the command runs and restored on every way
// out; window-size changes are passed on; keys such as Ctrl-C reach the
// command through its terminal's line discipline, never sbshim. Nothing is
// printed over the command's screen: blocked attempts go to the audit log,
// and one summary line follows its exit.
func (s *Session) runPTY(st streams) int {
	// MCP is not parsed in PTY mode, so there is nothing to notify or
	// annotate; stderr lines would land on the agent's screen.
	s.pol.Report.Stderr, s.pol.Report.Notify, s.pol.Report.Annotate = false, false, false
	held := newHeldWriter(st.stderr, heldMessages)
	s.errw = newLineMux(held, 0)
	user := userTerminal{in: st.stdin, out: st.stdout}
	size := user.size()

	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return s.failPTY(fmt.Errorf("open %s: %w", os.DevNull, err))
	}
	initErr, initErrW, err := os.Pipe()
	if err != nil {
		devnull.Close()
		return s.failPTY(fmt.Errorf("pipe: %w", err))
	}
	// The init holds no descriptor of the user's terminal: a program in
	// the sandbox could otherwise reach it through /proc/1/fd.
	proc, err := isolation.Start(isolation.Config{
		Policy: s.pol,
		Argv:   s.opts.Argv,
		Strict: s.opts.Strict,
		Stdin:  devnull, Stdout: devnull, Stderr: initErrW,
		Warn:    s.warn,
		Report:  s.rep.event,
		PTY:     &size,
		Trace:   s.opts.trace,
		Prefork: s.opts.prefork,
	})
	devnull.Close()
	initErrW.Close()
	if err != nil {
		initErr.Close()
		return s.failPTY(err)
	}
	initOut := newHeldWriter(io.Discard, heldMessages)
	initOut.hold()
	initDone := make(chan struct{})
	go func() { _, _ = io.Copy(initOut, initErr); initErr.Close(); close(initDone) }()

	master := proc.PTY()
	if master == nil {
		_ = proc.Signal(syscall.SIGKILL)
		_, _ = proc.Wait()
		return s.failPTY(errors.New("the sandbox's init sent no terminal"))
	}
	s.ptySessionStart(proc.Layers())
	hideFromSandbox()

	held.hold()
	restore := user.makeRaw()
	defer restore()

	r := newPTYRelay(master, st.stdin, st.stdout, user.inIsTerminal())
	go r.output()
	go r.input()

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGWINCH, unix.SIGTERM, unix.SIGHUP)
	defer signal.Stop(sigs)

	exited, code := s.waitInBackground(proc)
	s.awaitPTYExit(proc, r, user, restore, sigs, exited)

	// The agent is gone; its last output follows, then the terminal is
	// the user's again.
	select {
	case <-r.outDone:
	case <-time.After(ptyDrain):
	}
	r.close()
	restore()
	if r.midLine() {
		// sbshim's lines start on a line of their own.
		_, _ = io.WriteString(st.stderr, "\n")
	}
	total := s.rep.close()
	_ = held.release() // if the user's stderr is gone, there is no one left to tell
	select {
	case <-initDone:
	case <-time.After(ptyDrain):
	}
	// The init's messages pass the same filter as the command's output:
	// nothing from inside reaches the user's terminal unfiltered.
	_ = initOut.releaseTo(newTermWriter(st.stderr, userTerminalIsUTF8()))
	s.finish(*code)
	if line := blockedSummary(total, s.id, s.opts.AuditLog); line != "" {
		_, _ = io.WriteString(st.stderr, line)
	}
	return *code
}

// awaitPTYExit waits for the command to exit, passing on window-size
// changes and acting as a terminal would when sbshim is told to stop:
// SIGHUP (the user's terminal went away) hangs the command's terminal up;
// SIGTERM — which the sandbox passes on to the command — gives the user
// their terminal back at once, and a command that is still there after
// TermGrace gets a hang-up, then after KillGrace is killed.
func (s *Session) awaitPTYExit(proc *isolation.Process, r *ptyRelay, user userTerminal, restore func(), sigs <-chan os.Signal, exited <-chan struct{}) {
	var hangup, kill <-chan time.Time
	hangUpNow := func() {
		restore()
		r.hangup(proc.Pid())
		if kill == nil {
			kill = time.After(s.opts.killGrace())
		}
	}
	for {
		select {
		case <-exited:
			return
		case sig := <-sigs:
			switch sig {
			case unix.SIGWINCH:
				r.resize(user.size())
			case unix.SIGHUP:
				hangUpNow()
			case unix.SIGTERM:
				restore()
				if hangup == nil && kill == nil {
					hangup = time.After(s.opts.termGrace())
				}
			}
		case <-r.inHangup:
			hangUpNow()
		case <-hangup:
			hangup = nil
			hangUpNow()
		case <-kill:
			kill = nil
			_ = proc.Signal(syscall.SIGKILL)
		}
	}
}

// ptySessionStart writes the session_start record of a PTY session.
func (s *Session) ptySessionStart(l isolation.Layers) {
	s.record(audit.Record{
		Type:    "session_start",
		Command: s.opts.Argv,
		Profile: s.pol.Name,
		Mode:    "pty",
		Layers:  l,
		PID:     os.Getpid(),
	})
}

// failPTY reports an error before the command started.
func (s *Session) failPTY(err error) int {
	s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
	s.rep.close()
	return s.startFailed("pty", err)
}

// userTerminal is sbshim's own stdin and stdout; either, both or neither
// may be a terminal.
type userTerminal struct {
	in  *os.File
	out io.Writer
}

func (u userTerminal) inIsTerminal() bool { return isTerminal(u.in) }

// termFD is the terminal whose size the command's terminal follows: stdin,
// else stdout.
func (u userTerminal) termFD() (int, bool) {
	if fd, ok := fdOf(u.in); ok && term.IsTerminal(fd) {
		return fd, true
	}
	if f, ok := u.out.(*os.File); ok {
		if fd, ok := fdOf(f); ok && term.IsTerminal(fd) {
			return fd, true
		}
	}
	return -1, false
}

// size is the user's terminal size, or 24×80 without one.
func (u userTerminal) size() isolation.WinSize {
	if fd, ok := u.termFD(); ok {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
			return isolation.WinSize{Rows: ws.Row, Cols: ws.Col, X: ws.Xpixel, Y: ws.Ypixel}
		}
	}
	return isolation.WinSize{Rows: 24, Cols: 80}
}

// makeRaw puts the user's terminal (stdin) in raw mode, so that every key
// goes to the command's terminal, whose own line discipline then does what
// the command asked for. It returns the function that restores the mode;
// it may be called any number of times, from any goroutine.
func (u userTerminal) makeRaw() func() {
	fd, ok := fdOf(u.in)
	if !ok || !term.IsTerminal(fd) {
		return func() {}
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { _ = term.Restore(fd, old) }) }
}

// ptyRelay copies the user's input to the command's terminal and its
// output back.
type ptyRelay struct {
	master  *os.File
	in      *os.File
	out     io.Writer
	filter  *termFilter // what of the command's output reaches out
	inTerm  bool
	wakeR   *os.File // closing wakeW ends the input loop
	wakeW   *os.File
	outDone chan struct{}
	// inHangup is closed when the user's terminal hung up (its read
	// reached end of file).
	inHangup  chan struct{}
	closeOnce sync.Once
	last      atomic.Int32 // the last byte of output, -1 before any
}

func newPTYRelay(master, in *os.File, out io.Writer, inTerm bool) *ptyRelay {
	r := &ptyRelay{master: master, in: in, out: out, inTerm: inTerm, filter: newTermFilter(userTerminalIsUTF8()),
		outDone: make(chan struct{}), inHangup: make(chan struct{})}
	r.last.Store(-1)
	var err error
	if r.wakeR, r.wakeW, err = os.Pipe(); err != nil {
		r.wakeR, r.wakeW = nil, nil
	}
	return r
}

// output copies the command's terminal to the user's stdout until the
// terminal has no process left on it (EIO) or is closed. It passes only
// what termFilter lets through to the user's terminal.
func (r *ptyRelay) output() {
	defer close(r.outDone)
	buf := make([]byte, 32<<10)
	out := make([]byte, 0, 40<<10)
	for {
		n, err := r.master.Read(buf)
		if n > 0 {
			out = r.filter.filter(out[:0], buf[:n])
		}
		if len(out) > 0 {
			r.last.Store(int32(out[len(out)-1]))
			if _, werr := r.out.Write(out); werr != nil {
				// The user's terminal is gone; keep reading so the
				// command is never blocked on a full terminal.
				r.out = io.Discard
			}
		}
		out = out[:0]
		if err != nil {
			return
		}
	}
}

// midLine says whether the command's output ended in the middle of a
// line. Call it once output has ended.
func (r *ptyRelay) midLine() bool {
	last := r.last.Load()
	return last >= 0 && last != '\n'
}

// input copies the user's stdin to the command's terminal. The read waits
// (waitInput) beside a wake-up pipe, so that sbshim can stop it without
// touching the file status flags of a terminal it shares with the shell.
// End of file on a terminal is a hang-up; on anything else it becomes the
// command's end-of-file character, which ends its input as the end of a
// pipe would.
func (r *ptyRelay) input() {
	fd, ok := fdOf(r.in)
	if !ok {
		return
	}
	wake := -1
	if r.wakeR != nil {
		wake, _ = fdOf(r.wakeR)
	}
	buf := make([]byte, 32<<10)
	for {
		if !waitInput(fd, wake) {
			return
		}
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if n > 0 {
			if _, err := r.master.Write(buf[:n]); err != nil {
				return
			}
			continue
		}
		if r.inTerm {
			close(r.inHangup)
			return
		}
		_, _ = r.master.Write([]byte{r.eofChar()})
		return
	}
}

// eofChar is the command's terminal's end-of-file character (^D unless
// the command changed it).
func (r *ptyRelay) eofChar() byte {
	if fd, ok := fdOf(r.master); ok {
		if t, err := unix.IoctlGetTermios(fd, ioctlGetTermios); err == nil && t.Cc[unix.VEOF] != 0 {
			return t.Cc[unix.VEOF]
		}
	}
	return 4
}

// resize gives the command's terminal a new size; the kernel sends
// SIGWINCH to its foreground process group.
func (r *ptyRelay) resize(ws isolation.WinSize) {
	if fd, ok := fdOf(r.master); ok {
		_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols, Xpixel: ws.X, Ypixel: ws.Y})
	}
}

// hangup closes the command's terminal as a terminal that went away
// would: the kernel sends SIGHUP to the command's session.
func (r *ptyRelay) hangup(initPid int) {
	// As a terminal's hang-up does, and before the terminal goes: the
	// command's foreground gets SIGHUP first (signalForeground, per
	// platform), so that a shell waiting at its prompt ends by the
	// signal (status 129) and not, as a race would have it, by the end
	// of its input. The kernel signals the session when the master
	// closes, as always.
	r.signalForeground(initPid)
	r.close()
}

// close stops both directions and closes the master.
func (r *ptyRelay) close() {
	r.closeOnce.Do(func() {
		if r.wakeW != nil {
			r.wakeW.Close()
		}
		_ = r.master.Close()
	})
}
