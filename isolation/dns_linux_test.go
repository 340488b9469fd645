package isolation

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

func TestProcNetAddr(t *testing.T) {
	cases := map[string]string{
		"0100007F:0035":                         "127.0.0.1:53",
		"35FFFF0A:D431":                         "10.255.255.53:54321",
		"00000000000000000000000001000000:0035": "[::1]:53",
		"0000000000000000FFFF00003500007F:0035": "[::ffff:127.0.0.53]:53",
		"B80D0120000000000000000001000000:01BB": "[2001:db8::1]:443",
	}
	for in, want := range cases {
		got, ok := procNetAddr(in)
		if !ok || got.String() != want {
			t.Errorf("procNetAddr(%q) = %v %v, want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:", "0100007G:0035", "0100007F:10000", "01007F:0035"} {
		if _, ok := procNetAddr(bad); ok {
			t.Errorf("procNetAddr(%q) accepted", bad)
		}
	}
}

// TestScanNodeVersion finds the version where it straddles a chunk
// boundary, and not past the scan's bound.
func TestScanNodeVersion(t *testing.T) {
	marker := "\x00https://nodejs.org/download/release/v20.20.2/"
	for _, at := range []int{0, 1<<20 - 10, 1<<20 - 40, 3<<20 + 5} {
		data := append(bytes.Repeat([]byte{0xAB}, at), marker...)
		if got := scanNodeVersion(bytes.NewReader(data)); got != "v20.20.2" {
			t.Errorf("at %d: %q", at, got)
		}
	}
	far := io.MultiReader(io.LimitReader(zeroReader{}, nodeScanBytes+(2<<20)), strings.NewReader(marker))
	if got := scanNodeVersion(far); got != "" {
		t.Errorf("found %q past the bound", got)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// newTestResponder serves a responder on a UDP socket and a TCP listener
// of the host's loopback (any port: what matters is what it does with
// what arrives). Reports are collected.
func newTestResponder(t *testing.T) (*dnsResponder, net.Addr, net.Addr, func() []Event) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uaddr, taddr := pc.LocalAddr(), ln.Addr()
	uf, _ := pc.(*net.UDPConn).File()
	tf, _ := ln.(*net.TCPListener).File()
	pc.Close()
	ln.Close()
	var mu sync.Mutex
	var evs []Event
	r := newDNSResponder(policy.NetProxy, func(e Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }, 0)
	// add takes the descriptors it is given, as from the init: copies.
	ufd, err1 := unix.Dup(int(uf.Fd()))
	tfd, err2 := unix.Dup(int(tf.Fd()))
	uf.Close()
	tf.Close()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if err := r.add(ufd, tfd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r, uaddr, taddr, func() []Event { mu.Lock(); defer mu.Unlock(); return append([]Event(nil), evs...) }
}

// TestDNSResponderHostile: a responder answers over UDP and TCP, bounds
// its TCP connections, survives garbage and lying length prefixes, and
// stops although connections are still open.
func TestDNSResponderHostile(t *testing.T) {
	_, uaddr, taddr, events := newTestResponder(t)
	query := dnsMsgOf(0x1234, 0x0100, 1, wireName("some.name.test"), typeClass(1, 1))
	ask := func() []byte {
		c, err := net.Dial("udp", uaddr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(query); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	checkResponse(t, query, ask(), dnsRcodeRefused, 1)

	// Idle TCP connections up to the limit, one more is closed at once.
	var idle []net.Conn
	for range dnsTCPConns {
		c, err := net.Dial("tcp", taddr.String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
		// A length prefix that promises more than ever comes.
		_, _ = c.Write([]byte{0x0f, 0xff, 1, 2, 3})
	}
	extra, err := net.Dial("tcp", taddr.String())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a connection past the limit was served (%d bytes)", n)
	}
	extra.Close()
	// UDP is still answered while every TCP slot is held.
	checkResponse(t, query, ask(), dnsRcodeRefused, 1)
	// Garbage over UDP: no answer to a runt, FORMERR to a bad name.
	c, _ := net.Dial("udp", uaddr.String())
	_, _ = c.Write([]byte{1, 2, 3})
	bad := dnsMsgOf(9, 0, 1, []byte("\xc0\x0c"))
	_, _ = c.Write(bad)
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, bad, buf[:n], dnsRcodeFormErr, 0)
	c.Close()
	for _, c := range idle {
		c.Close()
	}
	// A TCP query, after the slots came free, is answered.
	var tc net.Conn
	for {
		tc, err = net.Dial("tcp", taddr.String())
		if err != nil {
			t.Fatal(err)
		}
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(query)))
		if _, err := tc.Write(append(msg, query...)); err != nil {
			t.Fatal(err)
		}
		var l [2]byte
		if _, err := io.ReadFull(tc, l[:]); err != nil {
			tc.Close()
			continue // the slots are freed as the closes arrive
		}
		resp := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(tc, resp); err != nil {
			t.Fatal(err)
		}
		checkResponse(t, query, resp, dnsRcodeRefused, 1)
		break
	}
	tc.Close()
	var targets []string
	for _, e := range events() {
		if e.Kind != "net" || e.Op != "dns" || e.Layer != DNSLayer || !strings.Contains(e.Rule, "network.mode proxy") {
			t.Fatalf("event %+v", e)
		}
		targets = append(targets, e.Target)
	}
	got := strings.Join(targets, "|")
	if strings.Count(got, "some.name.test A") < 3 || !strings.Contains(got, dnsMalformed) {
		t.Fatalf("reports %q", got)
	}
}

// TestDNSResponderStops: stop returns while a client holds a TCP
// connection open mid-message.
func TestDNSResponderStops(t *testing.T) {
	r, _, taddr, _ := newTestResponder(t)
	c, err := net.Dial("tcp", taddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{0, 40, 1})
	// The connection is being served once a query on another is
	// answered (accept is sequential).
	c2, _ := net.Dial("tcp", taddr.String())
	q := dnsMsgOf(1, 0, 1, wireName("x"), typeClass(1, 1))
	_, _ = c2.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	if _, err := io.ReadFull(c2, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	r.stop()
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes after stop", n)
	}
}

func TestResolverGate(t *testing.T) {
	r := &dnsResponder{addrs: []netip.Addr{netip.MustParseAddr("10.255.255.53"), netip.MustParseAddr("127.0.0.53")}}
	gate := r.gate(policy.NetProxy)
	for ap, ok := range map[string]bool{
		"10.255.255.53:53": true, "10.255.255.53:80": false, "[::ffff:10.255.255.53]:80": false,
		"127.0.0.53:80": true, "192.0.2.1:443": true, "[::1]:53": true,
	} {
		if _, got := gate(netip.MustParseAddrPort(ap)); got != ok {
			t.Errorf("gate(%s) = %v", ap, got)
		}
	}
	var none *dnsResponder
	if none.isResolver(netip.MustParseAddr("10.255.255.53")) {
		t.Fatal("a nil responder serves addresses")
	}
}

// TestDNSSocketsInNetns builds what the init builds — resolver addresses
// on the loopback of a fresh network namespace, IPv4 and IPv6, and the
// sockets on their port 53 — and has a responder answer queries sent to
// each. It runs in a child of the test binary made in new user and
// network namespaces.
func TestDNSSocketsInNetns(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53"), netip.MustParseAddr("127.0.0.53")}
	if os.Getenv("SBSHIM_TEST_DNS_NETNS") != "1" {
		cmd := exec.Command("/proc/self/exe", "-test.run=^TestDNSSocketsInNetns$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SBSHIM_TEST_DNS_NETNS=1")
		uid, gid := os.Getuid(), os.Getgid()
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		}
		if uid != 0 {
			cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE}
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDNSSocketsInNetns") {
			t.Fatalf("in a new network namespace: %v\n%s", err, out)
		}
		return
	}
	if err := loopbackUp(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []Event
	r := newDNSResponder(policy.NetNone, func(e Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }, 0)
	defer r.stop()
	for _, a := range addrs {
		udp, tcp, err := resolverSockets(a)
		if err != nil {
			t.Fatal(err)
		}
		// Twice is no error (EEXIST).
		if err := addLoopbackAddr(a); err != nil && !a.IsLoopback() {
			t.Fatal(err)
		}
		if err := r.add(udp, tcp); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range addrs {
		name := strings.ReplaceAll(a.String(), ":", "-") + ".test"
		query := dnsMsgOf(7, 0x0100, 1, wireName(name), typeClass(28, 1))
		c, err := net.Dial("udp", netip.AddrPortFrom(a, 53).String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(query); err != nil {
			t.Fatal(err)
		}
		// Against a hang only: the answer comes at once or never.
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		checkResponse(t, query, buf[:n], dnsRcodeRefused, 1)
		mu.Lock()
		found := slices.ContainsFunc(evs, func(e Event) bool { return e.Target == name+" AAAA" && e.Rule == "network.mode none" })
		mu.Unlock()
		if !found {
			t.Fatalf("no report of %s AAAA: %+v", name, evs)
		}
	}
	if !r.isResolver(netip.MustParseAddr("::ffff:192.0.2.53")) || r.isResolver(netip.MustParseAddr("192.0.2.54")) {
		t.Fatalf("resolver addresses %v", r.addrs)
	}
}

// TestReadResolvConf: a regular file is read (bounded); a FIFO in its
// place does not hang the reader.
func TestReadResolvConf(t *testing.T) {
	dir := t.TempDir()
	reg := dir + "/resolv.conf"
	if err := os.WriteFile(reg, []byte("nameserver 192.0.2.53\n"+strings.Repeat("#", 2*resolvConfMax)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readResolvConf(reg); len(got) != resolvConfMax || !strings.HasPrefix(string(got), "nameserver 192.0.2.53\n") {
		t.Fatalf("read %d bytes", len(got))
	}
	fifo := dir + "/fifo"
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readResolvConf(fifo); got != nil {
		t.Fatalf("read %q from a FIFO", got)
	}
	if got := readResolvConf(dir + "/missing"); got != nil {
		t.Fatalf("read %q from nothing", got)
	}
}

// A session scans at most nodeScans executables for Node's version: a
// program can make any number of files called node, and each scan reads
// up to nodeScanBytes. Past the budget the version is unknown; what was
// found stays known.
func TestNodeVersionScansAreBudgeted(t *testing.T) {
	r := &dnsResponder{owners: make(map[string]owner), nodes: make(map[string]string)}
	dir := t.TempDir()
	var files []*os.File
	for i := range nodeScans + 3 {
		p := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("pad%d\x00https://nodejs.org/download/release/v20.20.2/\x00", i)), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	for i, f := range files {
		want := "v20.20.2"
		if i >= nodeScans {
			want = ""
		}
		if got := r.nodeVersionOf(f); got != want {
			t.Errorf("file %d: version %q, want %q", i, got, want)
		}
	}
	if got := r.nodeVersionOf(files[0]); got != "v20.20.2" {
		t.Errorf("a file scanned before: version %q, want it remembered", got)
	}
}

// Tracing a query or a refused connection to its process reads the
// sandbox's socket tables and descriptors: a flood gets attributionBurst
// at once, then attributionRate a second.
func TestAttributionIsRateLimited(t *testing.T) {
	r := &traceGate{}
	now := time.Unix(1000, 0)
	n := 0
	for range 3 * attributionBurst {
		if r.allow(now) {
			n++
		}
	}
	if n != attributionBurst {
		t.Errorf("%d attributions at once, want %d", n, attributionBurst)
	}
	now = now.Add(100 * time.Millisecond)
	n = 0
	for range attributionBurst {
		if r.allow(now) {
			n++
		}
	}
	if n != attributionRate/10 {
		t.Errorf("%d attributions 100 ms later, want %d", n, attributionRate/10)
	}
}
