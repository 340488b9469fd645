//go:build darwin

package isolation

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// Process is a command running in a sandbox: on macOS, under Seatbelt.
type Process struct{ sp *seatbeltProcess }

// Layers reports the isolation layers in force.
func (p *Process) Layers() Layers { return p.sp.Layers() }

// Serving tells the sandbox that the command has started. Seatbelt has no
// supervisor to tell.
func (p *Process) Serving() {}

// Pid is the host pid of the command.
func (p *Process) Pid() int { return p.sp.Pid() }

// Signal sends sig to the command.
func (p *Process) Signal(sig os.Signal) error { return p.sp.Signal(sig) }

// PTY is the master side of the command's terminal in PTY mode (nil
// otherwise): a pty sbshim made outside the sandbox, whose slave is the
// one terminal device the profile lets the command use. The caller owns
// it and closes it once the relay has drained it.
func (p *Process) PTY() *os.File { return p.sp.PTY() }

// Wait waits for the command and returns its exit status: its own code,
// 128+N if signal N ended it (see seatbeltProcess.Wait).
func (p *Process) Wait() (int, error) { return p.sp.Wait() }

// Start runs cfg.Argv under /usr/bin/sandbox-exec with a profile generated
// from cfg.Policy (package seatbelt). The signals SIGTERM, SIGINT, SIGHUP,
// SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT and SIGALRM that reach
// sbshim are passed on to the command.
func Start(cfg Config) (*Process, error) {
	sp, err := startSeatbelt(cfg, seatbelt.MacTools(), pty.Open)
	if err != nil {
		return nil, err
	}
	return &Process{sp: sp}, nil
}

// InitMain is never reached on this platform: there is no init.
func InitMain() {
	fmt.Fprintln(os.Stderr, "sbshim: init: not used on macOS")
	os.Exit(ExitSetup)
}

// DeputyMain is never reached on this platform.
func DeputyMain() {
	os.Exit(ExitSetup)
}
