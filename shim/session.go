package shim

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
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
	pol    *policy.Policy
	server string
	id     string
	start  time.Time

	out        *lineMux // the one writer of client stdout
	errw       *lineMux // client stderr: the child's stderr and sbshim's lines
	tracker    *mcp.Tracker
	proto      *mcp.Protocol
	rep        *reporter
	auditMu    sync.Mutex
	audit      *audit.Writer  // nil when there is no audit log
	auditQueue []audit.Record // tool_call records waiting to be written
	auditTimer *time.Timer    // writes them, when they wait
	mcpSeen    atomic.Bool    // the client sent a JSON-RPC message
	mcpStarted chan struct{}  // closed when mcpSeen becomes true
	// serving tells the sandbox that the server answers its client (nil
	// outside a sandbox's relay): see serverToClient.
	serving  func()
	toolRuns atomic.Int64
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
	limitHeap(s.opts.maxLine())
	// Pipes of relayPipe bytes: a big message crosses each hop in a few
	// writes, and the relay is woken a few times per megabyte instead of
	// once per page the reader takes. The client's pipes are sbshim's stdio:
	// they are only ever grown.
	for _, f := range []*os.File{toChild, fromChild, st.stdin} {
		growPipe(f, relayPipe)
	}
	if f, ok := st.stdout.(*os.File); ok {
		growPipe(f, relayPipe)
	}
	// sbshim's own ends of the client's pipes, non-blocking so that the
	// runtime's poller serves them like the child's: a relay goroutine
	// waiting for input is parked, not a thread blocked in read(2), which
	// the scheduler would hand its P away from and back on every message.
	in := pollable(st.stdin, os.O_RDONLY)
	if f, ok := st.stdout.(*os.File); ok {
		if out := pollable(f, os.O_WRONLY); out != f {
			s.out.setWriter(rawIO(out))
			defer func() {
				s.out.setWriter(f)
				out.Close()
			}()
		}
	}
	// A terminal on stdout or stderr gets what the command writes there
	// through the same filter as PTY mode: the sandbox may draw, not set
	// the clipboard or type answers into the user's input (see
	// termfilter.go). Pipes, as MCP clients use, stay byte for byte.
	errSink := io.Writer(s.errw)
	if f, ok := st.stderr.(*os.File); ok && isTerminal(f) {
		errSink = newTermWriter(s.errw, userTerminalIsUTF8())
	}
	if f, ok := st.stdout.(*os.File); ok && isTerminal(f) {
		s.out.setWriter(newTermWriter(s.out.w, userTerminalIsUTF8()))
	}
	proc, err := isolation.Start(isolation.Config{
		Policy: s.pol,
		Argv:   s.opts.Argv,
		Strict: s.opts.Strict,
		Stdin:  childIn, Stdout: childOut, Stderr: childErr,
		Warn:      s.warn,
		Report:    s.rep.event,
		Connected: s.rep.connected,
		Trace:     s.opts.trace,
		Prefork:   s.opts.prefork,
	})
	s.opts.trace.Mark("sandbox started")
	childIn.Close()
	childOut.Close()
	childErr.Close()
	if err != nil {
		toChild.Close()
		fromChild.Close()
		errFromChild.Close()
		s.say(err.Error())
		return s.startFailed("stdio", err)
	}
	s.sessionStart(proc.Layers())
	s.opts.trace.Mark("session_start recorded")
	s.serving = proc.Serving

	exited, code := s.waitInBackground(proc)

	var relays sync.WaitGroup
	relays.Add(2)
	go func() { defer relays.Done(); s.serverToClient(fromChild) }()
	go func() {
		defer relays.Done()
		_, _ = io.Copy(&serverStderr{w: errSink}, errFromChild)
		errFromChild.Close()
	}()
	clientEOF := make(chan struct{})
	go func() {
		s.clientToServer(in, toChild)
		if in != st.stdin {
			in.Close()
		}
		close(clientEOF)
	}()
	s.awaitExit(proc, exited, clientEOF, hangup(st.stdin))
	<-exited
	s.opts.trace.Mark("sandbox exited")
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
	s.finish(*code)
	return *code
}

