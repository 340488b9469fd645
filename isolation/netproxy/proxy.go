package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Protocols a request came in, as Refusal.Proto and Connection.Proto give.
const (
	ProtoConnect = "http-connect"
	ProtoHTTP    = "http"
	ProtoSOCKS5  = "socks5"
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

// Target is host:port with IPv6 addresses in brackets.
func (r Refusal) Target() string { return JoinHostPort(r.Host, r.Port) }

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
	// DialTimeout bounds name resolution and connecting; default 30s.
	DialTimeout time.Duration

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

// Serve accepts connections on ln until ctx is done or ln fails, and serves
// each one. It closes ln, then waits for the connections it serves to end
// (it closes them when ctx is done).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("proxy: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			stopConn := context.AfterFunc(ctx, func() { c.Close() })
			defer stopConn()
			s.ServeConn(ctx, c)
		}()
	}
}

// handshakeTimeout bounds how long a client may take to say where it
// wants to go.
const handshakeTimeout = 30 * time.Second

// ServeConn serves one client connection and closes it, and every
// connection it made upstream; when ctx is done it closes them all.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(c, 4096)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	switch first[0] {
	case 5:
		s.serveSOCKS5(ctx, c, br)
	case 4:
		_, _ = c.Write([]byte{0, 91, 0, 0, 0, 0, 0, 0}) // SOCKS4: request rejected
	default:
		s.serveHTTP(ctx, c, br)
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
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
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

// relay copies both ways until both sides are done. Each direction ends
// with a half-close, so that a request/response protocol still sees EOF.
// Between TCP connections the copies splice in the kernel.
func relay(a, b net.Conn) {
	_ = a.SetDeadline(time.Time{})
	_ = b.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(b, a)
		closeWrite(b)
	}()
	_, _ = io.Copy(a, b)
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
