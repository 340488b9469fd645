package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// The command's environment under Seatbelt: scrubbed by the policy as on
// Linux, $TMP private, and in proxy mode every variable pointing at the
// proxy with nothing exempt (the loopback is the host's).
func TestSeatbeltEnv(t *testing.T) {
	tmp := "/var/folders/x/T/sbshim-0123456789abcdef/tmp"
	host := []string{"PATH=/usr/bin:/bin", "HOME=/home/u", "AWS_SECRET_ACCESS_KEY=abc", "TMPDIR=/var/folders/x/T/",
		"TMP=/tmp", "HTTP_PROXY=http://corp:3128", "NO_PROXY=internal", "EDITOR=vi"}
	tests := []struct {
		name string
		mode policy.NetworkMode
		port int
		want map[string]string // "-" for absent
	}{
		{"none", policy.NetNone, 0, map[string]string{
			"PATH": "/usr/bin:/bin", "HOME": "/home/u", "TMPDIR": tmp + "/", "TMP": tmp, "TEMP": tmp,
			"AWS_SECRET_ACCESS_KEY": "-", "EDITOR": "-", "HTTP_PROXY": "http://corp:3128", "NO_PROXY": "internal",
		}},
		{"proxy", policy.NetProxy, 4242, map[string]string{
			"TMPDIR": tmp + "/", "HTTP_PROXY": "http://127.0.0.1:4242", "https_proxy": "http://127.0.0.1:4242",
			"ALL_PROXY": "socks5h://127.0.0.1:4242", "NO_PROXY": "", "no_proxy": "", "AWS_SECRET_ACCESS_KEY": "-",
		}},
		{"host", policy.NetHost, 0, map[string]string{"TMPDIR": tmp + "/", "HTTP_PROXY": "http://corp:3128", "AWS_SECRET_ACCESS_KEY": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := matchPolicy()
			pol.Vars.Tmp = tmp
			pol.Network.Mode = tt.mode
			pol.Env = policy.EnvPolicy{Pass: []string{"PATH", "HOME", "TMPDIR", "TMP", "HTTP_PROXY", "NO_PROXY", "AWS_*"}, Deny: []string{"*SECRET*"}}
			env := seatbeltEnv(pol, host, tt.port, nil)
			if !slices.IsSorted(env) {
				t.Errorf("not sorted: %q", env)
			}
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := got[k]; dup {
					t.Errorf("%s set twice", k)
				}
				got[k] = v
			}
			for k, want := range tt.want {
				v, ok := got[k]
				switch {
				case want == "-" && ok:
					t.Errorf("%s=%q, want it absent", k, v)
				case want != "-" && (!ok || v != want):
					t.Errorf("%s=%q (set %v), want %q", k, v, ok, want)
				}
			}
		})
	}
}

// collect gathers reported Events.
type collect struct {
	mu  sync.Mutex
	evs []Event
}

func (c *collect) add(ev Event) { c.mu.Lock(); c.evs = append(c.evs, ev); c.mu.Unlock() }
func (c *collect) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.evs {
		out = append(out, fmt.Sprintf("%s %s %s pid=%d exe=%s rule=%s", ev.Kind, ev.Op, ev.Target, ev.PID, ev.Exe, ev.Rule))
	}
	return out
}

// The proxy of a sandbox that shares the host's loopback refuses what
// the policy does not allow and reports it as on Linux.
func TestSharedProxyRefusal(t *testing.T) {
	pol := matchPolicy()
	pol.Network.Mode = policy.NetProxy
	var c collect
	sp, err := startSharedProxy(Config{Policy: pol, Report: c.add}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.stop()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sp.port))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT blocked.test:443 HTTP/1.1\r\nHost: blocked.test:443\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.Contains(status, "403") {
		t.Fatalf("proxy answered %q, %v; want 403", status, err)
	}
	sp.stop()
	evs := c.evs
	if len(evs) != 1 || evs[0].Kind != "net" || evs[0].Op != "connect" || evs[0].Target != "blocked.test:443" || evs[0].Layer != ProxyLayer {
		t.Errorf("events %+v", evs)
	}
}

// What package seatbelt reports becomes an Event field by field, of the
// seatbelt layer; its failures become SetupErrors with the exit status of
// their kind and the same message, and any other error is left as it is.
func TestSeatbeltAdapter(t *testing.T) {
	b := seatbelt.Blocked{Time: time.Date(2026, 3, 2, 14, 5, 9, 0, time.UTC), Kind: "file", Op: "read",
		Target: "/u/.ssh/id_rsa", PID: 42, Exe: "node", Rule: "filesystem.denyRead ~/.ssh", Errno: "EPERM"}
	want := Event{Time: b.Time, Kind: "file", Op: "read", Target: "/u/.ssh/id_rsa", PID: 42, Exe: "node",
		Rule: "filesystem.denyRead ~/.ssh", Layer: "seatbelt", Errno: "EPERM"}
	if ev := blockedEvent(b); ev != want {
		t.Errorf("blockedEvent:\n got %+v\nwant %+v", ev, want)
	}

	other := errors.New("something else")
	tests := []struct {
		err      error
		wantCode int
		wantMsg  string
	}{
		{&seatbelt.Error{Kind: seatbelt.ErrSetup, Layer: "seatbelt", Err: errors.New("sandbox-exec refused the profile: x")}, ExitSetup, "seatbelt: sandbox-exec refused the profile: x"},
		{&seatbelt.Error{Kind: seatbelt.ErrNotExecutable, Layer: "exec", Err: errors.New("tool: permission denied")}, ExitNotExecutable, "exec: tool: permission denied"},
		{&seatbelt.Error{Kind: seatbelt.ErrNotFound, Layer: "exec", Err: errors.New("tool: command not found")}, ExitNotFound, "exec: tool: command not found"},
		{fmt.Errorf("wrapped: %w", &seatbelt.Error{Kind: seatbelt.ErrNotFound, Layer: "exec", Err: errors.New("x")}), ExitNotFound, "exec: x"},
	}
	for _, tt := range tests {
		err := seatbeltSetupError(tt.err)
		var se *SetupError
		if !errors.As(err, &se) || se.Code != tt.wantCode || err.Error() != tt.wantMsg {
			t.Errorf("seatbeltSetupError(%v) = %v (%T), want a SetupError %d saying %q", tt.err, err, err, tt.wantCode, tt.wantMsg)
		}
	}
	if err := seatbeltSetupError(other); err != other {
		t.Errorf("seatbeltSetupError(%v) = %v, want it as it is", other, err)
	}
}
