package netproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is one parsed host pattern.
type Rule struct {
	// Name is the lower-case host name without a trailing dot; for a
	// wildcard it is the domain after "*.". Empty for an address rule.
	Name string
	// Wildcard: the rule matches the subdomains of Name, not Name itself.
	Wildcard bool
	// Any: the rule is "*", every host name (never an address: one that
	// a name resolves to is still judged by CheckAddr, so "*" reaches
	// no private, loopback or metadata address).
	Any bool
	// Addr is set for an IPv4 or IPv6 address rule.
	Addr netip.Addr
	// Port is 0 for any port.
	Port uint16
	// Text is the rule as it was written, prefixed by its key, e.g.
	// "network.allow *.example.com:443".
	Text string
}

// ParseRule parses a host pattern: example.com, *.example.com, 10.0.0.1,
// [::1] or * (every host name), each with an optional :port from 1 to
// 65535. key names the list
// the entry came from and prefixes Rule.Text.
func ParseRule(key, s string) (Rule, error) {
	r := Rule{Text: strings.TrimSpace(key + " " + s)}
	if s == "" {
		return r, errors.New("empty host")
	}
	if strings.ContainsAny(s, "/?#@ \t\r\n") || strings.Contains(s, "://") {
		return r, fmt.Errorf("%q is not a bare host", s)
	}
	host, port := s, ""
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return r, fmt.Errorf("%q: unclosed [", s)
		}
		ip, err := netip.ParseAddr(s[1:end])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return r, fmt.Errorf("%q: not an IPv6 address in brackets", s)
		}
		r.Addr = ip
		rest := s[end+1:]
		switch {
		case rest == "":
		case rest[0] == ':':
			port = rest[1:]
			if port == "" {
				return r, fmt.Errorf("%q: empty port", s)
			}
		default:
			return r, fmt.Errorf("%q: text after ]", s)
		}
		host = ""
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.Count(s, ":") > 1 {
			return r, fmt.Errorf("%q: an IPv6 address must be in brackets", s)
		}
		host, port = s[:i], s[i+1:]
		if port == "" {
			return r, fmt.Errorf("%q: empty port", s)
		}
		if host == "" {
			return r, fmt.Errorf("%q: empty host", s)
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return r, fmt.Errorf("%q: bad port (1-65535)", s)
		}
		r.Port = uint16(n)
	}
	if host == "" {
		return r, nil
	}
	if host == "*" {
		r.Any = true
		return r, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Is4() {
			return r, fmt.Errorf("%q: an IPv6 address must be in brackets", s)
		}
		r.Addr = ip
		return r, nil
	}
	name := strings.ToLower(host)
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		r.Wildcard = true
		name = rest
	}
	if err := checkName(name); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if allDigitsAndDots(name) {
		return r, fmt.Errorf("%q: not a valid IPv4 address", s)
	}
	r.Name = name
	return r, nil
}

func allDigitsAndDots(s string) bool {
	for _, c := range []byte(s) {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkName checks a lower-case host name without wildcard.
func checkName(name string) error {
	if name == "" || len(name) > 253 {
		return errors.New("a host name must have 1 to 253 characters")
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 {
			return errors.New("a host name label must have 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("a host name label cannot start or end with -")
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("bad character %q in the host name", c)
			}
		}
	}
	return nil
}

// NormalizeHost turns a requested host into the form rules compare: lower
// case, no trailing dot, no brackets around an IPv6 address; an address is
// returned in its canonical text. ok is false for something that is
// neither a host name nor an address.
func NormalizeHost(h string) (host string, addr netip.Addr, ok bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		ip, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", netip.Addr{}, false
		}
		ip = ip.Unmap()
		return ip.String(), ip, true
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", netip.Addr{}, false
		}
		ip = ip.Unmap()
		return ip.String(), ip, true
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if checkName(name) != nil || allDigitsAndDots(name) {
		return "", netip.Addr{}, false
	}
	return name, netip.Addr{}, true
}

// matchName says whether the rule matches the normalized host name.
func (r *Rule) matchName(name string) bool {
	if r.Any {
		return name != ""
	}
	if r.Name == "" {
		return false
	}
	if r.Wildcard {
		return len(name) > len(r.Name)+1 && strings.HasSuffix(name, r.Name) && name[len(name)-len(r.Name)-1] == '.'
	}
	return name == r.Name
}

func (r *Rule) matchPort(port uint16) bool { return r.Port == 0 || r.Port == port }

// matchAddr says whether the rule names the address itself.
func (r *Rule) matchAddr(ip netip.Addr) bool {
	return r.Addr.IsValid() && r.Addr.Unmap() == ip.Unmap()
}

// Rules are the allow and deny lists of a policy. The zero value refuses
// everything.
type Rules struct {
	Allow []Rule
	Deny  []Rule
}

// Refusal reasons that name no list entry.
const (
	ReasonNotListed = "network.allow (not listed)"
	ReasonBadHost   = "not a valid host name or address"
)

// Check decides a destination as requested, before any name is resolved.
// host must be normalized (NormalizeHost). It returns the deciding rule's
// text; ok is false when the destination is refused.
func (rs *Rules) Check(host string, addr netip.Addr, port uint16) (rule string, ok bool) {
	match := func(r *Rule) bool {
		if !r.matchPort(port) {
			return false
		}
		if addr.IsValid() {
			return r.matchAddr(addr)
		}
		return r.matchName(host)
	}
	for i := range rs.Deny {
		if match(&rs.Deny[i]) {
			return rs.Deny[i].Text, false
		}
	}
	for i := range rs.Allow {
		if match(&rs.Allow[i]) {
			return rs.Allow[i].Text, true
		}
	}
	return ReasonNotListed, false
}

