package shim

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/mcp"
	"github.com/sbshim/sbshim/shim/audit"
)

// Defaults of the stdio shutdown sequence (the MCP stdio transport: close
// the server's stdin, wait, SIGTERM, wait, SIGKILL).
const (
	DefaultTermGrace = 2 * time.Second
	DefaultKillGrace = 2 * time.Second
)

// argumentsLimit is how much of a tools/call's arguments the audit log
// keeps when audit.arguments is on.
const argumentsLimit = 1024

// Session is one run of a command under sbshim in stdio mode: the sandbox,
// the two relay directions, the child's stderr, and the reporters.
type Session struct {
	opts   Options
	pol    *isolation.Policy
	server string
	id     string
	start  time.Time

	out        *lineMux // the one writer of client stdout
	errw       *lineMux // client stderr: the child's stderr and sbshim's lines
	tracker    *mcp.Tracker
	proto      *mcp.Protocol
	rep        *reporter
	auditMu    sync.Mutex
	audit      *audit.Writer // nil when there is no audit log
	mcpSeen    atomic.Bool   // the client sent a JSON-RPC message
	mcpStarted chan struct{} // closed when mcpSeen becomes true
	toolRuns   atomic.Int64
}

// streams are the client side of a session.
type streams struct {
	stdin          *os.File
	stdout, stderr io.Writer
}

// run starts the sandbox with pipes for its stdio and relays them until the
// command has exited and its output is drained.
func (s *Session) run(st streams) int {
	childIn, toChild, err := os.Pipe()
	if err != nil {
		return s.fail(err)
	}
	fromChild, childOut, err := os.Pipe()
	if err != nil {
		return s.fail(err)
	}
	errFromChild, childErr, err := os.Pipe()
	if err != nil {
		return s.fail(err)
	}
	proc, err := isolation.Start(isolation.Config{
		Policy: s.pol,
		Argv:   s.opts.Argv,
		Strict: s.opts.Strict,
		Stdin:  childIn, Stdout: childOut, Stderr: childErr,
		Warn:      s.warn,
		Report:    s.rep.event,
		Connected: s.rep.connected,
	})
	childIn.Close()
	childOut.Close()
	childErr.Close()
	if err != nil {
		toChild.Close()
		fromChild.Close()
		errFromChild.Close()
		s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
		return isolation.ExitCode(err)
	}
	s.sessionStart(proc.Layers())

	exited := make(chan struct{})
	var code int
	go func() {
		c, err := proc.Wait()
		if err != nil {
			s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
		}
		code = c
		close(exited)
	}()

	var relays sync.WaitGroup
	relays.Add(2)
	go func() { defer relays.Done(); s.serverToClient(fromChild) }()
	go func() { defer relays.Done(); _, _ = io.Copy(s.errw, errFromChild); errFromChild.Close() }()
	clientEOF := make(chan struct{})
	go func() { s.clientToServer(st.stdin, toChild); close(clientEOF) }()
	s.awaitExit(proc, exited, clientEOF, hangup(st.stdin))
	<-exited
	// Everything in the sandbox is gone with its init, so the pipes reach
	// EOF; the bound guards against a descriptor held elsewhere.
	drained := make(chan struct{})
	go func() { relays.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		fromChild.Close()
		errFromChild.Close()
	}
	s.finish(code)
	return code
}

// awaitExit waits for the command to exit. Once the client is gone — its
// stdin reached EOF, or it hung up while the child left data unread — an
// MCP server gets TermGrace to exit, then SIGTERM, then KillGrace, then
// SIGKILL, as the MCP stdio transport prescribes. A command that never
// spoke MCP is left to finish on its own, like any program whose stdin
// reached EOF.
func (s *Session) awaitExit(proc *isolation.Process, exited, clientEOF, hup <-chan struct{}) {
	mcp := s.mcpStarted
	gone := false
	var timer *time.Timer
	var fire <-chan time.Time
	signals := []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}
	graces := []time.Duration{s.opts.termGrace(), s.opts.killGrace()}
	for {
		select {
		case <-exited:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-clientEOF:
			gone, clientEOF = true, nil
		case <-hup:
			gone, hup = true, nil
		case <-mcp:
			mcp = nil
		case <-fire:
			_ = proc.Signal(signals[0])
			signals = signals[1:]
			fire = nil
			if len(signals) > 0 {
				timer.Reset(graces[1])
				fire = timer.C
			}
			continue
		}
		if gone && mcp == nil && timer == nil {
			timer = time.NewTimer(graces[0])
			fire = timer.C
		}
	}
}

