package isolation

import (
	"fmt"
	"os"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is the master side of the command's terminal in PTY mode (nil
// otherwise). The terminal belongs to the sandbox's own devpts instance;
// sbshim relays between it and the user's terminal. The caller owns it
// and closes it once the relay has drained it.
func (p *Process) PTY() *os.File { return p.pty }

// takePTY keeps the pty master that the init sent with a message tagged
// ptyTag; it reports whether the message was that one.
func (p *Process) takePTY(body []byte, fds []int) bool {
	if string(body) != `"`+ptyTag+`"` || len(fds) == 0 {
		return false
	}
	if p.pty != nil {
		closeAll(fds)
		return true
	}
	// Non-blocking, so that the os.File uses the poller and a Close ends
	// a relay's pending Read.
	_ = unix.SetNonblock(fds[0], true)
	p.pty = os.NewFile(uintptr(fds[0]), "sbshim-pty-master")
	closeAll(fds[1:])
	return true
}

// dropPTY closes the master when the sandbox failed to start.
func (p *Process) dropPTY() {
	if p.pty != nil {
		_ = p.pty.Close()
		p.pty = nil
	}
}

// ptySpec asks the init for a terminal of the given size.
type ptySpec struct {
	Size WinSize `json:"size"`
}

// sandboxTTY is the terminal the init made for the command.
type sandboxTTY struct {
	slave *os.File
}

// openTTY opens a new pty in the sandbox's /dev — inside a mount namespace
// that is the sandbox's own devpts instance, so the command's terminal is
// invisible to the host's devpts — sizes it, and hands the master to
// sbshim over conn. The init keeps only the slave, for the command.
func openTTY(conn *os.File, spec *ptySpec) (*sandboxTTY, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open a pty in the sandbox's devpts: %w", err)
	}
	defer master.Close()
	if spec.Size.Rows > 0 && spec.Size.Cols > 0 {
		ws := pty.Winsize{Rows: spec.Size.Rows, Cols: spec.Size.Cols, X: spec.Size.X, Y: spec.Size.Y}
		if err := pty.Setsize(master, &ws); err != nil {
			slave.Close()
			return nil, fmt.Errorf("size the pty: %w", err)
		}
	}
	if err := writeMsg(conn, ptyTag, int(master.Fd())); err != nil {
		slave.Close()
		return nil, fmt.Errorf("hand the pty to sbshim: %w", err)
	}
	return &sandboxTTY{slave: slave}, nil
}

// apply makes the slave the command's stdin, stdout, stderr and
// controlling terminal. The command leads a session of its own already
// (startInside sets Setsid), so its process group is the terminal's
// foreground one: job control inside works as in any terminal.
func (t *sandboxTTY) apply(attr *syscall.ProcAttr) {
	fd := t.slave.Fd()
	attr.Files = []uintptr{fd, fd, fd}
	attr.Sys.Setctty = true
	attr.Sys.Ctty = 0
}

// close drops the init's copy of the slave once the command has it, so
// that the master sees the hang-up when the last process inside lets go.
func (t *sandboxTTY) close() {
	if t != nil {
		_ = t.slave.Close()
	}
}
