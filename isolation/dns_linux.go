package isolation

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// dnsMsg is the control message that carries one resolver address's
// sockets: UDP, then TCP, both bound to port 53 in the sandbox's network.
const dnsMsg = "dns"

// Responder limits.
const (
	// dnsTCPConns bounds the TCP connections served at once; more are
	// closed at once.
	dnsTCPConns = 16
	// dnsTCPQueries bounds the queries of one TCP connection.
	dnsTCPQueries = 8
	// dnsTCPTime bounds a TCP connection's life.
	dnsTCPTime = 10 * time.Second
	// dnsWriteTime bounds the send of one answer.
	dnsWriteTime = time.Second
	// dnsOwners bounds the cache of sockets attributed to processes.
	dnsOwners = 256
	// nodeScanBytes bounds what is read of an executable to find Node's
	// version; nodeVersions bounds the executables remembered, and
	// nodeScans the executables a session scans at all: a program can
	// make any number of files called node (sparse ones cost it nothing),
	// and each would cost sbshim a read of nodeScanBytes.
	nodeScanBytes = 192 << 20
	nodeVersions  = 16
	nodeScans     = 8

	// resolvConfMax bounds what is read of /etc/resolv.conf.
	resolvConfMax = 64 << 10
)

// sendDNS, in the init, puts the nameservers of the sandbox's
// /etc/resolv.conf on its loopback and hands sockets bound to port 53 on
// each to sbshim. An address that cannot be set up is left out: a query to
// it then fails as before, and the observer reports it by address.
func sendDNS(conn *os.File) error {
	for _, a := range parseResolvConf(readResolvConf("/etc/resolv.conf")) {
		udp, tcp, err := resolverSockets(a)
		if err != nil {
			continue
		}
		err = writeMsg(conn, dnsMsg, udp, tcp)
		unix.Close(udp)
		unix.Close(tcp)
		if err != nil {
			return fmt.Errorf("hand the DNS sockets to sbshim: %w", err)
		}
	}
	return nil
}

// readResolvConf reads at most resolvConfMax bytes of a regular file;
// nil for anything else (a FIFO must not hang the init).
func readResolvConf(p string) []byte {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(f, resolvConfMax))
	return data
}

// addLoopbackAddr adds a (as a host address) to "lo" through rtnetlink.
func addLoopbackAddr(a netip.Addr) error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	ne := binary.NativeEndian
	raw := a.AsSlice()
	family, bits := byte(unix.AF_INET), byte(32)
	if a.Is6() {
		family, bits = unix.AF_INET6, 128
	}
	attr := func(b []byte, typ uint16) []byte {
		b = ne.AppendUint16(b, uint16(unix.SizeofRtAttr+len(raw)))
		b = ne.AppendUint16(b, typ)
		b = append(b, raw...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	msg := make([]byte, unix.SizeofNlMsghdr, 128)
	msg = append(msg, family, bits, unix.IFA_F_NODAD, unix.RT_SCOPE_HOST)
	msg = ne.AppendUint32(msg, uint32(lo.Index))
	msg = attr(msg, unix.IFA_LOCAL)
	msg = attr(msg, unix.IFA_ADDRESS)
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.RTM_NEWADDR)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(msg[8:], 1)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("add %s to lo: %w", a, err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("add %s to lo: %w", a, err)
	}
	if n < unix.SizeofNlMsghdr+4 || ne.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("add %s to lo: unexpected netlink answer", a)
	}
	if e := -int32(ne.Uint32(buf[unix.SizeofNlMsghdr:])); e != 0 && unix.Errno(e) != unix.EEXIST {
		return fmt.Errorf("add %s to lo: %w", a, unix.Errno(e))
	}
	return nil
}