// CheckAddr decides one address that an allowed host name resolved to: a
// deny rule naming the address refuses it; a loopback, link-local,
// private, shared, metadata, broadcast or other special address (see
// SpecialAddr), and every address of this machine (own, see OwnAddrs), is
// refused unless an allow rule names the address itself (allowing
// "localhost" alone does not reach the host's loopback; allowing 127.0.0.1
// does). An address that embeds an IPv4 address (IPv4-mapped, NAT64,
// IPv4-compatible, IPv4-translated, 6to4) is judged by that IPv4 address
// as well. It
// returns the reason when ok is false.
func (rs *Rules) CheckAddr(host string, ip netip.Addr, port uint16, own []netip.Addr) (reason string, ok bool) {
	ip = ip.Unmap()
	for i := range rs.Deny {
		r := &rs.Deny[i]
		if r.matchPort(port) && r.matchAddr(ip) {
			return fmt.Sprintf("%s resolves to %s (%s)", host, ip, r.Text), false
		}
	}
	what := ""
	if kind := SpecialAddr(ip); kind != "" {
		what = article(kind) + " " + kind + " address"
	} else if isOwn(ip, own) {
		what = "an address of this machine"
	}
	if what == "" {
		return "", true
	}
	for i := range rs.Allow {
		r := &rs.Allow[i]
		if !r.matchPort(port) {
			continue
		}
		if r.matchAddr(ip) {
			return "", true
		}
	}
	return fmt.Sprintf("rebinding guard: %s resolves to %s, %s (allow %s itself to reach it)",
		host, ip, what, hostPort(ip)), false
}

// article is "a" or "an" for a kind of address.
func article(kind string) string {
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}

// isOwn says whether ip, or the IPv4 address it embeds, is in own.
func isOwn(ip netip.Addr, own []netip.Addr) bool {
	ip = ip.Unmap()
	v4, embeds := embeddedV4(ip)
	for _, o := range own {
		if o == ip || embeds && o == v4 {
			return true
		}
	}
	return false
}

// OwnAddrs turns the prefixes of this machine's interfaces (address and
// length, as net.InterfaceAddrs gives them) into the addresses that reach
// it: each address, and for an IPv4 network of more than two addresses its
// broadcast address.
func OwnAddrs(prefixes []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, 0, len(prefixes)+2)
	for _, p := range prefixes {
		a, bits := p.Addr().WithZone(""), p.Bits()
		if !a.IsValid() {
			continue
		}
		if a.Is4In6() {
			a, bits = a.Unmap(), bits-96
		}
		out = append(out, a)
		if a.Is4() && bits >= 0 && bits < 31 {
			b := a.As4()
			host := uint32(1)<<(32-bits) - 1
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
			out = append(out, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
		}
	}
	return out
}

func hostPort(ip netip.Addr) string {
	if ip.Is6() {
		return "[" + ip.String() + "]"
	}
	return ip.String()
}

// special address ranges besides what netip classifies.
var (
	sharedNet   = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT; a cloud's metadata lives there
	thisNet     = netip.MustParsePrefix("0.0.0.0/8")
	reservedV4  = netip.MustParsePrefix("240.0.0.0/4") // "class E", with the limited broadcast 255.255.255.255
	siteLocal6  = netip.MustParsePrefix("fec0::/10")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48")  // local-use NAT64 (RFC 8215), translated by the site
	compatV4    = netip.MustParsePrefix("::/96")           // deprecated IPv4-compatible IPv6
	translated  = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated (SIIT)
	sixToFour   = netip.MustParsePrefix("2002::/16")
	benchmarkV4 = netip.MustParsePrefix("198.18.0.0/15")
	broadcastV4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// embeddedV4 returns the IPv4 address an IPv6 address carries in NAT64
// (64:ff9b::/96), IPv4-compatible (::/96, but not :: and ::1),
// IPv4-translated (::ffff:0:0:0/96) or 6to4 (2002::/16) form; an
// IPv4-mapped address is expected unmapped already.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), translated.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case compatV4.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// SpecialAddr names the kind of an address the rebinding guard protects —
// "loopback", "link-local" (which holds the usual metadata address),
// "private", "shared", "unspecified", "multicast", "broadcast",
// "reserved" — or "" for an ordinary public address. An address that
// embeds an IPv4 address (IPv4-mapped, NAT64, IPv4-compatible,
// IPv4-translated, 6to4) is judged by its IPv4 part.
func SpecialAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	if v4, ok := embeddedV4(ip); ok {
		ip = v4
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsPrivate(), siteLocal6.Contains(ip), benchmarkV4.Contains(ip), nat64Local.Contains(ip):
		return "private"
	case sharedNet.Contains(ip):
		return "shared"
	case ip.IsUnspecified(), thisNet.Contains(ip):
		return "unspecified"
	case ip.IsMulticast():
		return "multicast"
	case ip == broadcastV4:
		return "broadcast"
	case reservedV4.Contains(ip):
		return "reserved"
	}
	return ""
}

// NewRules parses the allow and deny lists. Each list is given with the key
// its entries are named by in rule texts.
func NewRules(allow, deny []KeyedList) (*Rules, error) {
	rs := &Rules{}
	for _, l := range allow {
		for _, s := range l.Entries {
			r, err := ParseRule(l.Key, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.Key, err)
			}
			rs.Allow = append(rs.Allow, r)
		}
	}
	for _, l := range deny {
		for _, s := range l.Entries {
			r, err := ParseRule(l.Key, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.Key, err)
			}
			rs.Deny = append(rs.Deny, r)
		}
	}
	return rs, nil
}

// KeyedList is a list of host patterns and the policy key they came from.
type KeyedList struct {
	Key     string
	Entries []string
}