// clientToServer relays the client's stdin to the child's, byte for byte,
// observing each whole line. When the child stops reading (its stdin
// closed), the client's input is still consumed so the client never
// blocks on a dead pipe.
func (s *Session) clientToServer(in io.Reader, toChild *os.File) {
	fr := mcp.NewFramer(in, mcp.FramerOptions{MaxLine: s.opts.maxLine()})
	var ended []mcp.Call
	broken := false
	for {
		seg, err := fr.Next()
		if err != nil {
			break
		}
		if !seg.Oversize {
			env := mcp.Decode(seg.Bytes)
			if env.Kind != mcp.KindInvalid {
				if !s.mcpSeen.Swap(true) {
					close(s.mcpStarted)
				}
				s.proto.Observe(mcp.ClientToServer, &env)
				ended = s.tracker.Observe(mcp.ClientToServer, &env, time.Now(), ended[:0])
				for _, c := range ended {
					s.callEnded(c)
				}
			}
		}
		if broken {
			continue
		}
		if _, err := toChild.Write(seg.Bytes); err != nil {
			broken = true
		}
	}
	toChild.Close()
}

// serverToClient relays the child's stdout to the client's, byte for byte,
// except that a tools/call result during which something was blocked may
// get one more text item (report.annotate).
func (s *Session) serverToClient(fromChild *os.File) {
	defer fromChild.Close()
	fr := mcp.NewFramer(fromChild, mcp.FramerOptions{MaxLine: s.opts.maxLine()})
	var ended []mcp.Call
	for {
		seg, err := fr.Next()
		if err != nil {
			return
		}
		out := seg.Bytes
		if !seg.Oversize {
			env := mcp.Decode(seg.Bytes)
			if env.Kind != mcp.KindInvalid {
				s.proto.Observe(mcp.ServerToClient, &env)
				ended = s.tracker.Observe(mcp.ServerToClient, &env, time.Now(), ended[:0])
				for _, c := range ended {
					if note := s.callEnded(c); note != "" && env.Kind == mcp.KindResponse {
						if a, err := mcp.Annotate(seg.Bytes, note); err == nil {
							out = a
						}
					}
				}
			}
		}
		if err := s.out.stream(out, seg.End); err != nil {
			// The client is gone; keep draining so the child is not
			// blocked on a full pipe while it shuts down.
			_, _ = io.Copy(io.Discard, fromChild)
			return
		}
	}
}

// callEnded writes the audit record of an ended tools/call and returns the
// annotation its result gets, if any.
func (s *Session) callEnded(c mcp.Call) string {
	if !c.IsToolCall() {
		return ""
	}
	s.toolRuns.Add(1)
	blocked, note := s.rep.callEnded(c)
	rec := audit.Record{
		Type:       "tool_call",
		Tool:       audit.Tools{c.Tool},
		RequestID:  requestID(c.ID),
		DurationMS: float64(c.Duration().Microseconds()) / 1000,
		Outcome:    string(c.Outcome),
		Blocked:    blocked,
		Net:        s.rep.callNet(c),
	}
	if s.pol.Audit.Arguments {
		rec.Arguments = auditArguments(c.Arguments)
	}
	s.record(rec)
	if !s.pol.Report.Annotate {
		return ""
	}
	return note
}

func (s *Session) sessionStart(l isolation.Layers) {
	s.record(audit.Record{
		Type:    "session_start",
		Command: s.opts.Argv,
		Profile: s.pol.Name,
		Mode:    "stdio",
		Layers:  l,
		PID:     os.Getpid(),
	})
}

// finish ends the calls still in flight as no_response, flushes the
// reporters and writes session_end.
func (s *Session) finish(code int) {
	for _, c := range s.tracker.Drain(time.Now()) {
		s.callEnded(c)
	}
	total := s.rep.close()
	s.out.flush(false)
	c := code
	s.record(audit.Record{
		Type:       "session_end",
		ExitCode:   &c,
		DurationMS: float64(time.Since(s.start).Microseconds()) / 1000,
		ToolCalls:  int(s.toolRuns.Load()),
		Blocked:    total,
		Net:        s.rep.sessionConnections(),
	})
	s.errw.flush(true)
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.audit != nil {
		if err := s.audit.Close(); err != nil {
			s.errw.message(fmt.Appendf(nil, "sbshim: warning: audit log: %v\n", err))
		}
		s.audit = nil
	}
}

// record appends to the audit log; a failing log is reported once.
func (s *Session) record(r audit.Record) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.audit == nil {
		return
	}
	if err := s.audit.Write(r); err != nil {
		s.warn(fmt.Sprintf("audit log: %v (no further records)", err))
		_ = s.audit.Close()
		s.audit = nil
	}
}

func (s *Session) warn(msg string) {
	s.errw.message(fmt.Appendf(nil, "sbshim: warning: %s\n", msg))
}

func (s *Session) fail(err error) int {
	s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
	return isolation.ExitSetup
}

// requestID is the id as the audit log shows it: a string's value, a
// number's text.
func requestID(raw string) string {
	if len(raw) >= 2 && raw[0] == '"' {
		var v string
		if err := jsonUnmarshalString(raw, &v); err == nil {
			return v
		}
	}
	return raw
}
