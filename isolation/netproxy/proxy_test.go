package netproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness is a proxy on loopback with recorded refusals and connections.
type harness struct {
	t       *testing.T
	addr    string
	mu      sync.Mutex
	refused []Refusal
	allowed []Connection
}

// newHarness starts a proxy with the rules; names maps host names to the
// addresses the fake resolver returns (the tests never use real DNS).
func newHarness(t *testing.T, allow, deny []string, names map[string][]string) *harness {
	t.Helper()
	return startHarness(t, &Server{Rules: mustRules(t, allow, deny)}, names)
}

// startHarness serves s on loopback, with the fake resolver for names
// (unless s has its own) and refusals and connections recorded.
func startHarness(t *testing.T, s *Server, names map[string][]string) *harness {
	t.Helper()
	h := &harness{t: t}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	if s.Resolve == nil {
		s.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
			var out []netip.Addr
			for _, a := range names[host] {
				out = append(out, netip.MustParseAddr(a))
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("no such host %s", host)
			}
			return out, nil
		}
	}
	s.Refused = func(r Refusal) { h.mu.Lock(); h.refused = append(h.refused, r); h.mu.Unlock() }
	s.Allowed = func(c Connection) { h.mu.Lock(); h.allowed = append(h.allowed, c); h.mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *harness) refusals() []Refusal {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Refusal(nil), h.refused...)
}

func (h *harness) connections() []Connection {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Connection(nil), h.allowed...)
}

func (h *harness) client() *http.Client {
	u, _ := url.Parse("http://" + h.addr)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(u),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

func portOf(t *testing.T, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func hello(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello %s %s", r.Host, r.URL.Path) }

func TestHTTPForwarding(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	port := portOf(t, srv.URL)
	h := newHarness(t, []string{"127.0.0.1", "svc.test:" + port}, []string{"blocked.test"},
		map[string][]string{"svc.test": {"127.0.0.1"}, "blocked.test": {"127.0.0.1"}})
	c := h.client()
	for i, u := range []string{srv.URL + "/a", "http://svc.test:" + port + "/b", srv.URL + "/c"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello ") {
			t.Fatalf("GET %s (#%d): %d %q", u, i, resp.StatusCode, body)
		}
	}
	resp, err := c.Get("http://blocked.test:" + port + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "network.deny blocked.test") ||
		resp.Header.Get("X-Sbshim-Refused") == "" {
		t.Fatalf("denied host: %d %q", resp.StatusCode, body)
	}
	ref := h.refusals()
	if len(ref) != 1 || ref[0].Host != "blocked.test" || ref[0].Port == 0 || ref[0].Proto != ProtoHTTP ||
		ref[0].Reason != "network.deny blocked.test" {
		t.Fatalf("refusals %+v", ref)
	}
	if n := len(h.connections()); n < 2 {
		t.Fatalf("%d connections recorded, want at least 2", n)
	}
}

func TestConnectTunnel(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(hello))
	defer srv.Close()
	port := portOf(t, srv.URL)
	h := newHarness(t, []string{"*.svc.test"}, nil,
		map[string][]string{"api.svc.test": {"127.0.0.1"}, "svc.test": {"127.0.0.1"}})
	c := h.client()
	// Allowed by name, but it resolves to loopback: the rebinding guard.
	_, err := c.Get("https://api.svc.test:" + port + "/")
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("rebinding guard: %v", err)
	}
	ref := h.refusals()
	if len(ref) != 1 || !strings.Contains(ref[0].Reason, "rebinding guard") || ref[0].Proto != ProtoConnect {
		t.Fatalf("refusals %+v", ref)
	}
	// *.svc.test does not cover svc.test itself.
	if _, err := c.Get("https://svc.test:" + port + "/"); err == nil {
		t.Fatal("svc.test is not covered by *.svc.test")
	}

	h = newHarness(t, []string{"*.svc.test", "127.0.0.1:" + port}, nil,
		map[string][]string{"api.svc.test": {"127.0.0.1"}})
	resp, err := h.client().Get("https://api.svc.test:" + port + "/p")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello api.svc.test:"+port+" /p" {
		t.Fatalf("tunnel: %q", body)
	}
	conns := h.connections()
	if len(conns) != 1 || conns[0].Rule != "network.allow *.svc.test" || conns[0].Proto != ProtoConnect {
		t.Fatalf("connections %+v", conns)
	}
}

// socksDial opens a SOCKS5 CONNECT through the proxy; host is a name or an
// address. It returns the reply code and, on success, the connection.
func socksDial(t *testing.T, proxy, host string, port uint16) (byte, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		t.Fatal(err)
	}
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil || sel != [2]byte{5, 0} {
		t.Fatalf("method selection %v: %v", sel, err)
	}
	req := []byte{5, 1, 0}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() {
			b := ip.As4()
			req = append(append(req, 1), b[:]...)
		} else {
			b := ip.As16()
			req = append(append(req, 4), b[:]...)
		}
	} else {
		req = append(append(req, 3, byte(len(host))), host...)
	}
	req = binary.BigEndian.AppendUint16(req, port)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		t.Fatal(err)
	}
	if rep[1] != 0 {
		c.Close()
		return rep[1], nil
	}
	_ = c.SetDeadline(time.Time{})
	return 0, c
}