// waitRoutable waits until a datagram sent to a reaches it: the kernel
// finishes setting up a new IPv6 address from a work queue, a moment
// after the address was added, and until then datagrams to it are lost.
// At most about a second.
func waitRoutable(a netip.Addr) error {
	var err error
	for range 200 {
		if err = selfDatagram(a); err == nil {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("dns %s: datagrams do not arrive: %w", a, err)
}

// selfDatagram sends a datagram from a UDP socket on a to itself and
// waits a few milliseconds for it.
func selfDatagram(a netip.Addr) error {
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: a.As16()}
	if a.Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Addr: a.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sa); err != nil {
		return err
	}
	self, err := unix.Getsockname(fd)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 5000}); err != nil {
		return err
	}
	if err := unix.Sendto(fd, []byte("sbshim"), 0, self); err != nil {
		return err
	}
	var b [8]byte
	_, _, err = unix.Recvfrom(fd, b[:], 0)
	return err
}

// resolverSockets makes a an address of the sandbox's loopback, when it is
// not one yet, and returns a UDP and a listening TCP socket on a:53.
func resolverSockets(a netip.Addr) (int, int, error) {
	if !a.IsLoopback() {
		if err := addLoopbackAddr(a); err != nil {
			return -1, -1, err
		}
	}
	if err := waitRoutable(a); err != nil {
		return -1, -1, err
	}
	return dnsSockets(a)
}

// dnsSockets binds a UDP socket and a listening TCP socket to a:53.
func dnsSockets(a netip.Addr) (int, int, error) {
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: 53, Addr: a.As16()}
	if a.Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: 53, Addr: a.As4()}
	}
	open := func(typ int) (int, error) {
		fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		if family == unix.AF_INET6 {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		}
		if err == nil && typ == unix.SOCK_STREAM {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
		if err == nil {
			err = unix.Bind(fd, sa)
		}
		if err == nil && typ == unix.SOCK_STREAM {
			err = unix.Listen(fd, 64)
		}
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("dns %s:53: %w", a, err)
		}
		return fd, nil
	}
	udp, err := open(unix.SOCK_DGRAM)
	if err != nil {
		return -1, -1, err
	}
	tcp, err := open(unix.SOCK_STREAM)
	if err != nil {
		unix.Close(udp)
		return -1, -1, err
	}
	return udp, tcp, nil
}

// dnsResponder answers and reports the DNS queries of one sandbox.
type dnsResponder struct {
	mode    policy.NetworkMode
	report  func(Event)
	initPid int
	addrs   []netip.Addr
	closers []io.Closer
	slots   chan struct{} // TCP connections being served
	done    chan struct{} // closed by stop
	once    sync.Once
	wg      sync.WaitGroup

	mu     sync.Mutex        // guards owners and nodes
	owners map[string]owner  // socket inode → its process, as last found
	nodes  map[string]string // executable identity → Node version
	scans  int               // executables scanned so far (nodeScans at most)
	traces traceGate         // bounds how often a query is traced to its process
}

// owner is the process found holding a socket.
type owner struct {
	pid int
	fd  string // /proc/PID/fd/N, to check it still holds the socket
	exe string
}

func newDNSResponder(mode policy.NetworkMode, report func(Event), initPid int) *dnsResponder {
	if report == nil {
		report = func(Event) {}
	}
	return &dnsResponder{mode: mode, report: report, initPid: initPid,
		slots: make(chan struct{}, dnsTCPConns), done: make(chan struct{}),
		owners: make(map[string]owner), nodes: make(map[string]string)}
}

// add serves the sockets of one resolver address the init sent.
func (r *dnsResponder) add(udpFD, tcpFD int) error {
	uf := os.NewFile(uintptr(udpFD), "sbshim-dns-udp")
	pc, err := net.FilePacketConn(uf)
	uf.Close()
	tf := os.NewFile(uintptr(tcpFD), "sbshim-dns-tcp")
	var ln net.Listener
	if err == nil {
		ln, err = net.FileListener(tf)
	}
	tf.Close()
	if err != nil {
		if pc != nil {
			pc.Close()
		}
		return fmt.Errorf("dns responder: %w", err)
	}
	ap, err := netip.ParseAddrPort(pc.LocalAddr().String())
	if err != nil || len(r.addrs) >= maxResolvers {
		pc.Close()
		ln.Close()
		return fmt.Errorf("dns responder: unexpected socket %s", pc.LocalAddr())
	}
	r.addrs = append(r.addrs, ap.Addr().Unmap())
	r.closers = append(r.closers, pc, ln)
	r.wg.Add(2)
	go r.serveUDP(pc)
	go r.serveTCP(ln)
	return nil
}

