package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Protocols a request came in, as Refusal.Proto and Connection.Proto give.
const (
	ProtoConnect = "http-connect"
	ProtoHTTP    = "http"
	ProtoSOCKS5  = "socks5"
	// ProtoForward is a connection to a forward (ServeForward): the
	// program connected to an address of its own loopback that stands
	// for the same address on the host's.
	ProtoForward = "forward"
)

// Refusal is one destination the proxy refused.
type Refusal struct {
	Time  time.Time
	Host  string // as requested, normalized; "" when it could not be read
	Port  uint16
	Proto string
	// Reason names the rule or guard that refused it, e.g.
	// "network.deny evil.example.com" or "network.allow (not listed)".
	Reason string
	// Peer is the client's address, for finding the process behind it.
	Peer net.Addr
}

// Target is host:port with IPv6 addresses in brackets, or "proxy" for a
// refusal that names no destination (the connection limit).
func (r Refusal) Target() string {
	if r.Host == "" && r.Port == 0 {
		return "proxy"
	}
	return JoinHostPort(r.Host, r.Port)
}

// Connection is one connection the proxy made for a client.
type Connection struct {
	Time  time.Time
	Host  string
	Port  uint16
	Addr  netip.AddrPort // the address dialled
	Proto string
	Rule  string // the allow rule that let it through
	Peer  net.Addr
}

// Target is host:port with IPv6 addresses in brackets.
func (c Connection) Target() string { return JoinHostPort(c.Host, c.Port) }

// JoinHostPort is net.JoinHostPort with a numeric port.
func JoinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// Defaults of the Server's limits.
const (
	// DefaultMaxConns is how many client connections one proxy serves at
	// once. A program that opens more has the extra ones closed at once
	// until one of its connections ends.
	DefaultMaxConns = 256
	// DefaultHandshakeTimeout bounds reading a request (until the
	// destination is known) and the wait for the next request on a
	// kept-alive plain-HTTP connection.
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultIdleTimeout closes a tunnel, or a plain-HTTP exchange, in
	// which no byte has moved in either direction for this long.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultDialTimeout bounds name resolution and connecting.
	DefaultDialTimeout = 30 * time.Second
	// MaxHeadBytes is the largest request head (request line and
	// header fields) the proxy reads; a longer one gets status 431.
	MaxHeadBytes = 64 << 10
)

// ReasonConnLimit is the Refusal.Reason of a connection closed because the
// program already had Server.MaxConns connections open.
const ReasonConnLimit = "proxy connection limit"

// Server is the filtering proxy. Rules or Load must be set.
type Server struct {
	Rules *Rules
	// Load, used when Rules is nil, builds the rules when the first
	// client connects (discovering registries costs a few file reads, or
	// more the first time: a session that never connects pays nothing).
	Load func() *Rules
	// Resolve looks up a host name; the default is net.DefaultResolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to an address the rules allowed; the default is a
	// net.Dialer with DialTimeout.
	Dial func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// LocalAddrs lists the addresses of this machine's interfaces, with
	// their prefix lengths; the rebinding guard refuses them (and their
	// IPv4 broadcast addresses) for a host name unless allowed by address.
	// It is called again for every connection to a host name, so that
	// addresses that change are seen; the default reads
	// net.InterfaceAddrs. An error refuses the connection.
	LocalAddrs func() ([]netip.Prefix, error)
	// Refused and Allowed, if set, receive every refusal and every
	// connection made. They may be called from several goroutines.
	Refused func(Refusal)
	Allowed func(Connection)
	// Warn, if set, hears of trouble that the proxy survives, such as a
	// failing Accept that it retries. It may be called from several
	// goroutines.
	Warn func(string)
	// DialTimeout bounds name resolution and connecting; default
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// HandshakeTimeout, IdleTimeout and MaxConns default to
	// DefaultHandshakeTimeout, DefaultIdleTimeout and DefaultMaxConns.
	HandshakeTimeout time.Duration
	IdleTimeout      time.Duration
	MaxConns         int

	wg       sync.WaitGroup
	loadOnce sync.Once
}

// rules returns Rules, loading them on first use.
func (s *Server) rules() *Rules {
	s.loadOnce.Do(func() {
		if s.Rules == nil && s.Load != nil {
			s.Rules = s.Load()
		}
		if s.Rules == nil {
			s.Rules = &Rules{}
		}
	})
	return s.Rules
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Server) warn(msg string) {
	if s.Warn != nil {
		s.Warn(msg)
	}
}

// Accept back-off after an error, as net/http's server does it.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

