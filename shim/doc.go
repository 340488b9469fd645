// Package shim runs one sbshim Session: it starts the sandbox, relays stdio
// (or a PTY) between the client and the sandboxed program, joins the
// sandbox's Events to the tool calls in flight, and reports them.
package shim
