package isolation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// dnsMsgOf builds a query: header id/flags/qdcount, then body.
func dnsMsgOf(id, flags, qd uint16, body ...[]byte) []byte {
	be := binary.BigEndian
	m := be.AppendUint16(nil, id)
	m = be.AppendUint16(m, flags)
	m = be.AppendUint16(m, qd)
	m = append(m, 0, 0, 0, 0, 0, 0)
	for _, b := range body {
		m = append(m, b...)
	}
	return m
}

// wireName encodes dotted labels (no escapes) as a wire name.
func wireName(s string) []byte {
	var out []byte
	if s != "" {
		for _, l := range strings.Split(s, ".") {
			out = append(out, byte(len(l)))
			out = append(out, l...)
		}
	}
	return append(out, 0)
}

func typeClass(t, c uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, t), c)
}

func TestParseDNSQuery(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct {
		name   string
		msg    []byte
		target string
		err    error
	}{
		{"A", dnsMsgOf(7, 0x0100, 1, wireName("Example.COM"), typeClass(1, 1)), "example.com A", nil},
		{"AAAA", dnsMsgOf(7, 0, 1, wireName("some.name.test"), typeClass(28, 1)), "some.name.test AAAA", nil},
		{"HTTPS", dnsMsgOf(7, 0, 1, wireName("x.test"), typeClass(65, 1)), "x.test HTTPS", nil},
		{"unknown type", dnsMsgOf(7, 0, 1, wireName("x.test"), typeClass(999, 1)), "x.test TYPE999", nil},
		{"chaos class", dnsMsgOf(7, 0, 1, wireName("version.bind"), typeClass(16, 3)), "version.bind TXT CH", nil},
		{"other class", dnsMsgOf(7, 0, 1, wireName("x"), typeClass(1, 9)), "x A CLASS9", nil},
		{"root", dnsMsgOf(7, 0, 1, wireName(""), typeClass(2, 1)), ". NS", nil},
		{"opcode", dnsMsgOf(7, 5<<11, 1, wireName("x.test"), typeClass(6, 1)), "opcode 5 x.test SOA", nil},
		{"escapes", dnsMsgOf(7, 0, 1, []byte("\x03a.b\x04\x00\n\\\xff\x00"), typeClass(1, 1)), `a\.b.\000\010\\\255 A`, nil},
		{"max label", dnsMsgOf(7, 0, 1, wireName(long), typeClass(1, 1)), long + " A", nil},
		{"pointer back into the name", dnsMsgOf(7, 0, 1, []byte("\x01a\x01b\xc0\x0e"), typeClass(1, 1)), "", errDNSPointer},
		{"short header", []byte{0, 1, 0}, "", errDNSShort},
		{"response", dnsMsgOf(7, 0x8000, 1, wireName("x"), typeClass(1, 1)), "", errDNSResponse},
		{"no question", dnsMsgOf(7, 0, 0), "", errDNSNoQuest},
		{"truncated label", dnsMsgOf(7, 0, 1, []byte("\x05ab")), "", errDNSShort},
		{"no type", dnsMsgOf(7, 0, 1, wireName("x"), []byte{0, 1}), "", errDNSShort},
		{"no root label", dnsMsgOf(7, 0, 1, []byte("\x01x")), "", errDNSShort},
		{"pointer to itself", dnsMsgOf(7, 0, 1, []byte("\xc0\x0c"), typeClass(1, 1)), "", errDNSPointer},
		{"pointer forward", dnsMsgOf(7, 0, 1, []byte("\xc0\x0e\x01x\x00"), typeClass(1, 1)), "", errDNSPointer},
		{"pointer into the header", dnsMsgOf(7, 0, 1, []byte("\xc0\x02"), typeClass(1, 1)), "", errDNSPointer},
		{"pointer loop", dnsMsgOf(7, 0, 1, []byte("\x01a\xc0\x0c"), typeClass(1, 1)), "", errDNSPointer},
		{"truncated pointer", dnsMsgOf(7, 0, 1, []byte("\x01a\xc0")), "", errDNSShort},
		{"reserved label type", dnsMsgOf(7, 0, 1, []byte("\x41x\x00"), typeClass(1, 1)), "", errDNSLabel},
		{"name too long", dnsMsgOf(7, 0, 1, wireName(strings.Repeat(long+".", 4)[:255]), typeClass(1, 1)), "", errDNSLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := parseDNSQuery(tc.msg)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && tc.target != "" && q.Target() != tc.target {
				t.Fatalf("target %q, want %q", q.Target(), tc.target)
			}
		})
	}
}

