package netproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A request head longer than MaxHeadBytes is answered 431, not read on.
func TestRequestHeadIsBounded(t *testing.T) {
	up := &pipeUpstream{}
	h := startHarness(t, &Server{Rules: mustRules(t, []string{"svc.test"}, nil), Dial: up.dial,
		LocalAddrs: func() ([]netip.Prefix, error) { return nil, nil }},
		map[string][]string{"svc.test": {"203.0.113.9"}})
	c := dialHarness(t, h.addr)
	req := "GET http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\nX-Filler: " + strings.Repeat("a", MaxHeadBytes+1) + "\r\n\r\n"
	go func() { _, _ = io.WriteString(c, req) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
	if n := up.count(); n != 0 {
		t.Fatalf("%d connections dialled", n)
	}
}

// At MaxConns open connections, one more is closed at once and reported
// once; the proxy serves again when connections end.
func TestConnectionLimit(t *testing.T) {
	up := &pipeUpstream{}
	h := startHarness(t, &Server{Rules: mustRules(t, []string{"svc.test"}, nil), Dial: up.dial, MaxConns: 2,
		LocalAddrs: func() ([]netip.Prefix, error) { return nil, nil }},
		map[string][]string{"svc.test": {"203.0.113.9"}})
	const connect = "CONNECT svc.test:443 HTTP/1.1\r\nHost: svc.test:443\r\n\r\n"
	var held []net.Conn
	for range 2 {
		c := dialHarness(t, h.addr)
		if got := statusOf(t, c, bufio.NewReader(c), connect); got != 200 {
			t.Fatalf("connection %d: status %d", len(held)+1, got)
		}
		held = append(held, c)
	}
	for i := range 3 {
		c := dialHarness(t, h.addr)
		_, _ = io.WriteString(c, connect)
		n, err := c.Read(make([]byte, 64))
		if n != 0 || err == nil || isTimeout(err) {
			t.Fatalf("connection over the limit (#%d): read %d bytes, %v; want it closed", i+1, n, err)
		}
	}
	ref := h.refusals()
	if len(ref) != 1 || !strings.HasPrefix(ref[0].Reason, ReasonConnLimit) || ref[0].Target() != "proxy" {
		t.Fatalf("refusals %+v, want one %q", ref, ReasonConnLimit)
	}
	for _, c := range held {
		c.Close()
	}
	// The two end in their own time; a new connection is served once one
	// has.
	for deadline := time.Now().Add(waitCap); ; {
		c := dialHarness(t, h.addr)
		if statusOf(t, c, bufio.NewReader(c), connect) == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection served after the held ones closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flakyListener fails its first Accepts with errs, then accepts.
type flakyListener struct {
	net.Listener
	mu   sync.Mutex
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// Out of descriptors (or memory) in Accept, the proxy waits and retries;
// it serves again once Accept works, and says once that it retried.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EMFILE} {
		errs = append(errs, &net.OpError{Op: "accept", Net: "tcp", Addr: ln.Addr(), Err: os.NewSyscallError("accept4", e)})
	}
	fl := &flakyListener{Listener: ln, errs: errs}
	var mu sync.Mutex
	var warnings []string
	up := &pipeUpstream{}
	s := &Server{Rules: mustRules(t, []string{"svc.test"}, nil), Dial: up.dial,
		LocalAddrs: func() ([]netip.Prefix, error) { return nil, nil },
		Resolve: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("203.0.113.9")}, nil
		},
		Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() },
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, fl) }()
	c := dialHarness(t, ln.Addr().String())
	if got := statusOf(t, c, bufio.NewReader(c), "CONNECT svc.test:443 HTTP/1.1\r\n\r\n"); got != 200 {
		t.Fatalf("status %d after Accept failures, want 200", got)
	}
	c.Close()
	select {
	case err := <-served:
		t.Fatalf("Serve returned early: %v", err)
	default:
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "too many open files") {
		t.Fatalf("warnings %q, want one about the first failure", warnings)
	}
}

// Accept errors that mean the listener is gone end Serve.
func TestAcceptFatalErrors(t *testing.T) {
	for _, e := range []error{net.ErrClosed, os.NewSyscallError("accept4", syscall.EBADF), os.NewSyscallError("accept4", syscall.EINVAL)} {
		if !fatalAccept(&net.OpError{Op: "accept", Err: e}) {
			t.Errorf("%v: not fatal", e)
		}
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EPERM} {
		if fatalAccept(&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", e)}) {
			t.Errorf("%v: fatal", e)
		}
	}
}

// scriptedUpstream is a Dial whose peer runs script on its end.
func scriptedUpstream(script func(net.Conn)) func(context.Context, netip.AddrPort) (net.Conn, error) {
	return func(context.Context, netip.AddrPort) (net.Conn, error) {
		a, b := net.Pipe()
		go func() { defer b.Close(); script(b) }()
		return a, nil
	}
}

