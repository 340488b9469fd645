package netproxy

import (
	"net/netip"
	"strings"
	"testing"
)

func mustRules(t testing.TB, allow, deny []string) *Rules {
	t.Helper()
	rs, err := NewRules([]KeyedList{{"network.allow", allow}}, []KeyedList{{"network.deny", deny}})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		in   string
		want Rule
		bad  bool
	}{
		{in: "api.example.com", want: Rule{Name: "api.example.com"}},
		{in: "API.Example.COM:443", want: Rule{Name: "api.example.com", Port: 443}},
		{in: "*.example.org", want: Rule{Name: "example.org", Wildcard: true}},
		{in: "*.example.org:8443", want: Rule{Name: "example.org", Wildcard: true, Port: 8443}},
		{in: "10.0.0.1", want: Rule{Addr: netip.MustParseAddr("10.0.0.1")}},
		{in: "127.0.0.1:8080", want: Rule{Addr: netip.MustParseAddr("127.0.0.1"), Port: 8080}},
		{in: "[::1]", want: Rule{Addr: netip.MustParseAddr("::1")}},
		{in: "[2001:db8::1]:443", want: Rule{Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}},
		{in: "localhost", want: Rule{Name: "localhost"}},
		{in: "", bad: true},
		{in: "::1", bad: true},
		{in: "[::1", bad: true},
		{in: "[10.0.0.1]", bad: true},
		{in: "[::1]x", bad: true},
		{in: "https://example.com", bad: true},
		{in: "example.com/path", bad: true},
		{in: "example.com:", bad: true},
		{in: "example.com:0", bad: true},
		{in: "example.com:65536", bad: true},
		{in: "example.com:+1", bad: true},
		{in: "a.*.example.com", bad: true},
		{in: "*example.com", bad: true},
		{in: "*", want: Rule{Any: true}},
		{in: "*:443", want: Rule{Any: true, Port: 443}},
		{in: "**", bad: true},
		{in: "*.*", bad: true},
		{in: "-a.example.com", bad: true},
		{in: "a..b", bad: true},
		{in: "999.1.1.1", bad: true},
		{in: "exa mple.com", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRule("network.allow", tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseRule(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tt.in, err)
			}
			tt.want.Text = "network.allow " + tt.in
			if got != tt.want {
				t.Fatalf("ParseRule(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// "*" allows every host name, and no address: a literal address must be
// listed itself, and an address a name resolves to is still judged by
// the rebinding guard.
func TestRulesAny(t *testing.T) {
	rs := mustRules(t, []string{"*:443"}, []string{"blocked.example"})
	for _, tt := range []struct {
		host string
		port uint16
		ok   bool
	}{
		{"example.com", 443, true},
		{"a.b.example.org", 443, true},
		{"example.com", 80, false},
		{"blocked.example", 443, false},
		{"93.184.216.34", 443, false},
		{"[2001:db8::1]", 443, false},
	} {
		host, addr, _ := NormalizeHost(tt.host)
		if _, ok := rs.Check(host, addr, tt.port); ok != tt.ok {
			t.Errorf("Check(%s, %d) allowed %v, want %v", tt.host, tt.port, ok, tt.ok)
		}
	}
	for _, ip := range []string{"10.0.0.1", "127.0.0.1", "169.254.169.254", "::1", "fd00::1"} {
		if _, ok := rs.CheckAddr("example.com", netip.MustParseAddr(ip), 443, nil); ok {
			t.Errorf("example.com resolving to %s is allowed under \"*\"", ip)
		}
	}
	if _, ok := rs.CheckAddr("example.com", netip.MustParseAddr("93.184.216.34"), 443, nil); !ok {
		t.Error("a public address of an allowed name is refused")
	}
}

func TestRulesCheck(t *testing.T) {
	rs := mustRules(t,
		[]string{"api.example.com", "*.example.org", "pinned.example.net:443", "10.1.2.3", "[2001:db8::5]:80", "*.corp.example"},
		[]string{"bad.example.org", "*.secret.corp.example", "api.example.com:25"})
	tests := []struct {
		host string
		port uint16
		ok   bool
		rule string
	}{
		{"api.example.com", 443, true, "network.allow api.example.com"},
		{"API.EXAMPLE.COM.", 80, true, "network.allow api.example.com"},
		{"api.example.com", 25, false, "network.deny api.example.com:25"},
		{"www.api.example.com", 443, false, ReasonNotListed},
		{"example.org", 443, false, ReasonNotListed},
		{"a.example.org", 443, true, "network.allow *.example.org"},
		{"a.b.example.org", 1, true, "network.allow *.example.org"},
		{"bad.example.org", 443, false, "network.deny bad.example.org"},
		{"xexample.org", 443, false, ReasonNotListed},
		{"pinned.example.net", 443, true, "network.allow pinned.example.net:443"},
		{"pinned.example.net", 80, false, ReasonNotListed},
		{"10.1.2.3", 22, true, "network.allow 10.1.2.3"},
		{"10.1.2.4", 22, false, ReasonNotListed},
		{"[2001:db8::5]", 80, true, "network.allow [2001:db8::5]:80"},
		{"[2001:DB8:0::5]", 80, true, "network.allow [2001:db8::5]:80"},
		{"[2001:db8::5]", 81, false, ReasonNotListed},
		{"x.corp.example", 443, true, "network.allow *.corp.example"},
		{"x.secret.corp.example", 443, false, "network.deny *.secret.corp.example"},
		{"secret.corp.example", 443, true, "network.allow *.corp.example"},
	}
	for _, tt := range tests {
		host, addr, ok := NormalizeHost(tt.host)
		if !ok {
			t.Fatalf("NormalizeHost(%q) failed", tt.host)
		}
		rule, allowed := rs.Check(host, addr, tt.port)
		if allowed != tt.ok || rule != tt.rule {
			t.Errorf("Check(%s, %d) = %q, %v; want %q, %v", tt.host, tt.port, rule, allowed, tt.rule, tt.ok)
		}
	}
}

// ownNet is a machine with a public IPv4 and a public IPv6 address.
var ownNet = []string{"203.0.113.7/24", "2001:db8:5::7/64", "127.0.0.1/8"}

func TestOwnAddrs(t *testing.T) {
	tests := []struct {
		prefixes []string
		want     []string
	}{
		{[]string{"203.0.113.7/24"}, []string{"203.0.113.7", "203.0.113.255"}},
		{[]string{"10.1.2.3/16", "::ffff:192.0.2.9/120", "::ffff:192.0.2.10/128"}, []string{"10.1.2.3", "10.1.255.255", "192.0.2.9", "192.0.2.255", "192.0.2.10"}},
		{[]string{"198.51.100.4/31", "198.51.100.9/32"}, []string{"198.51.100.4", "198.51.100.9"}},
		{[]string{"2001:db8::1/64", "fe80::1/64"}, []string{"2001:db8::1", "fe80::1"}},
		{[]string{"0.0.0.0/0"}, []string{"0.0.0.0", "255.255.255.255"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		var ps []netip.Prefix
		for _, p := range tt.prefixes {
			ps = append(ps, netip.MustParsePrefix(p))
		}
		got := []string{}
		for _, a := range OwnAddrs(ps) {
			got = append(got, a.String())
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("OwnAddrs(%v) = %v, want %v", tt.prefixes, got, tt.want)
		}
	}
}

func TestRebindingGuard(t *testing.T) {
	tests := []struct {
		allow []string
		deny  []string
		host  string
		ip    string
		port  uint16
		ok    bool
		why   string
		own   []string // this machine's interface prefixes
	}{
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "93.184.215.14", ok: true},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "127.0.0.1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "169.254.169.254", why: "link-local"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "fd00:ec2::254", why: "private"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "100.100.100.200", why: "shared"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "10.0.0.8", why: "private"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "192.168.1.1", why: "private"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "0.0.0.0", why: "unspecified"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:127.0.0.1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "64:ff9b::a9fe:a9fe", why: "link-local"},
		{allow: []string{"api.example.com", "127.0.0.1"}, host: "api.example.com", ip: "127.0.0.1", ok: true},
		{allow: []string{"api.example.com", "127.0.0.1:8080"}, host: "api.example.com", ip: "127.0.0.1", port: 9090, why: "loopback"},
		{allow: []string{"localhost"}, host: "localhost", ip: "127.0.0.1", why: "loopback"},
		{allow: []string{"localhost", "127.0.0.1"}, host: "localhost", ip: "127.0.0.1", ok: true},
		{allow: []string{"*.localhost"}, host: "a.localhost", ip: "127.0.0.1", why: "loopback"},
		{allow: []string{"api.example.com"}, deny: []string{"93.184.215.14"}, host: "api.example.com", ip: "93.184.215.14", why: "network.deny 93.184.215.14"},
		// This machine's own addresses, in every form that reaches them,
		// and its networks' broadcast addresses.
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "203.0.113.7", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:203.0.113.7", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "64:ff9b::cb00:7107", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::cb00:7107", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:0:cb00:7107", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:0:7f00:1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "2002:cb00:7107::1", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "203.0.113.255", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "2001:db8:5::7", own: ownNet, why: "an address of this machine"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "203.0.113.8", own: ownNet, ok: true},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "2001:db8:5::8", own: ownNet, ok: true},
		{allow: []string{"api.example.com", "203.0.113.7"}, host: "api.example.com", ip: "203.0.113.7", own: ownNet, ok: true},
		{allow: []string{"api.example.com", "[2001:db8:5::7]:8080"}, host: "api.example.com", ip: "2001:db8:5::7", own: ownNet, ok: true},
		{allow: []string{"api.example.com", "203.0.113.7:443"}, host: "api.example.com", ip: "203.0.113.7", own: ownNet, why: "an address of this machine"},
		// The rest of the special classes.
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "255.255.255.255", why: "broadcast"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "240.0.0.1", why: "reserved"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::", why: "unspecified"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:0.0.0.0", why: "unspecified"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "0.1.2.3", why: "unspecified"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "239.1.2.3", why: "multicast"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "ff0e::1", why: "multicast"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::127.0.0.1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "2002:7f00:1::1", why: "loopback"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "2002:a9fe:a9fe::", why: "link-local"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "64:ff9b:1::a00:1", why: "private"},
		{allow: []string{"api.example.com"}, host: "api.example.com", ip: "::ffff:100.100.100.200", why: "shared"},
	}
	for _, tt := range tests {
		rs := mustRules(t, tt.allow, tt.deny)
		port := tt.port
		if port == 0 {
			port = 8080
		}
		var prefixes []netip.Prefix
		for _, p := range tt.own {
			prefixes = append(prefixes, netip.MustParsePrefix(p))
		}
		why, ok := rs.CheckAddr(tt.host, netip.MustParseAddr(tt.ip), port, OwnAddrs(prefixes))
		if ok != tt.ok || !strings.Contains(why, tt.why) {
			t.Errorf("allow %v, own %v: CheckAddr(%s → %s) = %q, %v; want %v with %q", tt.allow, tt.own, tt.host, tt.ip, why, ok, tt.ok, tt.why)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"[::1]", "::1"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"10.0.0.1", "10.0.0.1"},
		{"bad host", ""},
		{"[::1", ""},
		{"1.2.3", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, _, ok := NormalizeHost(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}