// fatalAccept says whether an Accept error means the listener is gone for
// good; any other error (out of descriptors or memory, an aborted
// connection) is waited out.
func fatalAccept(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EBADF) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOTSOCK) || errors.Is(err, syscall.EOPNOTSUPP)
}

// Serve accepts connections on ln until ctx is done or ln fails for good,
// and serves each one. At most MaxConns are served at once: one more is
// closed at once, and the first of a run of such closes is reported as a
// Refusal with ReasonConnLimit. An Accept that fails for want of
// descriptors or memory is retried after a pause that doubles up to a
// second; the first such failure of a session goes to Warn. Serve closes
// ln, then waits for the connections it serves to end (it closes them
// when ctx is done).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.ServeConn)
}

// ServeForward is Serve for a forward: every connection accepted on ln is
// one to target, checked against the rules like a CONNECT to it (a
// refusal is reported and the connection closed), then relayed. It lets a
// program reach a service on the host's loopback — a package mirror —
// at the same address in its own network namespace, where clients that
// never use a proxy for loopback (Go's) connect.
func (s *Server) ServeForward(ctx context.Context, ln net.Listener, target netip.AddrPort) error {
	return s.serve(ctx, ln, func(ctx context.Context, c net.Conn) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer c.Close()
		g := newIdleGuard(orDefault(s.IdleTimeout, DefaultIdleTimeout), func() { c.Close(); cancel() })
		defer g.stop()
		up, err := s.connect(ctx, ProtoForward, target.Addr().String(), target.Port(), c.RemoteAddr())
		if err != nil {
			return
		}
		defer up.Close()
		relay(c, up, g)
	})
}

// serve is the accept loop of Serve and ServeForward; handle serves one
// connection and closes it.
func (s *Server) serve(ctx context.Context, ln net.Listener, handle func(context.Context, net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	defer ln.Close()
	maxConns := int64(orDefault(s.MaxConns, DefaultMaxConns))
	lim := &connLimit{max: maxConns}
	var delay time.Duration
	warned := false
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if fatalAccept(err) {
				return fmt.Errorf("proxy: accept: %w", err)
			}
			if !warned {
				// Once per session: a program that runs its proxy
				// out of descriptors again and again must not flood
				// the user's terminal.
				warned = true
				s.warn(fmt.Sprintf("proxy: accept: %v; retrying (said once)", err))
			}
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		delay = 0
		if ok, first := lim.take(); !ok {
			peer := c.RemoteAddr()
			c.Close()
			if first {
				s.refuse("", "", 0, fmt.Sprintf("%s: %d connections open at once; more are closed until some end", ReasonConnLimit, maxConns), peer)
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer lim.release()
			stopConn := context.AfterFunc(ctx, func() { c.Close() })
			defer stopConn()
			handle(ctx, c)
		}()
	}
}

// ServeConn serves one client connection and closes it, and every
// connection it made upstream; when ctx is done, or when no byte has moved
// for IdleTimeout, it closes them all.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.Close()
	g := newIdleGuard(orDefault(s.IdleTimeout, DefaultIdleTimeout), func() { c.Close(); cancel() })
	defer g.stop()
	_ = c.SetReadDeadline(time.Now().Add(orDefault(s.HandshakeTimeout, DefaultHandshakeTimeout)))
	cr := &clientReader{c: c, g: g}
	br := bufio.NewReaderSize(cr, 4096)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	switch first[0] {
	case 5:
		s.serveSOCKS5(ctx, c, br, g)
	case 4:
		_, _ = c.Write([]byte{0, 91, 0, 0, 0, 0, 0, 0}) // SOCKS4: request rejected
	default:
		s.serveHTTP(ctx, c, br, cr, g)
	}
}

func (s *Server) refuse(proto, host string, port uint16, reason string, peer net.Addr) {
	if s.Refused != nil {
		s.Refused(Refusal{Time: time.Now(), Host: host, Port: port, Proto: proto, Reason: reason, Peer: peer})
	}
}

// errRefused is returned by connect when the rules refused the
// destination (the refusal was reported).
type errRefused struct{ reason string }

func (e *errRefused) Error() string { return "refused by sbshim: " + e.reason }

