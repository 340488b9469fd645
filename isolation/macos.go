//go:build linux || darwin

package isolation

import (
	"errors"
	"fmt"
	"os"

	"github.com/creack/pty"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// The macOS adapter: package seatbelt runs the command under Seatbelt;
// this gives it the environment and the shared proxy, and turns its
// reports into Events and its failures into SetupErrors. It builds on
// Linux too, where the tests run it with stand-ins for macOS's programs
// (seatbelt.Tools).

// seatbeltProcess is a command running under Seatbelt (Process on
// macOS).
type seatbeltProcess struct {
	sp    *seatbelt.Process
	proxy *sharedProxy // nil unless network.mode is proxy
	pty   *os.File     // the terminal's master in PTY mode
}

// PTY is the master side of the command's terminal in PTY mode (nil
// otherwise). The caller owns it and closes it once the relay has
// drained it.
func (p *seatbeltProcess) PTY() *os.File { return p.pty }

// Layers reports the isolation layers in force.
func (p *seatbeltProcess) Layers() Layers { return Layers{Seatbelt: p.sp.Enforced()} }

// Pid is the host pid of the command (sandbox-exec becomes it).
func (p *seatbeltProcess) Pid() int { return p.sp.Pid() }

// Signal sends sig to the command.
func (p *seatbeltProcess) Signal(sig os.Signal) error { return p.sp.Signal(sig) }

// Wait waits for the command and returns its exit status: its own code,
// 128+N if signal N ended it (seatbelt.Process.Wait), and then stops the
// proxy.
func (p *seatbeltProcess) Wait() (int, error) {
	code, err := p.sp.Wait()
	p.proxy.stop()
	if err != nil {
		return ExitSetup, err
	}
	return code, nil
}

// openPTY opens a new pty pair: the master, sbshim's side, and the slave,
// the command's, whose Name is its device's path (pty.Open).
type openPTY func() (master, slave *os.File, err error)

// startSeatbelt runs cfg.Argv under tools.SandboxExec with a profile
// generated from cfg.Policy (Start on macOS). In PTY mode the command's
// terminal is a new pty that open makes outside the sandbox: the profile
// allows that one terminal device, and Process.PTY returns its master.
func startSeatbelt(cfg Config, tools seatbelt.Tools, open openPTY) (*seatbeltProcess, error) {
	if len(cfg.Argv) == 0 {
		return nil, &SetupError{Code: ExitSetup, Layer: "exec", Err: errors.New("no command given")}
	}
	if cfg.Policy == nil {
		return nil, &SetupError{Code: ExitSetup, Layer: "policy", Err: errors.New("no policy")}
	}
	p := &seatbeltProcess{}
	var slave *os.File
	if cfg.PTY != nil {
		var err error
		if p.pty, slave, err = openTerminal(open, *cfg.PTY); err != nil {
			return nil, &SetupError{Code: ExitSetup, Layer: "pty", Err: err}
		}
		// sbshim's copy of the slave goes once the command has its own,
		// so that the master sees the hang-up when the last process on
		// the terminal lets go.
		defer slave.Close()
	}
	port := 0
	if cfg.Policy.Network.Mode == policy.NetProxy {
		env := seatbeltEnv(cfg.Policy, os.Environ(), 0, nil)
		proxy, err := startSharedProxy(cfg, env)
		if err != nil {
			p.closePTY()
			return nil, &SetupError{Code: ExitSetup, Layer: "proxy", Err: err}
		}
		p.proxy, port = proxy, proxy.port
	}
	var report func(seatbelt.Blocked)
	if cfg.Report != nil {
		report = func(b seatbelt.Blocked) { cfg.Report(blockedEvent(b)) }
	}
	sp, err := seatbelt.Start(seatbelt.Config{
		Policy: cfg.Policy, Argv: cfg.Argv, Dir: cfg.Dir,
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr, TTY: slave,
		Env:       seatbeltEnv(cfg.Policy, os.Environ(), port, cfg.Warn),
		ProxyPort: port, Strict: cfg.Strict, Warn: cfg.Warn, Report: report, Tools: tools,
	})
	if err != nil {
		p.proxy.stop()
		p.closePTY()
		return nil, seatbeltSetupError(err)
	}
	p.sp = sp
	return p, nil
}

// openTerminal opens the command's terminal with open and gives it its
// initial size.
func openTerminal(open openPTY, size WinSize) (master, slave *os.File, err error) {
	master, slave, err = open()
	if err != nil {
		return nil, nil, fmt.Errorf("open a pty: %w", err)
	}
	if size.Rows > 0 && size.Cols > 0 {
		ws := pty.Winsize{Rows: size.Rows, Cols: size.Cols, X: size.X, Y: size.Y}
		if err := pty.Setsize(master, &ws); err != nil {
			master.Close()
			slave.Close()
			return nil, nil, fmt.Errorf("size the pty: %w", err)
		}
	}
	return master, slave, nil
}

// closePTY closes the master when the command did not start.
func (p *seatbeltProcess) closePTY() {
	if p.pty != nil {
		_ = p.pty.Close()
		p.pty = nil
	}
}
