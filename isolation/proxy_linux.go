package isolation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sbshim/sbshim/isolation/netproxy"
	"golang.org/x/sys/unix"
)

// The proxy bridge. In proxy mode the init, already inside the sandbox's
// empty network namespace, listens on 127.0.0.1:PORT there and hands the
// listening socket to sbshim over its control socket, before the command
// exists. sbshim's proxy accepts on it from outside: every connection the
// program makes to the bridge arrives straight at the proxy, no relay
// process in between, and the program reaches nothing else — there is no
// socket file it could find, and the descriptor never enters its reach.
// Without namespaces sbshim listens on the host's loopback itself.

// proxyMsg is the control message that carries the bridge's socket.
const proxyMsg = "proxy"

// bridgePort picks the bridge's port: any port is free in a fresh network
// namespace; a random one keeps it out of the way of fixed ports that
// programs use for their own servers.
func bridgePort() int {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return 30000 + int(binary.BigEndian.Uint16(b[:]))%30000
}

// bridgeListen makes the listening socket on 127.0.0.1:port, in the
// calling thread's network namespace.
func bridgeListen(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("proxy bridge: socket: %w", err)
	}
	sa := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("proxy bridge: bind 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Listen(fd, 1024); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("proxy bridge: listen: %w", err)
	}
	return fd, nil
}

// sandboxProxy is the running proxy of one sandbox.
type sandboxProxy struct {
	srv     *netproxy.Server
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	forward sync.WaitGroup
}

func (sp *sandboxProxy) stop() {
	sp.cancel()
	<-sp.done
	sp.forward.Wait()
}

// serveForward serves a forward listener the init sent (see
// forwardListen) for target, with the proxy's rules and reports.
func (sp *sandboxProxy) serveForward(ln net.Listener, target netip.AddrPort) {
	sp.forward.Add(1)
	go func() {
		defer sp.forward.Done()
		_ = sp.srv.ServeForward(sp.ctx, ln, target)
	}()
}

// forwardMsg is the control message that carries a forward's listening
// socket: a loopback address and port of the sandbox's own that stands
// for the same one on the host's loopback.
type forwardMsg struct {
	Forward string `json:"forward"`
}

// sendForwards, in the init, listens on each of the sandbox's loopback
// addresses in forwards (ADDR:PORT) and hands the sockets to sbshim, which
// relays what arrives to the same address on the host through the proxy.
// Clients that never use a proxy for loopback (Go's) reach a package
// mirror on the host's loopback so. An address that cannot be had (IPv6
// off) is left out: the program then finds nothing there.
func sendForwards(conn *os.File, forwards []string) error {
	for _, f := range forwards {
		ap, err := netip.ParseAddrPort(f)
		if err != nil || !ap.Addr().IsLoopback() {
			continue
		}
		fd, err := loopbackListen(ap)
		if err != nil {
			continue
		}
		err = writeMsg(conn, forwardMsg{Forward: ap.String()}, fd)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("hand the forward of %s to sbshim: %w", ap, err)
		}
	}
	return nil
}

// loopbackListen makes a listening socket on a loopback address and port
// in the calling thread's network namespace.
func loopbackListen(ap netip.AddrPort) (int, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("forward: socket: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("forward: bind %s: %w", ap, err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("forward: listen: %w", err)
	}
	return fd, nil
}

// takeForward serves a forward socket the init sent, if body is a
// forward message for an address the spec asked for.
func (p *Process) takeForward(body []byte, fds []int, spec *initSpec) bool {
	var m forwardMsg
	if len(fds) != 1 || !bytes.HasPrefix(body, []byte(`{"forward":`)) || json.Unmarshal(body, &m) != nil {
		return false
	}
	ap, err := netip.ParseAddrPort(m.Forward)
	if err != nil || p.proxy == nil || !slices.Contains(spec.Forwards, m.Forward) {
		closeAll(fds)
		return true
	}
	f := os.NewFile(uintptr(fds[0]), "sbshim-forward")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return true
	}
	p.proxy.serveForward(ln, ap)
	return true
}

