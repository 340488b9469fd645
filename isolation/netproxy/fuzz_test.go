package netproxy

import (
	"bufio"
	"bytes"
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
		if r.Name == "" && !r.Addr.IsValid() {
			t.Fatalf("%q: rule without name or address", s)
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
