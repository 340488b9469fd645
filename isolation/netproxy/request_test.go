package netproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// What a request names must agree: the Host header of a plain-HTTP or
// CONNECT request names its target or nothing, on every request of a
// kept-alive connection; upstream sees only the target as Host.
func TestRequestNamesOneDestination(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host)
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	port := portOf(t, srv.URL)
	h := newHarness(t, []string{"svc.test:" + port, "other.test:" + port, "127.0.0.1"}, nil,
		map[string][]string{"svc.test": {"127.0.0.1"}, "other.test": {"127.0.0.1"}, "evil.test": {"127.0.0.1"}})
	_, proxyPort, _ := net.SplitHostPort(h.addr)
	svc, other := "svc.test:"+port, "other.test:"+port
	get := func(target, hostHdr string) string {
		if hostHdr == "-" {
			return "GET http://" + target + "/ HTTP/1.0\r\n\r\n"
		}
		return "GET http://" + target + "/ HTTP/1.1\r\nHost: " + hostHdr + "\r\n\r\n"
	}
	type step struct {
		req  string
		want int
	}
	tests := []struct {
		name  string
		steps []step
		seen  []string // the Host values upstream saw
		refs  int      // refusals reported
		ref   string   // the last refusal's target, if set
	}{
		{"agree", []step{{get(svc, svc), 200}}, []string{svc}, 0, ""},
		{"case and trailing dot", []step{{get(svc, "SVC.Test.:"+port), 200}}, []string{svc}, 0, ""},
		{"no Host header", []step{{get(svc, "-"), 200}}, []string{svc}, 0, ""},
		{"Host names the proxy", []step{{get(svc, "127.0.0.1:"+proxyPort), 200}, {get(svc, "localhost:"+proxyPort), 200}}, []string{svc, svc}, 0, ""},
		{"Host names another host", []step{{get(svc, other), 403}}, nil, 1, other},
		{"Host names a refused host", []step{{get(svc, "evil.test:"+port), 403}}, nil, 1, ""},
		{"Host without port means 80", []step{{get(svc, "svc.test"), 403}}, nil, 1, "svc.test:80"},
		{"Host names another port", []step{{get(svc, "svc.test:1"), 403}}, nil, 1, "svc.test:1"},
		{"Host is not a host", []step{{get(svc, "svc.test:"+port+"@evil.test"), 403}}, nil, 1, ""},
		{"second request names another host", []step{{get(svc, svc), 200}, {get(other, other), 200}, {get(other, svc), 403}},
			[]string{svc, other}, 1, ""},
		{"second request to a refused host", []step{{get(svc, svc), 200}, {get("evil.test:"+port, "evil.test:"+port), 403}}, []string{svc}, 1, ""},
		{"second request on the same upstream, Host differs", []step{{get(svc, svc), 200}, {get(svc, other), 403}}, []string{svc}, 1, ""},
		{"pipelined", []step{{get(svc, svc) + get(svc, "evil.test:"+port), 200}, {"", 403}}, []string{svc}, 1, ""},
		{"CONNECT, Host names another host", []step{{"CONNECT " + svc + " HTTP/1.1\r\nHost: " + other + "\r\n\r\n", 403}}, nil, 1, ""},
		{"CONNECT, Host names another port", []step{{"CONNECT " + svc + " HTTP/1.1\r\nHost: svc.test:443\r\n\r\n", 403}}, nil, 1, ""},
		{"CONNECT, Host without port", []step{{"CONNECT " + svc + " HTTP/1.1\r\nHost: svc.test\r\n\r\n", 200}}, nil, 0, ""},
		{"CONNECT, Host agrees", []step{{"CONNECT " + svc + " HTTP/1.1\r\nHost: " + svc + "\r\n\r\n", 200}}, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			before := len(h.refusals())
			c := dialHarness(t, h.addr)
			br := bufio.NewReader(c)
			for i, st := range tt.steps {
				var got int
				if st.req == "" { // the answer to a pipelined request
					resp, err := http.ReadResponse(br, nil)
					if err == nil {
						_, _ = io.ReadAll(resp.Body)
						got = resp.StatusCode
					}
				} else {
					got = statusOf(t, c, br, st.req)
				}
				if got != st.want {
					t.Fatalf("step %d %q: status %d, want %d", i, st.req, got, st.want)
				}
			}
			c.Close()
			mu.Lock()
			got := append([]string(nil), seen...)
			mu.Unlock()
			if strings.Join(got, " ") != strings.Join(tt.seen, " ") {
				t.Errorf("upstream saw Host %q, want %q", got, tt.seen)
			}
			ref := h.refusals()[before:]
			if len(ref) != tt.refs {
				t.Fatalf("refusals %+v, want %d", ref, tt.refs)
			}
			if tt.ref != "" && ref[len(ref)-1].Target() != tt.ref {
				t.Errorf("refusal target %q, want %q", ref[len(ref)-1].Target(), tt.ref)
			}
			for _, r := range ref {
				if !strings.Contains(r.Reason, "network.allow (not listed)") && !strings.HasPrefix(r.Reason, "request check:") {
					t.Errorf("refusal reason %q", r.Reason)
				}
			}
		})
	}
}
