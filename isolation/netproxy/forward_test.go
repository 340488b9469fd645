package netproxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeForward: a forward relays to its target when the rules allow
// the target's address and port, and refuses and reports it otherwise,
// as a CONNECT to it would be.
func TestServeForward(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(hello))
	defer up.Close()
	target := netip.MustParseAddrPort(strings.TrimPrefix(up.URL, "http://"))
	for _, tt := range []struct {
		name  string
		allow []string
		ok    bool
	}{
		{"allowed address and port", []string{target.String()}, true},
		{"other port", []string{"127.0.0.1:1"}, false},
		{"a name alone does not reach loopback", []string{"localhost"}, false},
		{"nothing allowed", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var refused []Refusal
			var allowed []Connection
			s := &Server{Rules: mustRules(t, tt.allow, nil),
				Refused: func(r Refusal) { mu.Lock(); refused = append(refused, r); mu.Unlock() },
				Allowed: func(c Connection) { mu.Lock(); allowed = append(allowed, c); mu.Unlock() }}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = s.ServeForward(ctx, ln, target); close(done) }()
			defer func() { cancel(); <-done }()
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "tcp", ln.Addr().String())
				}}}
			resp, err := c.Get("http://" + target.String() + "/x")
			body := ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.ok {
				if err != nil || !strings.Contains(body, "hello") || len(allowed) != 1 || allowed[0].Proto != ProtoForward || len(refused) != 0 {
					t.Fatalf("got %q, %v; allowed %v, refused %v", body, err, allowed, refused)
				}
				return
			}
			if err == nil || len(refused) != 1 || refused[0].Proto != ProtoForward || refused[0].Target() != target.String() || len(allowed) != 0 {
				t.Fatalf("got %q, %v; allowed %v, refused %v", body, err, allowed, refused)
			}
		})
	}
}
