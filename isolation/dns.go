package isolation

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The DNS responder. Without host networking the sandbox has no resolver:
// a program that looks a name up itself (instead of leaving it to the
// proxy) sends its query to a nameserver of /etc/resolv.conf. The init
// puts those addresses on the sandbox's loopback and hands sockets bound
// to port 53 on them to sbshim, which answers every query at once with
// REFUSED — the program fails fast instead of waiting for a timeout, and
// never learns an address — and reports the name and type that were
// looked up, and why. The parsing here is strict and bounded: the queries
// come from the sandboxed program.

// DNSLayer is the Layer of the Events the DNS responder reports.
const DNSLayer = "dns"

// DNS message limits.
const (
	dnsHeaderLen  = 12
	dnsMaxName    = 255 // wire length of a name, root label included
	dnsMaxLabel   = 63
	dnsMaxJumps   = 16 // compression pointers followed in one name
	dnsMaxMessage = 4096
	// maxResolvers bounds the nameservers the sandbox answers for.
	maxResolvers = 8
	// dnsRcodeFormErr, dnsRcodeNotImp and dnsRcodeRefused are the
	// response codes sbshim answers with.
	dnsRcodeFormErr = 1
	dnsRcodeNotImp  = 4
	dnsRcodeRefused = 5
)

var (
	errDNSShort    = errors.New("dns: message truncated")
	errDNSResponse = errors.New("dns: not a query")
	errDNSNoQuest  = errors.New("dns: no question")
	errDNSLabel    = errors.New("dns: bad label")
	errDNSLong     = errors.New("dns: name too long")
	errDNSPointer  = errors.New("dns: bad compression pointer")
)

// dnsQuery is a DNS query's header and first question.
type dnsQuery struct {
	ID    uint16
	Flags uint16
	// Name is the question's name in wire form, uncompressed, ending
	// with the root label.
	Name  []byte
	Type  uint16
	Class uint16
}

// parseDNSQuery decodes the header and the first question of msg. It
// refuses responses, messages without a question and any malformed name:
// labels longer than 63 bytes, names longer than 255, reserved label
// types, and compression pointers that do not point strictly backwards
// into the message body or that chain more than dnsMaxJumps times.
func parseDNSQuery(msg []byte) (dnsQuery, error) {
	var q dnsQuery
	if len(msg) < dnsHeaderLen {
		return q, errDNSShort
	}
	be := binary.BigEndian
	q.ID, q.Flags = be.Uint16(msg), be.Uint16(msg[2:])
	if q.Flags&0x8000 != 0 {
		return q, errDNSResponse
	}
	if be.Uint16(msg[4:]) == 0 {
		return q, errDNSNoQuest
	}
	name, off, err := readDNSName(msg, dnsHeaderLen)
	if err != nil {
		return q, err
	}
	if off+4 > len(msg) {
		return q, errDNSShort
	}
	q.Name = name
	q.Type, q.Class = be.Uint16(msg[off:]), be.Uint16(msg[off+2:])
	return q, nil
}

// readDNSName reads the name at off: its uncompressed wire form and the
// offset just past it in msg.
func readDNSName(msg []byte, off int) ([]byte, int, error) {
	name := make([]byte, 0, 64)
	next := -1
	limit := off // a pointer must land before this
	for jumps := 0; ; {
		if off >= len(msg) {
			return nil, 0, errDNSShort
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				name = append(name, 0)
				if next < 0 {
					next = off + 1
				}
				return name, next, nil
			}
			if off+1+l > len(msg) {
				return nil, 0, errDNSShort
			}
			if len(name)+1+l+1 > dnsMaxName {
				return nil, 0, errDNSLong
			}
			name = append(name, msg[off:off+1+l]...)
			off += 1 + l
		case 0xC0:
			if off+2 > len(msg) {
				return nil, 0, errDNSShort
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
			// Before where the name (or the last jump) began, and
			// never into the header: every jump lands earlier than
			// the last, so no loop. (The first question's name can
			// hold none.)
			if ptr < dnsHeaderLen || ptr >= limit || jumps >= dnsMaxJumps {
				return nil, 0, errDNSPointer
			}
			jumps++
			limit = ptr
			if next < 0 {
				next = off + 2
			}
			off = ptr
		default:
			return nil, 0, errDNSLabel
		}
	}
}

// dnsNameText is the presentation form of a wire name: labels joined by
// dots, ASCII letters in lower case, "." and "\" in a label escaped with
// "\", other bytes outside printable ASCII as \DDD; the root is ".".
func dnsNameText(wire []byte) string {
	if len(wire) <= 1 {
		return "."
	}
	var b strings.Builder
	for i := 0; i < len(wire) && wire[i] != 0; {
		l := int(wire[i])
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		for _, c := range wire[i+1 : min(i+1+l, len(wire))] {
			switch {
			case c == '.' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= 'A' && c <= 'Z':
				b.WriteByte(c + 'a' - 'A')
			case c > ' ' && c < 0x7f:
				b.WriteByte(c)
			default:
				b.WriteString("\\" + strconv.FormatUint(uint64(c)+1000, 10)[1:])
			}
		}
		i += 1 + l
	}
	return b.String()
}