// TestDNSPointerChain: a question made of backward pointers resolves, up
// to dnsMaxJumps of them.
func TestDNSPointerChain(t *testing.T) {
	for _, jumps := range []int{1, dnsMaxJumps, dnsMaxJumps + 1} {
		// Label "a" at 12, then each entry at off: label "b" + pointer to
		// the previous entry.
		body := []byte("\x01a\x00")
		prev := dnsHeaderLen
		for range jumps - 1 {
			off := dnsHeaderLen + len(body)
			body = append(body, 1, 'b', 0xC0|byte(prev>>8), byte(prev))
			prev = off
		}
		start := dnsHeaderLen + len(body)
		// The question itself: a name made of one pointer.
		body = append(body, 0xC0|byte(prev>>8), byte(prev))
		body = append(body, typeClass(1, 1)...)
		msg := dnsMsgOf(1, 0, 1, body)
		// The question is not first here: parse from start.
		name, next, err := readDNSName(msg, start)
		if jumps > dnsMaxJumps {
			if !errors.Is(err, errDNSPointer) {
				t.Fatalf("%d jumps: %v, want a pointer error", jumps, err)
			}
			continue
		}
		want := strings.TrimSuffix(strings.Repeat("b.", jumps-1)+"a", ".")
		if err != nil || dnsNameText(name) != want || next != start+2 {
			t.Fatalf("%d jumps: %q next %d err %v, want %q next %d", jumps, dnsNameText(name), next, err, want, start+2)
		}
	}
}

func TestDNSAnswer(t *testing.T) {
	cases := []struct {
		name   string
		msg    []byte
		rcode  int // -1: no response
		qd     int
		target string
	}{
		{"query", dnsMsgOf(0xbeef, 0x0100, 1, wireName("a.test"), typeClass(1, 1)), dnsRcodeRefused, 1, "a.test A"},
		{"two questions", dnsMsgOf(0xbeef, 0, 2, wireName("a.test"), typeClass(28, 1), wireName("b.test"), typeClass(1, 1)), dnsRcodeRefused, 1, "a.test AAAA"},
		{"notify", dnsMsgOf(1, 4<<11, 1, wireName("a.test"), typeClass(6, 1)), dnsRcodeNotImp, 1, "opcode 4 a.test SOA"},
		{"malformed", dnsMsgOf(1, 0, 1, []byte("\xc0\x0c")), dnsRcodeFormErr, 0, dnsMalformed},
		{"no question", dnsMsgOf(1, 0, 0), dnsRcodeFormErr, 0, dnsMalformed},
		{"response", dnsMsgOf(1, 0x8000, 1, wireName("a.test"), typeClass(1, 1)), -1, 0, dnsMalformed},
		{"runt", []byte{1, 2, 3}, -1, 0, dnsMalformed},
		{"empty", nil, -1, 0, dnsMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, target := dnsAnswer(tc.msg)
			if target != tc.target {
				t.Fatalf("target %q, want %q", target, tc.target)
			}
			if tc.rcode < 0 {
				if resp != nil {
					t.Fatalf("answered %x", resp)
				}
				return
			}
			checkResponse(t, tc.msg, resp, tc.rcode, tc.qd)
		})
	}
}

