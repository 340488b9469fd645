package shim

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
	"github.com/sbshim/sbshim/shim/audit"
	"golang.org/x/term"
)

// stderrHold is how long sbshim's own stderr lines wait for the program to
// finish a line it started before they go out on a line of their own.
const stderrHold = time.Second

// Run runs one session and returns the exit status sbshim should end with:
// the command's own, 128+N for a signal, or 125/126/127 for sbshim's errors
// (DESIGN.md, "Exit status"). stderr receives sbshim's own lines.
//
// When stdin is a terminal (or --pty), the command gets a terminal of its
// own inside the sandbox, relayed to the user's (PTY mode). Otherwise, when
// stdout is not a terminal — an MCP client's pipes — the command's stdio is
// relayed through sbshim, which follows the MCP messages and keeps the
// audit log; on a terminal the command gets the terminal itself.
//
// With SBSHIM_TRACE_START=1 in sbshim's own environment, sbshim writes to
// stderr, once the command has exited, when each phase of the start was
// reached, in sbshim and in the sandbox's init.
func Run(o Options, stderr io.Writer) int {
	if os.Getenv("SBSHIM_TRACE_START") == "1" {
		o.trace = isolation.NewStartTrace(time.Now())
		defer func() { _, _ = o.trace.WriteTo(stderr) }()
	}
	// A client that closes its end of sbshim's stdout or stderr (some close
	// stderr together with stdin) must not kill sbshim before it has shut
	// the session down and written session_end: with SIGPIPE caught, such
	// writes fail with EPIPE instead. Caught, not ignored: an ignored
	// signal would stay ignored in the command after exec.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	return run(o, streams{stdin: os.Stdin, stdout: os.Stdout, stderr: stderr})
}

func run(o Options, st streams) int {
	stderr := st.stderr
	// The sandbox's init is forked into its namespaces, and its runtime
	// starts, while the policy loads and its spec is built.
	o.prefork = isolation.Prefork(o.trace)
	defer o.prefork.Discard()
	pol, err := o.Policy()
	o.trace.Mark("policy loaded")
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		recordStartFailure(o, err, isolation.ExitSetup, stderr)
		return isolation.ExitSetup
	}
	fmt.Fprint(stderr, WorkspaceNotice(o, pol))
	if err := os.MkdirAll(pol.Vars.Cache, 0o700); err != nil {
		// Inside another sbshim the home is read-only: the command
		// runs without a private cache rather than not at all.
		fmt.Fprintf(stderr, "sbshim: warning: private cache %s: %v\n", pol.Vars.Cache, err)
	}
	// The agent's private state folders, copied from the real ones the
	// first time and their credentials refreshed every time. A failure
	// leaves that agent without its settings, not without a sandbox.
	if err := pol.PrepareAgentState(); err != nil {
		fmt.Fprintf(stderr, "sbshim: warning: %v\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if pol.Network.Mode == policy.NetHost {
		fmt.Fprintln(stderr, "sbshim: warning: network mode \"host\": the command shares this machine's network, unfiltered")
	}
	if line := heldBackLine(pol.EnvHeldBack(os.Environ())); line != "" && pol.Report.Stderr {
		fmt.Fprint(stderr, line)
	}
	o.trace.Mark("cache, agent state, environment notice")
	s := &Session{
		opts:    o,
		pol:     pol,
		server:  o.serverName(),
		id:      audit.NewSessionID(),
		start:   time.Now(),
		out:     newLineMux(st.stdout, 0),
		errw:    newLineMux(stderr, stderrHold),
		tracker: mcp.NewTracker(mcp.TrackerOptions{ArgumentsLimit: argumentsLimit + 1}),
		proto:   mcp.NewProtocol(),

		mcpStarted: make(chan struct{}),
	}
	s.rep = newReporter(s)
	if err := s.openAudit(); err != nil {
		if o.Strict {
			fmt.Fprintf(stderr, "sbshim: %v (--strict)\n", err)
			return isolation.ExitSetup
		}
		s.warn(err.Error())
	}
	o.trace.Mark("session and audit log opened")
	if o.PTY.usePTY(isTerminal(st.stdin)) {
		return s.runPTY(st)
	}
	if o.PTY == PTYOff && term.IsTerminal(int(os.Stdout.Fd())) {
		// --no-pty on a terminal: the command gets the terminal itself,
		// as asked, unfiltered. Otherwise a terminal on stdout or stderr
		// is written through the terminal filter (see Session.run).
		return s.runInherited()
	}
	return s.run(st)
}

// auditPath is the audit log of server under o: --audit-log, or the
// default; "" for none.
func auditPath(o Options, server string) (string, error) {
	switch o.AuditLog {
	case "-":
		return "", nil
	case "":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("audit log: %w", err)
		}
		return audit.PathFor(audit.DefaultDir(os.Getenv, home), server), nil
	}
	return o.AuditLog, nil
}

// recordStartFailure writes the start_failed record of a session that
// failed before it had a policy (a bad config), so that the audit log
// shows that the server never started. A log that cannot be written gets
// one warning.
func recordStartFailure(o Options, cause error, code int, stderr io.Writer) {
	server := o.serverName()
	path, err := auditPath(o, server)
	if err == nil && path != "" {
		var w *audit.Writer
		if w, err = audit.Open(path, server, audit.NewSessionID()); err == nil {
			err = w.Write(audit.Record{Type: audit.TypeStartFailed, Command: o.Argv, PID: os.Getpid(),
				ExitCode: &code, Error: cause.Error()})
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: warning: %s\n", audit.Escape(err.Error()))
	}
}

// openAudit opens the session's audit log.
func (s *Session) openAudit() error {
	path, err := auditPath(s.opts, s.server)
	if err != nil || path == "" {
		return err
	}
	w, err := audit.Open(path, s.server, s.id)
	if err != nil {
		return fmt.Errorf("%w (the session runs without one)", err)
	}
	s.audit = w
	return nil
}

// runInherited runs the command on sbshim's own stdio (a terminal):
// nothing is relayed, blocked attempts are still reported.
func (s *Session) runInherited() int {
	proc, err := isolation.Start(isolation.Config{
		Policy: s.pol,
		Argv:   s.opts.Argv,
		Strict: s.opts.Strict,
		Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Warn:      s.warn,
		Report:    s.rep.event,
		Connected: s.rep.connected,
		Trace:     s.opts.trace,
		Prefork:   s.opts.prefork,
	})
	if err != nil {
		s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
		s.rep.close()
		return s.startFailed("stdio", err)
	}
	s.sessionStart(proc.Layers())
	code, err := proc.Wait()
	if err != nil {
		s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
	}
	s.finish(code)
	return code
}