// connect checks host:port against the rules, resolves it, applies the
// rebinding guard and dials the first address that works. A refusal is
// reported and returned as *errRefused; other errors are the network's.
func (s *Server) connect(ctx context.Context, proto, rawHost string, port uint16, peer net.Addr) (net.Conn, error) {
	host, addr, ok := NormalizeHost(rawHost)
	if !ok || port == 0 {
		s.refuse(proto, rawHost, port, ReasonBadHost, peer)
		return nil, &errRefused{ReasonBadHost}
	}
	rule, ok := s.rules().Check(host, addr, port)
	if !ok {
		s.refuse(proto, host, port, rule, peer)
		return nil, &errRefused{rule}
	}
	timeout := orDefault(s.DialTimeout, DefaultDialTimeout)
	connCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs := []netip.Addr{addr}
	if !addr.IsValid() {
		resolve := s.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		got, err := resolve(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		own, err := s.ownAddrs()
		if err != nil {
			why := "rebinding guard: " + err.Error()
			s.refuse(proto, host, port, why, peer)
			return nil, &errRefused{why}
		}
		addrs = addrs[:0]
		var why string
		for _, a := range got {
			if r, ok := s.rules().CheckAddr(host, a, port, own); ok {
				addrs = append(addrs, a.Unmap())
			} else if why == "" {
				why = r
			}
		}
		if len(addrs) == 0 {
			if why == "" {
				return nil, fmt.Errorf("resolve %s: no addresses", host)
			}
			s.refuse(proto, host, port, why, peer)
			return nil, &errRefused{why}
		}
	}
	dial := s.Dial
	if dial == nil {
		dial = func(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ap.String())
		}
	}
	var firstErr error
	for i, a := range addrs {
		ap := netip.AddrPortFrom(a, port)
		actx, endAttempt := attemptContext(ctx, len(addrs)-i)
		up, err := dial(actx, ap)
		endAttempt()
		if err == nil {
			// Closed with the client's connection (ServeConn's
			// context), so that no copy outlives it.
			context.AfterFunc(connCtx, func() { up.Close() })
			if s.Allowed != nil {
				s.Allowed(Connection{Time: time.Now(), Host: host, Port: port, Addr: ap, Proto: proto, Rule: rule, Peer: peer})
			}
			return up, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// minAttempt is the least time one address is given when a host has
// several, as Go's own dialer gives it.
const minAttempt = 2 * time.Second

// attemptContext bounds the dial of one of left remaining addresses to its
// share of the time ctx has left (at least minAttempt), so that an address
// that swallows packets cannot use up the time of those after it.
func attemptContext(ctx context.Context, left int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || left <= 1 {
		return ctx, func() {}
	}
	share := max(time.Until(dl)/time.Duration(left), minAttempt)
	return context.WithTimeout(ctx, share)
}

// ownAddrs reads this machine's addresses (LocalAddrs, or its
// interfaces).
func (s *Server) ownAddrs() ([]netip.Addr, error) {
	list := s.LocalAddrs
	if list == nil {
		list = interfacePrefixes
	}
	prefixes, err := list()
	if err != nil {
		return nil, fmt.Errorf("cannot list this machine's addresses: %w", err)
	}
	return OwnAddrs(prefixes), nil
}

// interfacePrefixes lists the addresses of this machine's interfaces.
func interfacePrefixes() ([]netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, bits := n.Mask.Size()
		if bits == 128 && ip.Is4() {
			ones -= 96
		}
		// A mask netip cannot take leaves the prefix invalid: the
		// address still counts, its broadcast address is not derived.
		out = append(out, netip.PrefixFrom(ip, ones))
	}
	return out, nil
}

// relay copies both ways until both sides are done, or g finds the pair
// idle. Each direction ends with a half-close, so that a request/response
// protocol still sees EOF. Between TCP connections the copies splice in
// the kernel.
func relay(a, b net.Conn, g *idleGuard) {
	_ = a.SetDeadline(time.Time{})
	_ = b.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = copyTicking(b, a, -1, g)
		closeWrite(b)
	}()
	_, _ = copyTicking(a, b, -1, g)
	closeWrite(a)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.Close()
}

// connLimit counts the connections served at once and the runs of
// refusals at the limit. One lock keeps the count and the run together:
// a connection taken against a count that connections ending meanwhile
// have lowered would be refused wrongly, and reported as a new run once
// their ends had closed the old one (as when a program exits with
// hundreds of connections open).
type connLimit struct {
	mu      sync.Mutex
	max     int64
	open    int64
	atLimit bool // a refusal of this run was reported; the run is not over
}

// take counts one more connection if fewer than max are open. When it
// cannot, first says whether this refusal starts a run (the one to
// report).
func (l *connLimit) take() (ok, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		first = !l.atLimit
		l.atLimit = true
		return false, first
	}
	l.open++
	return true, false
}

// release counts one connection less. A run of refusals ends when the
// program has let a quarter of its connections go.
func (l *connLimit) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.open <= l.max*3/4 {
		l.atLimit = false
	}
}