// stop closes the sockets and waits for the answers under way.
func (r *dnsResponder) stop() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		close(r.done)
		for _, c := range r.closers {
			c.Close()
		}
		r.wg.Wait()
	})
}

// isResolver says whether a is one of the addresses the responder serves.
func (r *dnsResponder) isResolver(a netip.Addr) bool {
	return r != nil && slices.Contains(r.addrs, a.Unmap())
}

// gate decides the inet connects of the sandbox that involve a resolver
// address: port 53 reaches the responder; any other port there is
// refused as the empty network would have refused it before the address
// was put on loopback. Everything else is left to the sandbox's network.
func (r *dnsResponder) gate(mode policy.NetworkMode) func(netip.AddrPort) (string, bool) {
	return func(ap netip.AddrPort) (string, bool) {
		if a := ap.Addr().Unmap(); ap.Port() != 53 && !a.IsLoopback() && r.isResolver(a) {
			return directRule(mode, ap), false
		}
		return "", true
	}
}

func (r *dnsResponder) serveUDP(pc net.PacketConn) {
	defer r.wg.Done()
	buf := make([]byte, dnsMaxMessage)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			default:
				continue // e.g. a truncated datagram's error
			}
		}
		resp, target := dnsAnswer(buf[:n])
		client, _ := netip.ParseAddrPort(from.String())
		// Attributed and reported before the answer: the program waits
		// for it, so it is still there to be found, and its report is
		// on its way before it can act on the failure.
		r.report(r.event(target, "udp", client))
		if resp != nil {
			_ = pc.SetWriteDeadline(time.Now().Add(dnsWriteTime))
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

func (r *dnsResponder) serveTCP(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors: let some go
			continue
		}
		select {
		case r.slots <- struct{}{}:
			r.wg.Add(1)
			go r.serveConn(c)
		default:
			c.Close()
		}
	}
}

// serveConn answers the length-prefixed queries of one TCP connection:
// at most dnsTCPQueries, within dnsTCPTime, each at most dnsMaxMessage
// bytes long.
func (r *dnsResponder) serveConn(c net.Conn) {
	defer r.wg.Done()
	defer func() { <-r.slots }()
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-r.done:
			c.Close()
		case <-stop:
		}
	}()
	_ = c.SetDeadline(time.Now().Add(dnsTCPTime))
	client, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	buf := make([]byte, 2+dnsMaxMessage)
	for range dnsTCPQueries {
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(buf))
		if n > dnsMaxMessage {
			r.report(r.event(dnsMalformed, "tcp", client))
			return
		}
		if _, err := io.ReadFull(c, buf[2:2+n]); err != nil {
			return
		}
		resp, target := dnsAnswer(buf[2 : 2+n])
		r.report(r.event(target, "tcp", client))
		if resp != nil {
			out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
			if _, err := c.Write(append(out, resp...)); err != nil {
				return
			}
		}
	}
}

// event is the report of one query from client.
func (r *dnsResponder) event(target, proto string, client netip.AddrPort) Event {
	pid, exe := r.attribute(proto, client)
	isNode, version := false, ""
	if r.mode == policy.NetProxy && pid > 0 && isNodeExe(exe) {
		isNode, version = true, r.nodeVersion(pid)
	}
	return Event{Time: time.Now(), Kind: "net", Op: "dns", Target: target, PID: pid, Exe: exe,
		Rule: dnsRule(r.mode, isNode, version), Layer: DNSLayer}
}