// waitClosed reads from c until it fails, and says whether that was the
// connection ending rather than the failure deadline.
func waitClosed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(waitCap))
	_, err := io.Copy(io.Discard, c)
	return err == nil || !isTimeout(err)
}

// Connections in which nothing moves are closed: a client that says
// nothing, a tunnel idle both ways, a plain-HTTP exchange whose upstream
// or client stalls; one busy in a single direction stays open.
func TestIdleConnectionsAreClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	tests := []struct {
		name     string
		upstream func(net.Conn) // runs on the upstream's end; nil: not dialled
		client   func(t *testing.T, c net.Conn, br *bufio.Reader)
	}{
		{"client says nothing", nil, func(t *testing.T, c net.Conn, br *bufio.Reader) {}},
		{"client stops in the request head", nil, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "GET http://svc.test/ HTTP/1.1\r\n")
		}},
		{"kept-alive connection waits for a request", func(u net.Conn) {
			br := bufio.NewReader(u)
			for {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(u, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			if got := statusOf(t, c, br, "GET http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\n\r\n"); got != 200 {
				t.Fatalf("status %d", got)
			}
		}},
		{"CONNECT tunnel idle both ways", func(u net.Conn) { io.Copy(io.Discard, u) }, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			if got := statusOf(t, c, br, "CONNECT svc.test:443 HTTP/1.1\r\n\r\n"); got != 200 {
				t.Fatalf("status %d", got)
			}
		}},
		{"SOCKS5 tunnel idle both ways", func(u net.Conn) { io.Copy(io.Discard, u) }, nil},
		{"tunnel whose client does not read", func(u net.Conn) {
			b := make([]byte, 64<<10)
			for {
				if _, err := u.Write(b); err != nil {
					return
				}
			}
		}, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			if got := statusOf(t, c, br, "CONNECT svc.test:443 HTTP/1.1\r\n\r\n"); got != 200 {
				t.Fatalf("status %d", got)
			}
		}},
		{"upstream stalls the response body", func(u net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(u)); err != nil {
				return
			}
			io.WriteString(u, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst ten.")
			io.Copy(io.Discard, u)
		}, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "GET http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\n\r\n")
		}},
		{"upstream stalls a chunked response", func(u net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(u)); err != nil {
				return
			}
			io.WriteString(u, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
			io.Copy(io.Discard, u)
		}, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "GET http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\n\r\n")
		}},
		{"client stalls the request body", func(u net.Conn) { io.Copy(io.Discard, u) }, func(t *testing.T, c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "POST http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 100\r\n\r\nfirst ten.")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upDone := make(chan struct{})
			dial := func(context.Context, netip.AddrPort) (net.Conn, error) {
				return nil, errors.New("not dialled in this case")
			}
			if tt.upstream != nil {
				dial = scriptedUpstream(func(u net.Conn) { defer close(upDone); tt.upstream(u) })
			} else {
				close(upDone)
			}
			h := startHarness(t, &Server{Rules: mustRules(t, []string{"svc.test"}, nil), Dial: dial,
				LocalAddrs:       func() ([]netip.Prefix, error) { return nil, nil },
				HandshakeTimeout: idle, IdleTimeout: idle},
				map[string][]string{"svc.test": {"203.0.113.9"}})
			var c net.Conn
			if tt.client == nil {
				var code byte
				code, c = socksDial(t, h.addr, "svc.test", 443)
				if code != 0 {
					t.Fatalf("socks5 reply %d", code)
				}
				defer c.Close()
			} else {
				c = dialHarness(t, h.addr)
				tt.client(t, c, bufio.NewReader(c))
			}
			// The upstream's end first: a client that did not read must
			// not make its tunnel busy again by reading now.
			select {
			case <-upDone:
			case <-time.After(waitCap):
				t.Fatal("the upstream connection was kept open")
			}
			if !waitClosed(c) {
				t.Fatal("the proxy kept the idle connection open")
			}
		})
	}
}

// A tunnel in which bytes move one way only, slowly, is not idle.
func TestBusyTunnelIsKept(t *testing.T) {
	const idle = time.Second
	const beats = 15
	h := startHarness(t, &Server{Rules: mustRules(t, []string{"svc.test"}, nil),
		LocalAddrs:  func() ([]netip.Prefix, error) { return nil, nil },
		IdleTimeout: idle,
		Dial: scriptedUpstream(func(u net.Conn) {
			for range beats {
				time.Sleep(idle / 10)
				if _, err := io.WriteString(u, "."); err != nil {
					return
				}
			}
		})},
		map[string][]string{"svc.test": {"203.0.113.9"}})
	c := dialHarness(t, h.addr)
	br := bufio.NewReader(c)
	if got := statusOf(t, c, br, "CONNECT svc.test:443 HTTP/1.1\r\n\r\n"); got != 200 {
		t.Fatalf("status %d", got)
	}
	got, err := io.ReadAll(br)
	if err != nil || len(got) != beats {
		t.Fatalf("got %q, %v; want %d beats then the end", got, err, beats)
	}
}
