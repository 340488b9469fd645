package netproxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitCap bounds every wait of these tests for something that must
// happen; it is a failure deadline, not a measurement.
const waitCap = 20 * time.Second

// dialHarness connects to the proxy with a failure deadline.
func dialHarness(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitCap)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(waitCap))
	t.Cleanup(func() { c.Close() })
	return c
}

// statusOf sends a CONNECT or GET through the proxy and returns the
// status code of the answer, 0 if there was none.
func statusOf(t *testing.T, c net.Conn, br *bufio.Reader, req string) int {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return 0
	}
	if method != http.MethodConnect || resp.StatusCode != 200 {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	return resp.StatusCode
}

// pipeUpstream is a Dial that records the addresses dialled and connects
// each to an in-memory peer that answers one plain-HTTP request with "ok"
// and otherwise holds the connection open until it is closed.
type pipeUpstream struct {
	mu     sync.Mutex
	dialed []netip.AddrPort
}

func (p *pipeUpstream) dial(_ context.Context, ap netip.AddrPort) (net.Conn, error) {
	p.mu.Lock()
	p.dialed = append(p.dialed, ap)
	p.mu.Unlock()
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		if _, err := http.ReadRequest(bufio.NewReader(b)); err != nil {
			return
		}
		_, _ = io.WriteString(b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	}()
	return a, nil
}

func (p *pipeUpstream) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dialed)
}

// An allowed name that resolves to an address of this machine is refused,
// in every protocol and in every form of the address, unless that address
// is allowed itself.
func TestGuardRefusesThisMachine(t *testing.T) {
	own := func() ([]netip.Prefix, error) {
		return []netip.Prefix{netip.MustParsePrefix("203.0.113.7/24"), netip.MustParsePrefix("2001:db8:5::7/64"),
			netip.MustParsePrefix("127.0.0.1/8")}, nil
	}
	tests := []struct {
		name     string
		allow    []string
		resolves string
		proto    string
		ok       bool
	}{
		{"connect, own IPv4", []string{"svc.test"}, "203.0.113.7", ProtoConnect, false},
		{"http, own IPv4 mapped", []string{"svc.test"}, "::ffff:203.0.113.7", ProtoHTTP, false},
		{"socks5, own IPv6", []string{"svc.test"}, "2001:db8:5::7", ProtoSOCKS5, false},
		{"socks5, own network's broadcast", []string{"svc.test"}, "203.0.113.255", ProtoSOCKS5, false},
		{"connect, own IPv4 in NAT64", []string{"svc.test"}, "64:ff9b::cb00:7107", ProtoConnect, false},
		{"http, limited broadcast", []string{"svc.test"}, "255.255.255.255", ProtoHTTP, false},
		{"connect, allowed by address", []string{"svc.test", "203.0.113.7"}, "203.0.113.7", ProtoConnect, true},
		{"socks5, another machine", []string{"svc.test"}, "203.0.113.8", ProtoSOCKS5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &pipeUpstream{}
			h := startHarness(t, &Server{Rules: mustRules(t, tt.allow, nil), LocalAddrs: own, Dial: up.dial},
				map[string][]string{"svc.test": {tt.resolves}})
			var ok bool
			switch tt.proto {
			case ProtoConnect:
				c := dialHarness(t, h.addr)
				ok = statusOf(t, c, bufio.NewReader(c), "CONNECT svc.test:443 HTTP/1.1\r\nHost: svc.test:443\r\n\r\n") == 200
			case ProtoHTTP:
				c := dialHarness(t, h.addr)
				ok = statusOf(t, c, bufio.NewReader(c), "GET http://svc.test/ HTTP/1.1\r\nHost: svc.test\r\n\r\n") == 200
			case ProtoSOCKS5:
				code, c := socksDial(t, h.addr, "svc.test", 443)
				if c != nil {
					c.Close()
				}
				ok = code == 0
			}
			if ok != tt.ok {
				t.Fatalf("let through: %v, want %v (refusals %+v)", ok, tt.ok, h.refusals())
			}
			if tt.ok {
				return
			}
			ref := h.refusals()
			if len(ref) != 1 || ref[0].Proto != tt.proto || ref[0].Host != "svc.test" ||
				!strings.Contains(ref[0].Reason, "rebinding guard") {
				t.Fatalf("refusals %+v", ref)
			}
			if n := up.count(); n != 0 {
				t.Fatalf("%d connections dialled for a refused destination", n)
			}
		})
	}
}

// The same with this machine's real interfaces: a host service listening
// on an address of one of them is out of reach through an allowed name.
func TestGuardRefusesThisMachinesInterfaces(t *testing.T) {
	prefixes, err := interfacePrefixes()
	if err != nil {
		t.Fatal(err)
	}
	var addr netip.Addr
	for _, pass := range []func(netip.Addr) bool{
		func(a netip.Addr) bool { return SpecialAddr(a) == "" },
		func(a netip.Addr) bool { return !a.IsLoopback() && !a.IsLinkLocalUnicast() },
	} {
		for _, p := range prefixes {
			if a := p.Addr(); !addr.IsValid() && pass(a) {
				addr = a
			}
		}
	}
	if !addr.IsValid() {
		t.Fatalf("this machine has no interface address besides loopback and link-local to test against: %v", prefixes)
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var reached atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reached.Store(true)
			c.Close()
		}
	}()
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	h := newHarness(t, []string{"svc.test"}, nil, map[string][]string{"svc.test": {addr.String()}})
	c := dialHarness(t, h.addr)
	target := JoinHostPort("svc.test", port)
	if got := statusOf(t, c, bufio.NewReader(c), "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); got != http.StatusForbidden {
		t.Fatalf("CONNECT to a name resolving to this machine's %s: status %d, want 403", addr, got)
	}
	if ref := h.refusals(); len(ref) != 1 || !strings.Contains(ref[0].Reason, "rebinding guard") {
		t.Fatalf("refusals %+v", ref)
	}
	if reached.Load() {
		t.Fatal("the host service was reached")
	}
}
