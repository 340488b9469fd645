package netproxy

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// idleGuard ends a client's connection, and what the proxy opened for it,
// once no byte has moved through them in either direction for a while.
// Readers and copies call touch when bytes move; a timer checks.
type idleGuard struct {
	timeout time.Duration
	last    atomic.Int64 // time.Now().UnixNano() of the last progress
	fired   atomic.Bool
	timer   *time.Timer
	onIdle  func()
}

// newIdleGuard starts a guard that calls onIdle once no progress has been
// reported for timeout.
func newIdleGuard(timeout time.Duration, onIdle func()) *idleGuard {
	g := &idleGuard{timeout: timeout, onIdle: onIdle}
	g.touch()
	g.timer = time.AfterFunc(timeout, g.check)
	return g
}

// touch records progress.
func (g *idleGuard) touch() { g.last.Store(time.Now().UnixNano()) }

func (g *idleGuard) check() {
	idle := time.Since(time.Unix(0, g.last.Load()))
	if idle < g.timeout {
		g.timer.Reset(g.timeout - idle)
		return
	}
	g.fired.Store(true)
	g.onIdle()
}

// stop ends the guard; onIdle is not called after it returns unless it
// was already running.
func (g *idleGuard) stop() { g.timer.Stop() }

// tick is how often a copy that moves bytes reports it: a quarter of the
// timeout, so that a connection is closed between timeout and 1¼ timeout
// after its last byte.
func (g *idleGuard) tick() time.Duration { return max(g.timeout/4, time.Millisecond) }

// copyChunk is how much one splice of copyTicking moves before it reports
// progress (the kernel moves at most 1 MiB per splice call anyway).
const copyChunk = 1 << 20

// copyTicking copies n bytes (n < 0: until EOF) from src to dst and tells
// g of progress at least every g.tick(): each read waits at most that long
// (a read deadline on src, which loses no data), so that bytes moving
// slowly through a splice are still seen. No write deadline is set: a
// write that blocks is ended by g closing the connections. Between TCP
// connections the copy still splices in the kernel.
func copyTicking(dst io.Writer, src net.Conn, n int64, g *idleGuard) (int64, error) {
	defer func() { _ = src.SetReadDeadline(time.Time{}) }()
	var total int64
	for n < 0 || total < n {
		chunk := int64(copyChunk)
		if n >= 0 {
			chunk = min(chunk, n-total)
		}
		_ = src.SetReadDeadline(time.Now().Add(g.tick()))
		m, err := io.Copy(dst, io.LimitReader(src, chunk))
		total += m
		if m > 0 {
			g.touch()
		}
		if err != nil {
			if isTimeout(err) && !g.fired.Load() {
				continue
			}
			return total, err
		}
		if m < chunk {
			if n >= 0 {
				return total, io.ErrUnexpectedEOF
			}
			return total, nil
		}
	}
	return total, nil
}

// errHeadTooLarge ends the reading of a request head longer than
// MaxHeadBytes.
var errHeadTooLarge = errors.New("request head too large")

// clientReader is what the proxy reads a client's connection through. It
// tells the idle guard of every byte, and while a request head is being
// read (startHead … endHead) it keeps a copy of the bytes it hands out and
// stops after MaxHeadBytes (plus one buffer of read-ahead).
type clientReader struct {
	c         net.Conn
	g         *idleGuard
	recording bool
	tooLarge  bool
	left      int
	rec       []byte
}

func (r *clientReader) Read(p []byte) (int, error) {
	if r.recording {
		if r.left <= 0 {
			r.tooLarge = true
			return 0, errHeadTooLarge
		}
		if len(p) > r.left {
			p = p[:r.left]
		}
	}
	n, err := r.c.Read(p)
	if n > 0 {
		r.g.touch()
		if r.recording {
			r.rec = append(r.rec, p[:n]...)
			r.left -= n
		}
	}
	return n, err
}

// startHead begins recording the next request head, which starts with
// what br holds already.
func (r *clientReader) startHead(br interface {
	Buffered() int
	Peek(int) ([]byte, error)
}) {
	b, _ := br.Peek(br.Buffered())
	r.rec = append(r.rec[:0], b...)
	r.recording, r.tooLarge = true, false
	r.left = MaxHeadBytes + 4096 - len(b)
}

// endHead stops recording and returns the bytes that begin with the
// request head (and may go on into its body).
func (r *clientReader) endHead() []byte {
	r.recording = false
	head := r.rec
	if cap(r.rec) > 8<<10 {
		r.rec = nil // a long head's buffer is not kept for the next one
	}
	return head
}

// touchReader tells g of every byte read from r.
type touchReader struct {
	r io.Reader
	g *idleGuard
}

func (t touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.g.touch()
	}
	return n, err
}
