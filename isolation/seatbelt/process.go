//go:build linux || darwin

package seatbelt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// The macOS backend's process glue: sandbox-exec with the generated
// profile, `log stream` for the reports. The decisions live in launch.go,
// session.go and watch.go. It builds on Linux too, where the tests run it
// with stand-ins for macOS's programs (Config.Tools).

// Bounds of the log watcher's life.
const (
	// logStartTimeout bounds the wait for `log stream` to start streaming.
	logStartTimeout = 5 * time.Second
	// logMarkTimeout bounds the wait for sbshim's marker to come through
	// the stream once it has started.
	logMarkTimeout = time.Second
	// logQuiet and logDrainMax bound the wait, once the command has
	// ended, for its last denials: the log delivers them after the fact.
	logQuiet    = 300 * time.Millisecond
	logDrainMax = 2 * time.Second
)

// Process is a command running under Seatbelt.
type Process struct {
	cmd      *exec.Cmd
	enforced bool        // sandbox-exec applies the session's profile
	nested   bool        // inside another Seatbelt sandbox: the outer one only
	dir      string      // the session folder (private $TMP, profile)
	group    bool        // the command leads a process group of its own
	logCmd   *exec.Cmd   // `log stream`, nil without reports
	watcher  *logWatcher // nil without reports
	sigs     chan os.Signal
	once     sync.Once
}

// Enforced says whether the session's profile is in force: false when
// sbshim runs nested in another Seatbelt sandbox (Nested).
func (p *Process) Enforced() bool { return p.enforced }

// Nested says whether sbshim runs inside another Seatbelt sandbox, whose
// rules alone hold for the command.
func (p *Process) Nested() bool { return p.nested }

// Reporting says whether the system log reports what the sandbox blocks.
func (p *Process) Reporting() bool { return p.watcher != nil }

// Pid is the host pid of the command (sandbox-exec becomes it).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the command.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the command and returns its exit status: its own code,
// 128+N if signal N ended it. The processes left in its process group are
// killed, the denials still on their way are reported, and the session's
// private folder is removed. An error is a failure to wait.
func (p *Process) Wait() (int, error) {
	err := p.cmd.Wait()
	if p.group {
		// The group outlives its reaped leader while a member is left,
		// and its id is no process's to take meanwhile; an empty group's
		// id could be reused only after macOS's pids, given out in turn,
		// have wrapped around.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	p.release(true)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return 0, fmt.Errorf("wait for the sandbox: %w", err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = ws.ExitStatus()
		}
	}
	return code, nil
}

// release stops what serves the session; drain waits for the last
// denials first.
func (p *Process) release(drain bool) {
	p.once.Do(func() {
		if p.sigs != nil {
			signal.Stop(p.sigs)
			close(p.sigs)
		}
		if p.watcher != nil {
			if drain {
				p.watcher.drain(logQuiet, logDrainMax)
			}
			p.watcher.stop()
			_ = p.logCmd.Process.Kill()
			_ = p.logCmd.Wait()
		}
		if p.dir != "" {
			_ = os.RemoveAll(p.dir)
		}
	})
}

// forwardedSignals are passed on to the command.
func forwardedSignals() []os.Signal {
	return []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGALRM}
}

