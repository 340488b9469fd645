package netproxy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"example.com", "*.example.com:443", "[::1]:80", "10.0.0.1", "::1", "a..b", "*", "x:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule("k", s)
		if err != nil {
			return
		}
		if r.Name == "" && !r.Addr.IsValid() && !r.Any {
			t.Fatalf("%q: rule without name or address", s)
		}
		if r.Any && (r.Name != "" || r.Addr.IsValid() || r.Wildcard) {
			t.Fatalf("%q: \"*\" with a name or address: %+v", s, r)
		}
		if r.Name != "" && r.Name != strings.ToLower(r.Name) {
			t.Fatalf("%q: name not lower case", s)
		}
		// A rule for a name matches that name (or a subdomain) as a
		// client would send it.
		rs := &Rules{Allow: []Rule{r}}
		host := r.Name
		if r.Wildcard {
			host = "x." + host
		}
		port := r.Port
		if port == 0 {
			port = 1
		}
		if host != "" {
			h, a, ok := NormalizeHost(strings.ToUpper(host))
			if !ok {
				t.Fatalf("%q: NormalizeHost(%q) failed", s, host)
			}
			if _, ok := rs.Check(h, a, port); !ok {
				t.Fatalf("%q does not match %q", s, host)
			}
		}
	})
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"Example.COM.", "[::1]", "::ffff:1.2.3.4", "1.2.3", "a_b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, a, ok := NormalizeHost(s)
		if !ok {
			return
		}
		if a.IsValid() {
			if a.Zone() != "" || a.Is4In6() {
				t.Fatalf("%q: address %v not canonical", s, a)
			}
			return
		}
		if h2, _, ok := NormalizeHost(h); !ok || h2 != h {
			t.Fatalf("%q: not idempotent: %q → %q", s, h, h2)
		}
	})
}

func FuzzSocksRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 3, 8, 's', 'v', 'c', '.', 't', 'e', 's', 't', 1, 187})
	f.Add([]byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 2, 0, 1, 1, 2, 3, 4, 0, 80})
	f.Fuzz(func(t *testing.T, b []byte) {
		host, _, err := readSocksRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		if h, _, ok := NormalizeHost(host); ok && h == "" {
			t.Fatalf("%x: empty normalized host", b)
		}
		_, _ = readSocksGreeting(bytes.NewReader(b))
	})
}

func FuzzRequestTarget(f *testing.F) {
	for _, s := range []string{
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET http://[::1]:8080/ HTTP/1.1\r\n\r\n",
		"CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
		"GET /x HTTP/1.1\r\n\r\n",
	} {
		f.Add(s)
	}
	rs := &Rules{Allow: []Rule{{Name: "example.com", Text: "a"}, {Addr: netip.MustParseAddr("::1"), Text: "b"}}}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s)))
		if err != nil {
			return
		}
		host, port, status, _ := requestTarget(req)
		if status != 0 {
			return
		}
		if port == 0 {
			t.Fatalf("%q: port 0 accepted", s)
		}
		if h, a, ok := NormalizeHost(host); ok {
			rs.Check(h, a, port)
		}
	})
}

// FuzzRequestHead: every head http.ReadRequest accepts is read again the
// same way, and a Host header that agrees names the target (or the proxy).
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET http://example.com:8080/x HTTP/1.1\r\nHost: EXAMPLE.com.:8080\r\n\r\nbody",
		"GET http://example.com/x HTTP/1.1\r\nHost: other.com\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
		"GET http://[::1]/ HTTP/1.1\r\nHost: 127.0.0.1:3128\r\n\r\n",
		"GET http://a/ HTTP/1.1\nHost: a\n\n",
		"GET http://a/ HTTP/1.0\r\n\r\n",
	} {
		f.Add(s)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3128}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s)))
		if err != nil {
			return
		}
		hosts, size, err := readHead([]byte(s))
		if err != nil {
			t.Fatalf("%q: ReadRequest took it, readHead: %v", s, err)
		}
		if size <= 0 || size > len(s) {
			t.Fatalf("%q: head size %d", s, size)
		}
		host, port, status, _ := requestTarget(req)
		if status != 0 {
			return
		}
		hdr, _, why, ok := hostAgrees(hosts, host, port, req.Method == http.MethodConnect, local)
		if !ok {
			if why == "" {
				t.Fatalf("%q: refused without a reason", s)
			}
			return
		}
		if hdr != "" {
			t.Fatalf("%q: agreed but named %q", s, hdr)
		}
		if len(hosts) != 1 || strings.TrimSpace(hosts[0]) == "" {
			return
		}
		hh := strings.TrimSpace(hosts[0])
		if h, p, err := net.SplitHostPort(hh); err == nil {
			if p == "3128" && (h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" || strings.EqualFold(h, "localhost")) {
				return // names the proxy
			}
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			hh = h
		}
		a, _, _ := NormalizeHost(hh)
		b, _, _ := NormalizeHost(host)
		if a != b {
			t.Fatalf("%q: Host %q agreed with target %q", s, hosts[0], host)
		}
	})
}
