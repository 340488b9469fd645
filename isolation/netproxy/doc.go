// Package netproxy is sbshim's filtering network proxy: one listener that
// speaks HTTP CONNECT, plain HTTP forwarding and SOCKS5, and lets a
// connection through only when the host rules allow its destination.
//
// Rules are the network.allow and network.deny entries of a policy: an
// exact host, *.example.com for its subdomains only, an IPv4 address or an
// IPv6 address in brackets, each with an optional :port; matching is
// case-insensitive and deny beats allow. A name that is allowed but
// resolves to a loopback, link-local, private, shared, cloud-metadata,
// unspecified, multicast, broadcast or reserved address, or to any
// address of this machine's own interfaces (read again for every
// connection), in any form that embeds one (IPv4-mapped, NAT64,
// IPv4-compatible, IPv4-translated, 6to4), is refused unless that address
// is itself allowed (the rebinding guard). Every refusal goes to
// Server.Refused with the host, the port and the reason; every connection
// let through goes to Server.Allowed.
//
// A request is judged on what it names, not only on the connection it
// opens: the Host header of a plain-HTTP or CONNECT request must name its
// target (or nothing, or the proxy itself), on every request of a
// kept-alive connection; upstream, Host is always the target's.
//
// The proxy is bounded: at most Server.MaxConns client connections at once
// (DefaultMaxConns; more are closed at once and the first such close is a
// refusal), request heads of at most MaxHeadBytes, a handshake deadline,
// and an idle timeout for connections in which nothing moves either way.
// An Accept that fails for want of descriptors or memory is retried with
// a back-off, never the end of the proxy.
//
// The package knows nothing of sandboxes or MCP: the isolation package
// turns its refusals into Events.
package netproxy