// Start runs cfg.Argv under cfg.Tools.SandboxExec with a profile
// generated from cfg.Policy, in the private session folder of
// cfg.Policy.Vars.Tmp (PrivateTmp), which it makes. The signals SIGTERM,
// SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT and
// SIGALRM that reach sbshim are passed on to the command. In PTY mode
// (cfg.TTY) the command leads a session of its own on that terminal,
// the one terminal device its profile allows. A failure before the
// command started is an *Error, and nothing ran.
func Start(cfg Config) (*Process, error) {
	if len(cfg.Argv) == 0 {
		return nil, &Error{Kind: ErrSetup, Layer: "exec", Err: errors.New("no command given")}
	}
	if cfg.Policy == nil {
		return nil, &Error{Kind: ErrSetup, Layer: "policy", Err: errors.New("no policy")}
	}
	tools := cfg.Tools
	if tools == (Tools{}) {
		tools = MacTools()
	}
	warn := cfg.Warn
	if warn == nil {
		warn = func(string) {}
	}
	dir, err := makeSessionDir(cfg.Policy.Vars.Tmp)
	if err != nil {
		return nil, &Error{Kind: ErrSetup, Layer: "tmp", Err: err}
	}
	p := &Process{dir: dir}
	fail := func(layer string, err error) (*Process, error) {
		p.release(false)
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &Error{Kind: ErrSetup, Layer: layer, Err: err}
	}
	if _, err := os.Stat(tools.SandboxExec); err != nil {
		return fail("seatbelt", fmt.Errorf("%s: %w; sbshim does not run a command unsandboxed", tools.SandboxExec, err))
	}
	if err := findCommand(cfg.Argv[0], cfg.Env, cfg.Dir); err != nil {
		return fail("exec", err)
	}
	tag := newSessionTag()
	wd := cfg.Dir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	profPol, why := hideTempFolder(cfg.Policy, dir, wd)
	if why != "" {
		warn(why)
	}
	ttyName := ""
	if cfg.TTY != nil {
		ttyName = cfg.TTY.Name()
	}
	prof, err := Generate(profPol, Options{Tag: tag, ProxyPort: cfg.ProxyPort, PTY: cfg.TTY != nil, TTY: ttyName})
	if err != nil {
		return fail("seatbelt", fmt.Errorf("generate the profile: %w", err))
	}
	profile, err := writeProfile(dir, prof.Text)
	if err != nil {
		return fail("seatbelt", err)
	}
	verdict, msg := trySandboxExec(tools, profile)
	pl, err := planLaunch(cfg, tools.SandboxExec, profile, verdict, msg)
	if err != nil {
		return fail("seatbelt", err)
	}
	if pl.warn != "" {
		warn(pl.warn)
	}
	p.nested = verdict == sandboxExecNested
	if pl.seatbelt {
		p.enforced = true
		if err := p.startWatcher(tools, tag, prof.Rules, cfg); err != nil {
			if cfg.Strict {
				return fail("log", fmt.Errorf("%v; --strict refuses to run without reports (see 'sbshim doctor')", err))
			}
			warn(fmt.Sprintf("%v: the sandbox is enforced, but what it blocks is not reported; see 'sbshim doctor'", err))
		}
	}
	cmd := &exec.Cmd{
		Path:   pl.path,
		Args:   pl.args,
		Env:    cfg.Env,
		Dir:    cfg.Dir,
		Stdin:  orStd(cfg.Stdin, os.Stdin),
		Stdout: orStd(cfg.Stdout, os.Stdout),
		Stderr: orStd(cfg.Stderr, os.Stderr),
	}
	switch {
	case cfg.TTY != nil:
		// PTY mode: the command leads a session of its own, whose
		// controlling terminal is the one made for it (Ctty is the
		// child's descriptor 0); its process group is that terminal's
		// foreground group, and what it leaves there is ended with it.
		cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.TTY, cfg.TTY, cfg.TTY
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		p.group = true
	case !term.IsTerminal(int(orStd(cfg.Stdin, os.Stdin).Fd())):
		// A command off the terminal leads a process group of its own, so
		// that what it leaves behind can be ended with it. On a terminal it
		// stays in the foreground group, where it can read.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		p.group = true
	}
	p.cmd = cmd
	p.sigs = make(chan os.Signal, 16)
	signal.Notify(p.sigs, forwardedSignals()...)
	if err := cmd.Start(); err != nil {
		return fail("exec", fmt.Errorf("start %s: %w", cmd.Path, err))
	}
	go func() {
		for sig := range p.sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	return p, nil
}

// orStd is f, or std when f is nil.
func orStd(f, std *os.File) *os.File {
	if f == nil {
		return std
	}
	return f
}

// trySandboxExec runs /usr/bin/true under the profile: whether the
// profile applies, sbshim is nested in another Seatbelt sandbox, or
// sandbox-exec refuses the profile (and why).
func trySandboxExec(tools Tools, profile string) (sandboxExecVerdict, string) {
	var stderr bytes.Buffer
	cmd := exec.Command(tools.SandboxExec, "-f", profile, "--", tools.True)
	cmd.Env = []string{}
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return sandboxExecRefused, err.Error()
		}
		code = ee.ExitCode()
		if code < 0 {
			code = 128
		}
	}
	return judgeSandboxExec(code, stderr.String())
}

// startWatcher starts `log stream` for the session's tag and waits until
// it streams.
func (p *Process) startWatcher(tools Tools, tag string, rules []string, cfg Config) error {
	lost := func() {
		if cfg.Warn != nil {
			cfg.Warn("the system log stream ended: what the sandbox blocks from now on is enforced but not reported")
		}
	}
	cmd, w, err := startLogStream(tools, tag, rules, cfg.Report, lost)
	if err != nil {
		return err
	}
	p.logCmd, p.watcher = cmd, w
	return nil
}

// startLogStream starts `log stream` with the predicate of tag and a
// watcher on its output, and waits until it streams.
func startLogStream(tools Tools, tag string, rules []string, report func(Blocked), lost func()) (*exec.Cmd, *logWatcher, error) {
	cmd := exec.Command(tools.Log, "stream", "--style", "ndjson", "--predicate", logPredicate(tag))
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("log stream: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("log stream: %w", err)
	}
	w := newLogWatcher(tag, rules, report)
	w.lost = lost
	go w.run(out)
	if !w.waitReady(logStartTimeout) {
		w.stop()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "it did not start streaming"
		}
		return nil, nil, fmt.Errorf("cannot read the system log (%s stream: %s)", tools.Log, msg)
	}
	// The banner comes before the stream is connected: a message of
	// sbshim's own, seen coming through, shows that it is. Without it
	// (logger missing or slow) the stream is used as it is.
	mark := exec.Command(tools.Logger, "--", readyMarker(tag))
	mark.Env = []string{}
	if mark.Run() == nil {
		w.waitMarked(logMarkTimeout)
	}
	return cmd, w, nil
}