// dnsTypeText names a record type as DNS tools do: the common ones by
// name, others as TYPEnnn.
func dnsTypeText(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 12:
		return "PTR"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	case 43:
		return "DS"
	case 46:
		return "RRSIG"
	case 48:
		return "DNSKEY"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 252:
		return "AXFR"
	case 255:
		return "ANY"
	case 257:
		return "CAA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Target is what a report names: "example.com A"; a class other than IN
// and an opcode other than QUERY are named too.
func (q dnsQuery) Target() string {
	s := dnsNameText(q.Name) + " " + dnsTypeText(q.Type)
	switch q.Class {
	case 1:
	case 3:
		s += " CH"
	default:
		s += " CLASS" + strconv.Itoa(int(q.Class))
	}
	if op := q.Flags >> 11 & 0xF; op != 0 {
		s = "opcode " + strconv.Itoa(int(op)) + " " + s
	}
	return s
}

// dnsMalformed is the Target of a message to a resolver that is not a
// query sbshim can read.
const dnsMalformed = "(malformed DNS message)"

// dnsAnswer is the responder's whole logic for one message: the response
// to send (nil: none) and the target to report. A query gets REFUSED
// (NOTIMP for an opcode other than QUERY) with its question echoed; a
// malformed message with a readable header gets FORMERR; responses and
// shorter messages get nothing.
func dnsAnswer(msg []byte) ([]byte, string) {
	q, err := parseDNSQuery(msg)
	switch {
	case err == nil:
		rcode := uint16(dnsRcodeRefused)
		if q.Flags>>11&0xF != 0 {
			rcode = dnsRcodeNotImp
		}
		return dnsResponse(q, rcode, true), q.Target()
	case errors.Is(err, errDNSShort) && len(msg) < dnsHeaderLen, errors.Is(err, errDNSResponse):
		return nil, dnsMalformed
	default:
		return dnsResponse(q, dnsRcodeFormErr, false), dnsMalformed
	}
}

// dnsResponse builds the answer to q: no records, rcode, the question
// echoed when withQuestion.
func dnsResponse(q dnsQuery, rcode uint16, withQuestion bool) []byte {
	be := binary.BigEndian
	out := make([]byte, dnsHeaderLen, dnsHeaderLen+len(q.Name)+4)
	be.PutUint16(out, q.ID)
	// QR, the query's opcode and RD; no AA, TC or RA.
	be.PutUint16(out[2:], 0x8000|q.Flags&0x7800|q.Flags&0x0100|rcode)
	if withQuestion {
		be.PutUint16(out[4:], 1)
		out = append(out, q.Name...)
		out = be.AppendUint16(out, q.Type)
		out = be.AppendUint16(out, q.Class)
	}
	return out
}

// parseResolvConf returns the nameserver addresses of a resolv.conf, at
// most maxResolvers, without duplicates; with none, the resolver
// libraries' default, the local host. Scoped (link-local) and
// unspecified addresses are left out: they name nothing the sandbox's
// network could hold.
func parseResolvConf(data []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() && len(out) < maxResolvers {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || a.Zone() != "" || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() {
			continue
		}
		a = a.Unmap()
		if !containsAddr(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	return out
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// dnsRule explains a refused lookup. node is what is known of the program
// when it is Node: its version ("" when it could not be read).
func dnsRule(mode policy.NetworkMode, isNode bool, nodeVersion string) string {
	if mode != policy.NetProxy {
		return "network.mode " + string(mode)
	}
	const generic = "network.mode proxy: the program resolves names itself instead of using the proxy sbshim set (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY)"
	const fix = "upgrade Node (sbshim sets NODE_USE_ENV_PROXY) or use a proxy agent"
	if !isNode {
		return generic
	}
	major, minor, ok := parseNodeVersion(nodeVersion)
	switch {
	case !ok:
		return generic + "; if this is Node before 22.21 or 24.5, its fetch and http ignore HTTP_PROXY: " + fix
	case nodeHonoursProxyEnv(major, minor):
		return generic + "; Node " + nodeVersion + " honours them in fetch and http, not in dns.lookup or net.connect"
	}
	return "network.mode proxy: Node " + nodeVersion + " ignores HTTP_PROXY in fetch and http (before 22.21 and 24.5): " + fix
}

// nodeHonoursProxyEnv says whether Node major.minor reads the proxy
// variables in fetch and http under NODE_USE_ENV_PROXY.
func nodeHonoursProxyEnv(major, minor int) bool {
	return major > 24 || major == 24 && minor >= 5 || major == 22 && minor >= 21
}

// parseNodeVersion reads "vMAJOR.MINOR.PATCH".
func parseNodeVersion(v string) (int, int, bool) {
	f := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(f) != 3 || !strings.HasPrefix(v, "v") {
		return 0, 0, false
	}
	var n [3]int
	for i, s := range f {
		x, err := strconv.Atoi(s)
		if err != nil || x < 0 || x > 9999 || s == "" || s[0] == '+' {
			return 0, 0, false
		}
		n[i] = x
	}
	return n[0], n[1], true
}

// isNodeExe says whether an executable's name is Node's.
func isNodeExe(exe string) bool {
	base := exe[strings.LastIndexByte(exe, '/')+1:]
	base = strings.TrimSuffix(base, " (deleted)")
	if base == "nodejs" {
		return true
	}
	rest, ok := strings.CutPrefix(base, "node")
	return ok && strings.Trim(rest, "0123456789.-") == ""
}

// findNodeVersion finds Node's version ("v20.20.2") in a chunk of its
// executable, "" if none is there. The markers that precede it are
// process.release's source URL and the inspector's user agent.
func findNodeVersion(data []byte) string {
	for _, m := range [][]byte{[]byte("nodejs.org/download/release/v"), []byte("\x00node.js/v")} {
		rest := data
		for {
			i := bytes.Index(rest, m)
			if i < 0 {
				break
			}
			rest = rest[i+len(m):]
			j := 0
			for j < len(rest) && j < 20 && (rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
				j++
			}
			v := "v" + strings.TrimSuffix(string(rest[:j]), ".")
			if _, _, ok := parseNodeVersion(v); ok {
				return v
			}
		}
	}
	return ""
}
