package netproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// requestTarget reads the destination of a proxy request: the authority
// of a CONNECT, or the host of an absolute http:// URL. It returns an
// HTTP status and a message for a request the proxy cannot serve.
func requestTarget(req *http.Request) (host string, port uint16, status int, msg string) {
	var hostport, defPort string
	if req.Method == http.MethodConnect {
		hostport = req.RequestURI
		if req.URL != nil && req.URL.Host != "" {
			hostport = req.URL.Host
		}
	} else {
		if req.URL == nil || !req.URL.IsAbs() || req.URL.Host == "" {
			return "", 0, http.StatusBadRequest, "sbshim's proxy needs an absolute http:// URL (use CONNECT for https)"
		}
		if !strings.EqualFold(req.URL.Scheme, "http") {
			return "", 0, http.StatusBadRequest, "sbshim's proxy forwards only http:// URLs; use CONNECT for " + req.URL.Scheme
		}
		hostport, defPort = req.URL.Host, "80"
	}
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		if defPort == "" {
			return "", 0, http.StatusBadRequest, "CONNECT needs host:port"
		}
		h, p = hostport, defPort
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || h == "" {
		return "", 0, http.StatusBadRequest, "bad destination " + strconv.Quote(hostport)
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]" // NormalizeHost takes IPv6 in brackets
	}
	return h, uint16(n), 0, ""
}

// writeStatus answers a proxy request with a status and a one-line
// plain-text body; the connection is closed afterwards.
func writeStatus(w io.Writer, status int, msg string) {
	body := msg + "\n"
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n",
		status, http.StatusText(status), len(body))
	if status == http.StatusForbidden {
		fmt.Fprintf(w, "X-Sbshim-Refused: %s\r\n", strings.ReplaceAll(msg, "\n", " "))
	}
	fmt.Fprintf(w, "\r\n%s", body)
}

// lingerTime and lingerBytes bound how long, and how much, the proxy keeps
// reading from a client it answered with an error before closing: closing
// with unread bytes would send a reset that can destroy the answer before
// the client reads it (net/http's server waits likewise).
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

// lingerClose half-closes c after an error answer and reads what the
// client still sends, for a bounded time and amount; the caller closes c.
func lingerClose(c net.Conn, r io.Reader) {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, lingerBytes))
}

// answerError turns a failure of connect into a response.
func answerError(w io.Writer, host string, port uint16, err error) {
	var ref *errRefused
	if errors.As(err, &ref) {
		writeStatus(w, http.StatusForbidden, fmt.Sprintf("sbshim: connection to %s refused by the sandbox's network policy (%s)",
			JoinHostPort(host, port), ref.reason))
		return
	}
	status := http.StatusBadGateway
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusGatewayTimeout
	}
	writeStatus(w, status, fmt.Sprintf("sbshim: cannot reach %s: %v", JoinHostPort(host, port), err))
}