// checkResponse checks the invariants of an answer to query: same id and
// opcode and RD, QR set, no AA/TC/RA, the rcode, no records, the question
// echoed (qd 1) or none.
func checkResponse(t *testing.T, query, resp []byte, rcode, qd int) {
	t.Helper()
	be := binary.BigEndian
	if len(resp) < dnsHeaderLen {
		t.Fatalf("short response %x", resp)
	}
	if be.Uint16(resp) != be.Uint16(query) {
		t.Fatalf("id %x, want %x", be.Uint16(resp), be.Uint16(query))
	}
	qf, rf := be.Uint16(query[2:]), be.Uint16(resp[2:])
	if rf&0x8000 == 0 || rf&0x7800 != qf&0x7800 || rf&0x0100 != qf&0x0100 || rf&0x0680 != 0 || int(rf&0xF) != rcode {
		t.Fatalf("flags %04x for query flags %04x, want rcode %d", rf, qf, rcode)
	}
	if int(be.Uint16(resp[4:])) != qd || be.Uint16(resp[6:]) != 0 || be.Uint16(resp[8:]) != 0 || be.Uint16(resp[10:]) != 0 {
		t.Fatalf("counts %x", resp[4:12])
	}
	if qd == 0 {
		if len(resp) != dnsHeaderLen {
			t.Fatalf("response carries %d bytes after the header", len(resp)-dnsHeaderLen)
		}
		return
	}
	q, err := parseDNSQuery(append(append([]byte(nil), resp[:2]...), append([]byte{0, 0}, resp[4:]...)...))
	orig, err2 := parseDNSQuery(query)
	if err != nil || err2 != nil || !bytes.Equal(q.Name, orig.Name) || q.Type != orig.Type || q.Class != orig.Class {
		t.Fatalf("question not echoed: %x for %x (%v, %v)", resp, query, err, err2)
	}
	if len(resp) != dnsHeaderLen+len(orig.Name)+4 {
		t.Fatalf("response has %d trailing bytes", len(resp)-dnsHeaderLen-len(orig.Name)-4)
	}
}

// FuzzDNSAnswer: no input panics; every answer is a well-formed response
// to the query that echoes its question; targets are bounded and the
// parser never reads a name longer than a DNS name can be.
func FuzzDNSAnswer(f *testing.F) {
	f.Add(dnsMsgOf(7, 0x0100, 1, wireName("example.com"), typeClass(1, 1)))
	f.Add(dnsMsgOf(7, 0, 1, []byte("\x01a\x00\x01b\xc0\x0c\xc0\x0f"), typeClass(28, 1)))
	f.Add(dnsMsgOf(7, 0, 1, []byte("\xc0\x0c")))
	f.Add(dnsMsgOf(7, 0, 1, []byte("\x3fabc")))
	f.Add(dnsMsgOf(7, 0x8000, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > dnsMaxMessage {
			msg = msg[:dnsMaxMessage]
		}
		resp, target := dnsAnswer(msg)
		// The longest name escapes each of its at most 253 bytes
		// as 4; a type, class and opcode add little.
		if target == "" || len(target) > 4*dnsMaxName+64 {
			t.Fatalf("target %q", target)
		}
		q, err := parseDNSQuery(msg)
		if err == nil && len(q.Name) > dnsMaxName {
			t.Fatalf("name of %d bytes", len(q.Name))
		}
		if resp == nil {
			if err == nil {
				t.Fatalf("no answer to a query")
			}
			return
		}
		switch {
		case err != nil:
			checkResponse(t, msg, resp, dnsRcodeFormErr, 0)
		case q.Flags>>11&0xF != 0:
			checkResponse(t, msg, resp, dnsRcodeNotImp, 1)
		default:
			checkResponse(t, msg, resp, dnsRcodeRefused, 1)
		}
	})
}

