package netproxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
)

// SOCKS5 (RFC 1928) constants.
const (
	socksVersion    = 5
	socksNoAuth     = 0
	socksNoMethod   = 0xff
	socksCmdConnect = 1
	socksAtypIPv4   = 1
	socksAtypDomain = 3
	socksAtypIPv6   = 4

	socksSucceeded        = 0
	socksGeneralFailure   = 1
	socksNotAllowed       = 2
	socksHostUnreachable  = 4
	socksConnRefused      = 5
	socksCmdNotSupported  = 7
	socksAtypNotSupported = 8
)

// errSocks is a request the proxy answers with a SOCKS reply code.
type errSocks struct {
	code byte
	msg  string
}

func (e *errSocks) Error() string { return e.msg }

// readSocksGreeting reads the client's method offer and says whether it
// offered "no authentication".
func readSocksGreeting(r io.Reader) (bool, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return false, fmt.Errorf("socks5 greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return false, fmt.Errorf("socks5 greeting: version %d", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return false, fmt.Errorf("socks5 greeting: %w", err)
	}
	for _, m := range methods {
		if m == socksNoAuth {
			return true, nil
		}
	}
	return false, nil
}

// readSocksRequest reads a request; host is a name, or an address in the
// form NormalizeHost takes ("[::1]" for IPv6).
func readSocksRequest(r io.Reader) (host string, port uint16, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", 0, fmt.Errorf("socks5 request: %w", err)
	}
	if hdr[0] != socksVersion {
		return "", 0, &errSocks{socksGeneralFailure, fmt.Sprintf("socks5 request: version %d", hdr[0])}
	}
	switch hdr[3] {
	case socksAtypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", 0, fmt.Errorf("socks5 request: %w", err)
		}
		host = netip.AddrFrom4(b).String()
	case socksAtypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", 0, fmt.Errorf("socks5 request: %w", err)
		}
		host = "[" + netip.AddrFrom16(b).String() + "]"
	case socksAtypDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return "", 0, fmt.Errorf("socks5 request: %w", err)
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", 0, fmt.Errorf("socks5 request: %w", err)
		}
		host = string(b)
		if strings.ContainsAny(host, "[]") {
			host = "" // refused below as a bad host
		}
	default:
		return "", 0, &errSocks{socksAtypNotSupported, fmt.Sprintf("socks5 request: address type %d", hdr[3])}
	}
	var p [2]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return "", 0, fmt.Errorf("socks5 request: %w", err)
	}
	port = binary.BigEndian.Uint16(p[:])
	if hdr[1] != socksCmdConnect {
		return host, port, &errSocks{socksCmdNotSupported, fmt.Sprintf("socks5: command %d is not supported (CONNECT only)", hdr[1])}
	}
	return host, port, nil
}

// socksReply is a reply with an unspecified bound address.
func socksReply(code byte) []byte {
	return []byte{socksVersion, code, 0, socksAtypIPv4, 0, 0, 0, 0, 0, 0}
}

func (s *Server) serveSOCKS5(ctx context.Context, c net.Conn, br *bufio.Reader, g *idleGuard) {
	ok, err := readSocksGreeting(br)
	if err != nil {
		return
	}
	if !ok {
		_, _ = c.Write([]byte{socksVersion, socksNoMethod})
		return
	}
	if _, err := c.Write([]byte{socksVersion, socksNoAuth}); err != nil {
		return
	}
	host, port, err := readSocksRequest(br)
	if err != nil {
		var se *errSocks
		if errors.As(err, &se) {
			_, _ = c.Write(socksReply(se.code))
		}
		return
	}
	up, err := s.connect(ctx, ProtoSOCKS5, host, port, c.RemoteAddr())
	if err != nil {
		code := byte(socksHostUnreachable)
		var ref *errRefused
		var oe *net.OpError
		switch {
		case errors.As(err, &ref):
			code = socksNotAllowed
		case errors.As(err, &oe) && oe.Op == "dial" && strings.Contains(err.Error(), "refused"):
			code = socksConnRefused
		}
		_, _ = c.Write(socksReply(code))
		return
	}
	defer up.Close()
	if _, err := c.Write(socksReply(socksSucceeded)); err != nil {
		return
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	relay(c, up, g)
}
