//go:build linux || darwin

package isolation

import (
	"errors"
	"os"

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
}

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

// startSeatbelt runs cfg.Argv under tools.SandboxExec with a profile
// generated from cfg.Policy (Start on macOS).
func startSeatbelt(cfg Config, tools seatbelt.Tools) (*seatbeltProcess, error) {
	if len(cfg.Argv) == 0 {
		return nil, &SetupError{Code: ExitSetup, Layer: "exec", Err: errors.New("no command given")}
	}
	if cfg.Policy == nil {
		return nil, &SetupError{Code: ExitSetup, Layer: "policy", Err: errors.New("no policy")}
	}
	if cfg.PTY != nil {
		return nil, &SetupError{Code: ExitSetup, Layer: "pty", Err: errors.New("PTY mode is not supported on macOS yet (use --no-pty)")}
	}
	p := &seatbeltProcess{}
	port := 0
	if cfg.Policy.Network.Mode == policy.NetProxy {
		env := seatbeltEnv(cfg.Policy, os.Environ(), 0, nil)
		proxy, err := startSharedProxy(cfg, env)
		if err != nil {
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
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
		Env:       seatbeltEnv(cfg.Policy, os.Environ(), port, cfg.Warn),
		ProxyPort: port, Strict: cfg.Strict, Warn: cfg.Warn, Report: report, Tools: tools,
	})
	if err != nil {
		p.proxy.stop()
		return nil, seatbeltSetupError(err)
	}
	p.sp = sp
	return p, nil
}