func TestParseResolvConf(t *testing.T) {
	local := "127.0.0.1 ::1"
	cases := []struct {
		conf string
		want string
	}{
		{"nameserver 10.255.255.53\n", "10.255.255.53"},
		{"# c\nsearch a b\nnameserver 1.1.1.1\nnameserver 2001:db8::1\nnameserver 1.1.1.1\noptions ndots:2\n", "1.1.1.1 2001:db8::1"},
		{"nameserver 127.0.0.53\n", "127.0.0.53"},
		{"nameserver ::ffff:10.0.0.1\n", "10.0.0.1"},
		{"nameserver fe80::1%eth0\nnameserver 0.0.0.0\nnameserver ff02::1\nnameserver junk\nnameserver\n", local},
		{"", local},
		{strings.Repeat("nameserver 10.0.0.1\n", 3) + "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\nnameserver 10.0.0.5\nnameserver 10.0.0.6\nnameserver 10.0.0.7\nnameserver 10.0.0.8\nnameserver 10.0.0.9\n",
			"10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8"},
		{strings.Repeat("x", 100<<10) + "\nnameserver 10.0.0.1\n", local},
	}
	for _, tc := range cases {
		var got []string
		for _, a := range parseResolvConf([]byte(tc.conf)) {
			got = append(got, a.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%.60q: %v, want %s", tc.conf, got, tc.want)
		}
	}
}

func TestDNSRule(t *testing.T) {
	cases := []struct {
		mode    policy.NetworkMode
		node    bool
		version string
		want    []string
		not     []string
	}{
		{policy.NetNone, true, "v20.20.2", []string{"network.mode none"}, []string{"Node"}},
		{policy.NetProxy, false, "", []string{"resolves names itself", "HTTP_PROXY/HTTPS_PROXY/ALL_PROXY"}, []string{"Node"}},
		{policy.NetProxy, true, "v20.20.2", []string{"Node v20.20.2 ignores HTTP_PROXY", "upgrade Node", "NODE_USE_ENV_PROXY", "proxy agent"}, []string{"if this is"}},
		{policy.NetProxy, true, "v22.20.0", []string{"Node v22.20.0 ignores"}, nil},
		{policy.NetProxy, true, "v24.4.1", []string{"Node v24.4.1 ignores"}, nil},
		{policy.NetProxy, true, "v23.11.0", []string{"Node v23.11.0 ignores"}, nil},
		{policy.NetProxy, true, "v22.21.0", []string{"resolves names itself", "Node v22.21.0 honours them"}, []string{"upgrade"}},
		{policy.NetProxy, true, "v24.5.0", []string{"Node v24.5.0 honours them"}, []string{"upgrade"}},
		{policy.NetProxy, true, "v25.0.0", []string{"Node v25.0.0 honours them"}, []string{"upgrade"}},
		{policy.NetProxy, true, "", []string{"resolves names itself", "if this is Node before 22.21 or 24.5", "upgrade Node"}, nil},
	}
	for _, tc := range cases {
		got := dnsRule(tc.mode, tc.node, tc.version)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s node=%v %q: %q lacks %q", tc.mode, tc.node, tc.version, got, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%s node=%v %q: %q has %q", tc.mode, tc.node, tc.version, got, w)
			}
		}
	}
}

func TestNodeDetection(t *testing.T) {
	for exe, want := range map[string]bool{
		"/usr/bin/node": true, "/usr/bin/nodejs": true, "/opt/n/node22": true, "/x/node-20.1": true,
		"/usr/bin/node (deleted)": true, "/usr/bin/nodemon": false, "/usr/bin/getent": false, "": false, "/bin/bun": false,
	} {
		if isNodeExe(exe) != want {
			t.Errorf("isNodeExe(%q) = %v", exe, !want)
		}
	}
	for data, want := range map[string]string{
		"xx\x00https://nodejs.org/download/release/v20.20.2/node-v20.20.2.tar.gz\x00": "v20.20.2",
		"\x00node.js/v22.21.1\x00(delegate_)":                                         "v22.21.1",
		"nodejs.org/download/release/vX/ nodejs.org/download/release/v24.5.0/":        "v24.5.0",
		"nodejs.org/download/release/v1.2/":                                           "",
		"v20.20.2":                                                                    "",
	} {
		if got := findNodeVersion([]byte(data)); got != want {
			t.Errorf("findNodeVersion(%q) = %q, want %q", data, got, want)
		}
	}
	for v, ok := range map[string]bool{"v20.20.2": true, "20.1.1": false, "v1.2": false, "v1.+2.3": false, "v1..3": false, "v99999.1.1": false} {
		if _, _, got := parseNodeVersion(v); got != ok {
			t.Errorf("parseNodeVersion(%q) ok = %v", v, got)
		}
	}
}

func TestResolverAddrsUnmapped(t *testing.T) {
	got := parseResolvConf([]byte("nameserver ::ffff:127.0.0.53"))
	if len(got) != 1 || got[0] != netip.MustParseAddr("127.0.0.53") {
		t.Fatalf("%v", got)
	}
}
