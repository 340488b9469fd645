// Package learn turns the blocked attempts of a server's audit log into
// the smallest additions to the policy in force that would have let them
// through: sbshim learn.
//
// Everything in an audit log that names a target or a tool was chosen by
// the sandboxed server, which may be hostile. So learn trusts no field
// for a decision it can make again: each attempt is checked anew against
// the policy in force (an attempt it now allows is dropped, one it
// refuses for a reason a profile cannot lift is listed, not proposed);
// only blocked file writes that no allowWrite entry covered, network
// connections that no network.allow entry listed and, with
// --allow-secrets PATH, reads under a secret location within PATH (as
// filesystem.allowRead, read-only, never the location itself) are ever
// proposed; a
// target must be an absolute, clean path or a valid host to be used at
// all; and every proposal passes the same safety checks at the end
// (never /, a top-level folder, the home folder or a folder above it,
// anything under or holding a secret location of filesystem.denyRead,
// sbshim's own config or state, a symlink; never a wildcard over a public
// suffix or a private address). Every string printed is escaped and
// bounded.
//
// The generaliser is deliberately timid: a file is proposed as itself; a
// folder only when the file did not exist yet (creating it needs its
// folder writable) or when at least [SiblingThreshold] files of that
// folder were needed; a host exactly, and "*.domain" only when at least
// [SubdomainThreshold] subdomains of one domain were refused.
package learn