func (s *Server) serveHTTP(ctx context.Context, c net.Conn, br *bufio.Reader, cr *clientReader, g *idleGuard) {
	var up net.Conn
	var upBr *bufio.Reader
	upTarget := ""
	defer func() {
		if up != nil {
			up.Close()
		}
	}()
	handshake := orDefault(s.HandshakeTimeout, DefaultHandshakeTimeout)
	// fail answers a request that ends the connection.
	fail := func(status int, msg string) {
		writeStatus(c, status, msg)
		lingerClose(c, br)
	}
	tooLarge := fmt.Sprintf("sbshim: the request head is longer than %d bytes", MaxHeadBytes)
	for {
		// Every request is judged on its own, the second one on a
		// kept-alive connection as much as the first.
		_ = c.SetReadDeadline(time.Now().Add(handshake))
		cr.startHead(br)
		req, err := http.ReadRequest(br)
		head := cr.endHead()
		if err != nil {
			switch {
			case cr.tooLarge || errors.Is(err, errHeadTooLarge):
				fail(http.StatusRequestHeaderFieldsTooLarge, tooLarge)
			case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err):
				fail(http.StatusBadRequest, "sbshim: bad proxy request: "+err.Error())
			}
			return
		}
		hosts, size, err := readHead(head)
		switch {
		case err != nil:
			fail(http.StatusBadRequest, "sbshim: bad proxy request: "+err.Error())
			return
		case size > MaxHeadBytes:
			fail(http.StatusRequestHeaderFieldsTooLarge, tooLarge)
			return
		}
		host, port, status, msg := requestTarget(req)
		if status != 0 {
			fail(status, msg)
			return
		}
		proto := ProtoHTTP
		if req.Method == http.MethodConnect {
			proto = ProtoConnect
		}
		if hdr, hdrPort, why, ok := hostAgrees(hosts, host, port, req.Method == http.MethodConnect, c.LocalAddr()); !ok {
			s.refuse(proto, hdr, hdrPort, why, c.RemoteAddr())
			fail(http.StatusForbidden, "sbshim: request refused by the sandbox's network policy ("+why+")")
			return
		}
		if req.Method == http.MethodConnect {
			conn, err := s.connect(ctx, ProtoConnect, host, port, c.RemoteAddr())
			if err != nil {
				answerError(c, host, port, err)
				lingerClose(c, br)
				return
			}
			defer conn.Close()
			if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
				return
			}
			if n := br.Buffered(); n > 0 {
				b, _ := br.Peek(n)
				if _, err := conn.Write(b); err != nil {
					return
				}
			}
			relay(c, conn, g)
			return
		}
		target := JoinHostPort(host, port)
		if up == nil || target != upTarget {
			if up != nil {
				up.Close()
				up = nil
			}
			conn, err := s.connect(ctx, ProtoHTTP, host, port, c.RemoteAddr())
			if err != nil {
				answerError(c, host, port, err)
				lingerClose(c, br)
				return
			}
			up, upBr, upTarget = conn, bufio.NewReaderSize(touchReader{conn, g}, 32<<10), target
		}
		keep, err := forward(c, req, up, upBr, g)
		if err != nil || !keep {
			return
		}
	}
}

// readHead parses again the request head that http.ReadRequest read, from
// head (the raw bytes that begin with it), with the same parser, for what
// ReadRequest does not keep: the Host header of a request with an absolute
// URL, and the head's length.
func readHead(head []byte) (hosts []string, size int, err error) {
	r := bytes.NewReader(head)
	br := bufio.NewReader(r)
	tp := textproto.NewReader(br)
	if _, err := tp.ReadLine(); err != nil {
		return nil, 0, fmt.Errorf("read the request line again: %w", err)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, 0, fmt.Errorf("read the header again: %w", err)
	}
	return mh.Values("Host"), len(head) - r.Len() - br.Buffered(), nil
}