// listenerFromFD wraps the bridge socket the init sent.
func listenerFromFD(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "sbshim-proxy-bridge")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("proxy bridge: %w", err)
	}
	return ln, nil
}

// startProxy serves the filtering proxy on ln for the sandbox whose init
// has host pid initPid (0 without a pid namespace).
func startProxy(ln net.Listener, cfg Config, env []string, port int, initPid func() int) *sandboxProxy {
	report := cfg.Report
	if report == nil {
		report = func(Event) {}
	}
	traces := &traceGate{}
	srv := &netproxy.Server{
		Load: func() *netproxy.Rules { return proxyRules(cfg.Policy, env, cfg.Warn) },
		Refused: func(r netproxy.Refusal) {
			var pid int
			var exe string
			if traces.allow(time.Now()) {
				pid, exe = peerProcess(initPid(), r.Peer, port)
			}
			report(refusalEvent(r, pid, exe))
		},
		Warn: cfg.Warn,
	}
	if cfg.Connected != nil {
		srv.Allowed = func(c netproxy.Connection) { cfg.Connected(connectionEvent(c)) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	sp := &sandboxProxy{srv: srv, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		_ = srv.Serve(ctx, ln)
	}()
	return sp
}

// attributionRate and attributionBurst bound how often a refused
// connection or DNS query is traced to its process, which reads the
// sandbox's socket tables and every process's descriptors: past the
// bound, a flood is still refused and reported, without pid and
// executable.
const (
	attributionRate  = 100 // a second
	attributionBurst = 200
)

// traceGate is a token bucket of attributions; its zero value is full.
type traceGate struct {
	mu     sync.Mutex
	tokens float64
	filled time.Time
}

// allow takes one of the attributions the rate allows at now.
func (g *traceGate) allow(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.filled.IsZero() {
		g.tokens = attributionBurst
	} else {
		g.tokens = min(attributionBurst, g.tokens+now.Sub(g.filled).Seconds()*attributionRate)
	}
	g.filled = now
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}

// peerProcess finds the process of the sandbox that holds the other end of
// a connection to the bridge: the socket's inode from the sandbox's TCP
// table, then the process with a descriptor for it. It returns 0, "" when
// it cannot tell (the process may also have gone already).
func peerProcess(initPid int, peer net.Addr, port int) (int, string) {
	if initPid <= 0 || peer == nil {
		return 0, ""
	}
	ap, err := netip.ParseAddrPort(peer.String())
	if err != nil {
		return 0, ""
	}
	inode := socketInode(initPid, ap, port)
	if inode == "" {
		return 0, ""
	}
	o, ok := socketOwner(initPid, inode)
	if !ok {
		return 0, ""
	}
	return o.pid, o.exe
}

// socketInode reads the inode of the client socket local→127.0.0.1:port
// from the sandbox's /proc/net/tcp.
func socketInode(initPid int, local netip.AddrPort, port int) string {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	if !local.Addr().Is4() {
		return ""
	}
	bridge := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
	return tableInode(initPid, "tcp", func(l, r netip.AddrPort) bool { return l == local && r == bridge })
}

// sendBridge, in the init, makes the bridge's listening socket in the
// sandbox's network namespace and hands it to sbshim.
func sendBridge(conn *os.File, port int) error {
	fd, err := bridgeListen(port)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := writeMsg(conn, proxyMsg, fd); err != nil {
		return fmt.Errorf("hand the proxy bridge to sbshim: %w", err)
	}
	return nil
}

// isDeputy says whether the process at base (/proc/PID) is a sandbox's
// deputy: sbshim's own executable started as the deputy.
func isDeputy(base string) bool {
	cmd, err := os.ReadFile(base + "/cmdline")
	if err != nil || string(cmd) != "sbshim-deputy\x00"+DeputyArg+"\x00" {
		return false
	}
	var self, exe unix.Stat_t
	return unix.Stat("/proc/self/exe", &self) == nil && unix.Stat(base+"/exe", &exe) == nil &&
		self.Dev == exe.Dev && self.Ino == exe.Ino
}