// attribute finds the process of the sandbox that sent a query from
// client: the socket's inode from the sandbox's UDP or TCP table, then the
// process holding it (remembered, and checked again on the next query).
func (r *dnsResponder) attribute(proto string, client netip.AddrPort) (int, string) {
	if r.initPid <= 0 || !client.IsValid() || !r.traces.allow(time.Now()) {
		return 0, ""
	}
	var inode string
	for _, table := range []string{proto, proto + "6"} {
		inode = tableInode(r.initPid, table, func(local, remote netip.AddrPort) bool {
			if local.Port() != client.Port() {
				return false
			}
			la := local.Addr().Unmap()
			if proto == "tcp" {
				return la == client.Addr().Unmap() && remote.Port() == 53
			}
			return la == client.Addr().Unmap() || la.IsUnspecified()
		})
		if inode != "" {
			break
		}
	}
	if inode == "" {
		return 0, ""
	}
	want := "socket:[" + inode + "]"
	r.mu.Lock()
	o, ok := r.owners[inode]
	r.mu.Unlock()
	if ok {
		if l, err := os.Readlink(o.fd); err == nil && l == want {
			return o.pid, o.exe
		}
	}
	o, ok = socketOwner(r.initPid, inode)
	if !ok {
		return 0, ""
	}
	r.mu.Lock()
	if len(r.owners) >= dnsOwners {
		clear(r.owners)
	}
	r.owners[inode] = o
	r.mu.Unlock()
	return o.pid, o.exe
}

// nodeVersion reads Node's version out of the executable pid runs,
// without running it: a bounded scan for the version string it carries.
// "" when it cannot be found.
func (r *dnsResponder) nodeVersion(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	defer f.Close()
	return r.nodeVersionOf(f)
}

// nodeVersionOf is nodeVersion of an open executable.
func (r *dnsResponder) nodeVersionOf(f *os.File) string {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ""
	}
	id := fmt.Sprintf("%d:%d:%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	r.mu.Lock()
	v, ok := r.nodes[id]
	budget := r.scans < nodeScans
	if !ok && budget {
		r.scans++
	}
	r.mu.Unlock()
	if ok || !budget {
		return v // past the budget: the version is not known
	}
	v = scanNodeVersion(f)
	r.mu.Lock()
	if len(r.nodes) >= nodeVersions {
		clear(r.nodes)
	}
	r.nodes[id] = v
	r.mu.Unlock()
	return v
}

// scanNodeVersion reads up to nodeScanBytes of f, in chunks that overlap
// by more than a marker and a version, for Node's version string.
func scanNodeVersion(f io.Reader) string {
	const chunk, overlap = 1 << 20, 64
	buf := make([]byte, overlap+chunk)
	keep := 0
	for read := 0; read < nodeScanBytes; {
		n, err := io.ReadFull(f, buf[keep:])
		read += n
		if v := findNodeVersion(buf[:keep+n]); v != "" {
			return v
		}
		if err != nil {
			return ""
		}
		copy(buf, buf[keep+n-overlap:keep+n])
		keep = overlap
	}
	return ""
}

// tableInode reads the inode of the first socket of the sandbox's
// /proc/net/TABLE (tcp, tcp6, udp, udp6) for which match holds.
func tableInode(initPid int, table string, match func(local, remote netip.AddrPort) bool) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(initPid) + "/net/" + table)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) <= 9 {
			continue
		}
		local, ok1 := procNetAddr(f[1])
		remote, ok2 := procNetAddr(f[2])
		if ok1 && ok2 && match(local, remote) {
			return f[9]
		}
	}
	return ""
}

// procNetAddr decodes an address of /proc/net/{tcp,udp}{,6}: hex
// ADDRESS:PORT, the address as 32-bit words in host (little-endian)
// order.
func procNetAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a, uint16(port)), true
}

// socketOwner finds the process of the sandbox (not its init, not its
// deputy) that has a descriptor for the socket with this inode.
func socketOwner(initPid int, inode string) (owner, bool) {
	want := "socket:[" + inode + "]"
	ns, err := os.Readlink("/proc/" + strconv.Itoa(initPid) + "/ns/pid")
	if err != nil {
		return owner{}, false
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == initPid {
			continue
		}
		base := "/proc/" + p.Name()
		if n, err := os.Readlink(base + "/ns/pid"); err != nil || n != ns {
			continue
		}
		if isDeputy(base) {
			// It holds the program's socket only while it connects
			// it for the program, which holds it too.
			continue
		}
		fds, _ := os.ReadDir(base + "/fd")
		for _, fd := range fds {
			fdPath := base + "/fd/" + fd.Name()
			if l, _ := os.Readlink(fdPath); l == want {
				exe, _ := os.Readlink(base + "/exe")
				return owner{pid: pid, fd: fdPath, exe: exe}, true
			}
		}
	}
	return owner{}, false
}
