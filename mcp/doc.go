// Package mcp reads the Model Context Protocol as it crosses a stdio pipe:
// line framing that never alters a byte, envelope decoding, per-direction
// tracking of calls in flight, protocol-era detection, and the building of
// the notifications and annotations sbshim injects. It knows nothing of
// sandboxes.
package mcp