// waitInBackground waits for the sandbox to end: exited is closed then,
// and *code holds the command's exit status from that moment on.
func (s *Session) waitInBackground(proc *isolation.Process) (exited <-chan struct{}, code *int) {
	done := make(chan struct{})
	code = new(int)
	go func() {
		c, err := proc.Wait()
		if err != nil {
			s.say(err.Error())
		}
		*code = c
		close(done)
	}()
	return done, code
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

// relayBuffer is the first read buffer of each relay direction: large
// enough that a burst of messages, or a big one, takes few reads.
const relayBuffer = 256 << 10

// relayPipe is the size of the relay's pipes (64 KiB by default). The
// kernel counts pipe buffers against a per-user allowance (64 MiB unless
// fs.pipe-user-pages-soft says otherwise; past it, new pipes get 8 KiB):
// four of these, 1 MiB, per sbshim.
const relayPipe = 256 << 10

// clientToServer relays the client's stdin to the child's, byte for byte,
// observing each whole line. A line's bytes are passed on as they arrive,
// except its last piece, which waits until the tracker has seen the
// request: the server cannot answer a call the tracker does not know yet.
// When the child stops reading (its stdin closed), the client's input is
// still consumed so the client never blocks on a dead pipe.
func (s *Session) clientToServer(in *os.File, toChild *os.File) {
	w := rawIO(toChild)
	fr := mcp.NewFramer(rawIO(in), mcp.FramerOptions{
		MaxLine:       s.opts.maxLine(),
		InitialBuffer: relayBuffer,
		CutThrough:    func() bool { return true },
	})
	out := batch{write: func(p []byte, _ bool) error {
		_, err := w.Write(p)
		return err
	}}
	var ended []mcp.Call
	broken := false
	for {
		seg, err := fr.Next()
		if err != nil {
			break
		}
		if seg.Line != nil {
			env := mcp.Decode(seg.Line)
			if env.Kind != mcp.KindInvalid {
				if !s.mcpSeen.Load() && !s.mcpSeen.Swap(true) {
					close(s.mcpStarted)
				}
				s.proto.Observe(mcp.ClientToServer, &env)
				ended = s.tracker.Observe(mcp.ClientToServer, &env, time.Now(), ended[:0])
				for _, c := range ended {
					s.callEnded(c)
				}
			}
		}
		if !broken && len(seg.Bytes) > 0 && out.add(seg.Bytes, seg.End) != nil {
			broken = true
		}
		if !fr.Ready() && !broken && out.flush() != nil {
			broken = true
		}
	}
	if !broken {
		_ = out.flush()
	}
	toChild.Close()
}

// serverToClient relays the child's stdout to the client's, byte for byte,
// except that a tools/call result during which something was blocked may
// get one more text item (report.annotate). Lines are passed on as they
// arrive (cut-through) unless a call in flight saw a block: then each line
// is held until it is complete, so that the one answering that call can
// be annotated.
func (s *Session) serverToClient(fromChild *os.File) {
	defer fromChild.Close()
	annotate := s.pol.Report.Annotate
	fr := mcp.NewFramer(rawIO(fromChild), mcp.FramerOptions{
		MaxLine:       s.opts.maxLine(),
		InitialBuffer: relayBuffer,
		CutThrough:    func() bool { return !annotate || !s.rep.blocksPending() },
	})
	out := batch{write: s.out.stream}
	var ended []mcp.Call
	// account decodes and tracks a whole line and returns what to pass on
	// for it: the line's last piece, or the whole line with one more
	// content item when it answers a call that saw a block.
	account := func(seg mcp.Segment) []byte {
		p := seg.Bytes
		env := mcp.Decode(seg.Line)
		if env.Kind == mcp.KindInvalid {
			return p
		}
		s.proto.Observe(mcp.ServerToClient, &env)
		ended = s.tracker.Observe(mcp.ServerToClient, &env, time.Now(), ended[:0])
		for _, c := range ended {
			note := s.callEnded(c)
			// A line already partly passed on cannot be changed:
			// its blocks are reported on the other channels.
			if note != "" && env.Kind == mcp.KindResponse && seg.Whole() {
				if a, err := mcp.Annotate(seg.Line, note); err == nil {
					p = a
				}
			}
		}
		return p
	}
	for {
		seg, err := fr.Next()
		if err != nil {
			break
		}
		// When no call in flight saw a block, no annotation can apply:
		// the end of the line goes out first and is accounted for after,
		// off the round trip's path.
		later := seg.Line != nil && !(annotate && s.rep.blocksPending())
		p := seg.Bytes
		if seg.Line != nil && !later {
			p = account(seg)
		}
		err = out.add(p, seg.End)
		if err == nil && !fr.Ready() {
			err = out.flush()
		}
		if s.serving != nil && seg.Line != nil {
			// The server's first whole line: it has started.
			s.serving()
			s.serving = nil
		}
		if err != nil {
			// The client is gone; keep draining so the child is not
			// blocked on a full pipe while it shuts down.
			_, _ = io.Copy(io.Discard, fromChild)
			return
		}
		if later {
			account(seg)
		}
	}
	_ = out.flush()
}

// batchLine is the longest line a batch copies; longer ones are written
// straight from the Framer's buffer.
const (
	batchLine = 4 << 10
	batchSize = 64 << 10
)

// batch gathers the small whole lines of a burst so that they go out in
// one write; anything else is written at once, after what was gathered.
type batch struct {
	buf   []byte
	write func(p []byte, end bool) error // end: p ends a line
}

// add passes on p; end says p ends a line.
func (b *batch) add(p []byte, end bool) error {
	if end && len(p) <= batchLine {
		if b.buf == nil {
			b.buf = make([]byte, 0, batchSize)
		}
		if len(p) <= cap(b.buf)-len(b.buf) {
			b.buf = append(b.buf, p...)
			return nil
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	return b.write(p, end)
}

// flush writes what was gathered.
func (b *batch) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	err := b.write(b.buf, true)
	b.buf = b.buf[:0]
	return err
}

// callEnded queues the audit record of an ended tools/call and returns
// the annotation its result gets, if any.
func (s *Session) callEnded(c mcp.Call) string {
	if !c.IsToolCall() {
		return ""
	}
	s.toolRuns.Add(1)
	blocked, note := s.rep.callEnded(c)
	rec := audit.Record{
		TS:         c.End,
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

		ReportKeySHA256: s.rep.keyDigest(),
	})
}

// finish ends the calls still in flight as no_response, flushes the
// reporters and writes session_end.
func (s *Session) finish(code int) {
	for _, c := range s.tracker.Drain(time.Now()) {
		s.callEnded(c)
	}
	total, unlisted := s.rep.closeCounts()
	s.out.flush(false)
	c := code
	s.record(audit.Record{
		Type:       "session_end",
		ExitCode:   &c,
		DurationMS: float64(time.Since(s.start).Microseconds()) / 1000,
		ToolCalls:  int(s.toolRuns.Load()),
		Blocked:    total,
		Dropped:    unlisted,
		Net:        s.rep.sessionConnections(),
	})
	s.errw.flush(true)
	s.closeAudit()
}

// closeAudit writes what is pending and closes the audit log.
func (s *Session) closeAudit() {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	s.writeAuditLocked()
	if s.audit != nil {
		if err := s.audit.Close(); err != nil {
			s.warn(fmt.Sprintf("audit log: %v", err))
		}
		s.audit = nil
	}
}

// Audit records of tool calls are written in batches: one write(2) for
// all those that came within auditDelay, or auditBatch of them.
const (
	auditDelay = 100 * time.Millisecond
	auditBatch = 256
)

// record appends to the audit log; a failing log is reported once. A
// tool_call record waits to be written with others (auditDelay at most);
// any other record is written at once, after those waiting.
func (s *Session) record(r audit.Record) {
	if r.TS.IsZero() {
		r.TS = time.Now()
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.audit == nil {
		return
	}
	s.auditQueue = append(s.auditQueue, r)
	switch {
	case r.Type != "tool_call" || len(s.auditQueue) >= auditBatch:
		s.writeAuditLocked()
	case s.auditTimer == nil:
		s.auditTimer = time.AfterFunc(auditDelay, s.flushAudit)
	}
}

// flushAudit writes the records waiting.
func (s *Session) flushAudit() {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	s.writeAuditLocked()
}

func (s *Session) writeAuditLocked() {
	if s.auditTimer != nil {
		s.auditTimer.Stop()
		s.auditTimer = nil
	}
	q := s.auditQueue
	s.auditQueue = q[:0]
	defer clear(q)
	if s.audit == nil || len(q) == 0 {
		return
	}
	if err := s.audit.WriteAll(q); err != nil {
		s.warn(fmt.Sprintf("audit log: %v (no further records)", err))
		_ = s.audit.Close()
		s.audit = nil
	}
}

// warn writes one "sbshim: warning: ..." line on stderr.
func (s *Session) warn(msg string) {
	s.say("warning: " + msg)
}

// fail reports an error of sbshim's own before the command started.
func (s *Session) fail(err error) int {
	s.say(err.Error())
	return s.startFailed("stdio", err)
}

// startFailed writes the start_failed record of a session whose command
// never started, closes the audit log, and returns sbshim's exit status
// for err (isolation.ExitCode).
func (s *Session) startFailed(mode string, err error) int {
	code := isolation.ExitCode(err)
	s.record(audit.Record{
		Type:     audit.TypeStartFailed,
		Command:  s.opts.Argv,
		Profile:  s.pol.Name,
		Mode:     mode,
		PID:      os.Getpid(),
		ExitCode: &code,
		Error:    err.Error(),
	})
	s.closeAudit()
	return code
}

// say writes one line of sbshim's own on stderr: "sbshim: " and msg,
// escaped (audit.Escape), so that what msg quotes — a path, a host, a
// message from the sandbox — can neither break the line nor drive the
// terminal.
func (s *Session) say(msg string) {
	s.sayEscaped(audit.Escape(msg))
}

// sayEscaped writes "sbshim: " and msg as one line on stderr; every name
// in msg must have gone through audit.Escape already.
func (s *Session) sayEscaped(msg string) {
	s.errw.message([]byte("sbshim: " + msg + "\n"))
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

// limitHeap gives the garbage collector a soft limit near what a session
// can hold live at most: its two line buffers at the parse cap, plus room
// for the rest (calls in flight, batches). A line over a megabyte grows a
// buffer by doubling, and with the default GOGC the heap could reach twice
// the buffers before a collection; near the limit the collector runs
// sooner instead. An ordinary session's heap, a few megabytes, never gets
// near it. GOMEMLIMIT, when set, wins.
func limitHeap(maxLine int) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(2*(maxLine+1)) + heapHeadroom)
	}
}

// heapHeadroom is the heap limit's room beyond the line buffers.
const heapHeadroom = 24 << 20