func TestSOCKS5(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	h := newHarness(t, []string{"svc.test", "127.0.0.1:" + fmt.Sprint(ap.Port())}, []string{"evil.test"},
		map[string][]string{"svc.test": {"127.0.0.1"}, "evil.test": {"127.0.0.1"}})
	get := func(c net.Conn, host string) string {
		fmt.Fprintf(c, "GET /s HTTP/1.0\r\nHost: %s\r\n\r\n", host)
		b, _ := io.ReadAll(c)
		c.Close()
		return string(b)
	}
	code, c := socksDial(t, h.addr, "svc.test", ap.Port())
	if code != 0 || !strings.Contains(get(c, "svc.test"), "hello svc.test /s") {
		t.Fatalf("socks5 by name: reply %d", code)
	}
	code, c = socksDial(t, h.addr, "127.0.0.1", ap.Port())
	if code != 0 || !strings.Contains(get(c, "x"), "hello x /s") {
		t.Fatalf("socks5 by allowed address: reply %d", code)
	}
	for _, tt := range []struct {
		host   string
		port   uint16
		reason string
	}{
		{"evil.test", ap.Port(), "network.deny evil.test"},
		{"127.0.0.2", ap.Port(), ReasonNotListed},
		{"127.0.0.1", ap.Port() + 1, ReasonNotListed},
		{"::1", ap.Port(), ReasonNotListed},
		{"other.test", 443, ReasonNotListed},
	} {
		if code, _ := socksDial(t, h.addr, tt.host, tt.port); code != socksNotAllowed {
			t.Errorf("socks5 %s:%d: reply %d, want %d", tt.host, tt.port, code, socksNotAllowed)
		}
		ref := h.refusals()
		if last := ref[len(ref)-1]; last.Reason != tt.reason || last.Proto != ProtoSOCKS5 || last.Port != tt.port {
			t.Errorf("socks5 %s:%d: refusal %+v, want reason %q", tt.host, tt.port, last, tt.reason)
		}
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, []string{"svc.test"}, nil, nil)
	for _, tt := range []struct{ req, want string }{
		{"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"GET ftp://svc.test/ HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"CONNECT svc.test HTTP/1.1\r\nHost: svc.test\r\n\r\n", "400"},
		{"CONNECT bad_host!:443 HTTP/1.1\r\n\r\n", "403"},
		{"garbage\r\n\r\n", "400"},
	} {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, tt.req)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.Contains(line, " "+tt.want+" ") {
			t.Errorf("%q: got %q, want %s", tt.req, line, tt.want)
		}
	}
}

// Plain-HTTP forwarding with interim responses: a client waiting for
// "100 Continue" gets it from the proxy, and an upstream's 1xx (other
// than 101) is not mistaken for the final response.
func TestHTTPInterimResponses(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", b)
	}))
	defer echo.Close()
	hints, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hints.Close()
	go func() {
		for {
			c, err := hints.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
					"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal")
			}()
		}
	}()
	h := newHarness(t, []string{"127.0.0.1"}, nil, nil)
	cases := []struct {
		name, target, extra, body, want string
		waitContinue                    bool
	}{
		{"expect 100-continue", echo.URL + "/up", "Expect: 100-continue\r\nContent-Length: 5\r\n", "hello", "got hello", true},
		{"upstream early hints", "http://" + hints.Addr().String() + "/", "", "", "final", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			u, _ := url.Parse(tc.target)
			method := "GET"
			if tc.body != "" {
				method = "POST"
			}
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, tc.target, u.Host, tc.extra)
			br := bufio.NewReader(c)
			if tc.waitContinue {
				line, err := br.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
					t.Fatalf("want 100 Continue first, got %q %v", line, err)
				}
				if _, err := br.ReadString('\n'); err != nil { // the empty line
					t.Fatal(err)
				}
				io.WriteString(c, tc.body)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("final response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// A host with several addresses whose first one swallows packets: that
// address gets its share of the dial time, not all of it, and the next
// one is tried and used.
func TestConnectSharesDialTimeAmongAddresses(t *testing.T) {
	const budget = 4 * time.Second
	first, second := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	var mu sync.Mutex
	var tried []netip.Addr
	var firstShare time.Duration
	s := &Server{
		Rules: mustRules(t, []string{"multi.test"}, nil),
		Resolve: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{first, second}, nil
		},
		Dial: func(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
			mu.Lock()
			tried = append(tried, ap.Addr())
			mu.Unlock()
			if ap.Addr() == first {
				start := time.Now()
				<-ctx.Done() // a black hole: only the deadline ends the attempt
				firstShare = time.Since(start)
				return nil, ctx.Err()
			}
			c, _ := net.Pipe()
			return c, nil
		},
		DialTimeout: budget,
		// 192.0.2.0/24 may be this machine's own network (a test bed's).
		LocalAddrs: func() ([]netip.Prefix, error) { return nil, nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up, err := s.connect(ctx, ProtoConnect, "multi.test", 443, nil)
	if err != nil {
		t.Fatalf("connect: %v (tried %v)", err, tried)
	}
	up.Close()
	if len(tried) != 2 || tried[1] != second {
		t.Fatalf("tried %v, want %v then %v", tried, first, second)
	}
	if firstShare > budget*3/4 {
		t.Fatalf("the first address took %v of the %v budget, want about half", firstShare, budget)
	}
}
