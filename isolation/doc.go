// Package isolation holds the sandbox: the Policy (plain data, its merge,
// validation and path matching), the Event that reports a blocked attempt,
// and the platform sandboxes (*_linux.go, *_darwin.go, *_other.go).
//
// It knows nothing of MCP. The shim package joins its Events to tool calls.
package isolation