// hostAgrees checks that the Host header of a proxy request (its values,
// vals) names the same destination as the request's target host:port
// (host as requestTarget gives it). A missing or empty Host
// names nothing; one that names the proxy itself (local, the address the
// client connected to, or localhost on its port) is what a client sends
// that asks the proxy with an absolute URL without setting Host, and is
// let through too: upstream, Host is always the target's. A Host without
// a port means port 80 for plain HTTP, and any port for CONNECT. When they
// disagree it returns what the Host header names (host and port) and the
// reason.
func hostAgrees(vals []string, host string, port uint16, connect bool, local net.Addr) (hdr string, hdrPort uint16, why string, ok bool) {
	switch {
	case len(vals) == 0 || len(vals) == 1 && strings.TrimSpace(vals[0]) == "":
		return "", 0, "", true
	case len(vals) > 1: // http.ReadRequest refuses these already
		return strconv.Quote(strings.Join(vals, ", ")), port, "request check: more than one Host header", false
	}
	raw := strings.TrimSpace(vals[0])
	hh, hp, hasPort := raw, "", false
	if h, p, err := net.SplitHostPort(raw); err == nil {
		hh, hp, hasPort = h, p, true
		if strings.Contains(h, ":") {
			hh = "[" + h + "]"
		}
	}
	var hport uint16
	if hasPort {
		n, err := strconv.ParseUint(hp, 10, 16)
		if err != nil || n == 0 {
			return strconv.Quote(raw), port, fmt.Sprintf("request check: the Host header %q is not host[:port]", raw), false
		}
		hport = uint16(n)
	}
	hn, haddr, ok := NormalizeHost(hh)
	if !ok {
		return strconv.Quote(raw), port, fmt.Sprintf("request check: the Host header %q is not host[:port]", raw), false
	}
	if local != nil && hasPort {
		if lap, err := netip.ParseAddrPort(local.String()); err == nil && hport == lap.Port() &&
			(haddr.IsValid() && (haddr.IsLoopback() || haddr == lap.Addr().Unmap()) || hn == "localhost") {
			return "", 0, "", true
		}
	}
	tn, _, _ := NormalizeHost(host)
	want := port
	if !hasPort {
		hport = 80
		if connect {
			hport = port
		}
	}
	if hn == tn && hport == want {
		return "", 0, "", true
	}
	return hn, hport, fmt.Sprintf("request check: the Host header names %s, the request %s", JoinHostPort(hn, hport), JoinHostPort(tn, port)), false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hopHeaders are the headers that belong to one hop and are not passed on.
func hopHeaders() []string {
	return []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Upgrade"}
}

// forward sends one plain-HTTP request upstream and its response back. It
// returns whether both connections may carry another request.
func forward(c net.Conn, req *http.Request, up net.Conn, upBr *bufio.Reader, g *idleGuard) (bool, error) {
	_ = c.SetReadDeadline(time.Time{})
	for _, f := range req.Header.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			req.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, h := range hopHeaders() {
		req.Header.Del(h)
	}
	clientClose := req.Close
	req.Close = false
	req.RequestURI = ""
	// A client that waits for "100 Continue" before its body gets it from
	// here, and the request goes upstream without the expectation: the
	// body is streamed as it comes.
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		req.Header.Del("Expect")
		if _, err := io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return false, err
		}
	}
	// req.Write sends the origin form (path only) and Host.
	if err := req.Write(up); err != nil {
		writeStatus(c, http.StatusBadGateway, "sbshim: sending the request upstream failed: "+err.Error())
		return false, err
	}
	resp, err := http.ReadResponse(upBr, req)
	// Interim responses (1xx other than 101) are dropped: the client
	// gets the final one.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(upBr, req)
	}
	if err != nil {
		writeStatus(c, http.StatusBadGateway, "sbshim: bad response from upstream: "+err.Error())
		return false, err
	}
	for _, f := range resp.Header.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			resp.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, h := range hopHeaders() {
		resp.Header.Del(h)
	}
	keep := !clientClose && !resp.Close
	if resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0 && req.Method != http.MethodHead &&
		resp.StatusCode >= 200 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		// The body is read straight from upBr and up; resp.Body is left
		// alone (closing it would read on into the next response).
		return keep, writeSized(c, resp, up, upBr, keep, g)
	}
	defer resp.Body.Close()
	if !keep {
		resp.Close = true
	}
	if err := resp.Write(c); err != nil {
		return false, err
	}
	return keep && !resp.Close, nil
}

// writeSized writes a response whose body has a known length: the header,
// what is already buffered, then the rest straight from the upstream
// connection, which lets the kernel splice it.
func writeSized(c net.Conn, resp *http.Response, up net.Conn, upBr *bufio.Reader, keep bool, g *idleGuard) error {
	bw := bufio.NewWriterSize(c, 4096)
	fmt.Fprintf(bw, "HTTP/%d.%d %s\r\n", resp.ProtoMajor, resp.ProtoMinor, resp.Status)
	resp.Header.Del("Content-Length")
	if err := resp.Header.Write(bw); err != nil {
		return err
	}
	fmt.Fprintf(bw, "Content-Length: %d\r\n", resp.ContentLength)
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	left := resp.ContentLength
	if n := int64(upBr.Buffered()); n > 0 {
		n = min(n, left)
		b, _ := upBr.Peek(int(n))
		if _, err := c.Write(b); err != nil {
			return err
		}
		_, _ = upBr.Discard(int(n))
		left -= n
	}
	if left > 0 {
		// Straight from the socket: upBr holds nothing more now.
		if _, err := copyTicking(c, up, left, g); err != nil {
			return err
		}
	}
	return nil
}
