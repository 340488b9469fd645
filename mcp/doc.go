// Package mcp reads the Model Context Protocol as it crosses a stdio pipe:
// line framing that never alters a byte, envelope decoding, per-direction
// tracking of calls in flight, protocol-era detection, and the building of
// the notifications and annotations sbshim injects. It knows nothing of
// sandboxes.
//
// # Pieces
//
//   - Framer splits a stream into lines ([Segment]s) without changing a
//     byte. Lines up to the parse cap (default 16 MiB) come out whole;
//     longer ones are streamed in chunks flagged Oversize and never parsed.
//   - Decode extracts an [Envelope] (kind, raw id, method, tool name,
//     isError, error, _meta log level and protocol version, cancelled id,
//     progress token) in one validating pass, without decoding payloads.
//   - Tracker follows requests in flight per [Direction], ends them on
//     response, cancellation or Drain, and answers "which tools/call calls
//     ran during [t0, t1]" for event attribution.
//   - Protocol tells the legacy era (initialize) from the stateless one
//     (2026-07-28, server/discover) and decides, with CanNotify, whether an
//     in-band notifications/message is allowed.
//   - LogNotification and Annotate build what sbshim injects.
//
// # Ownership
//
// Segment.Bytes aliases the Framer's buffer and is valid until the next
// Next call; Envelope byte fields alias the decoded line (Envelope.Clone
// detaches them). Call and ProtocolState values own their data. Framer is
// for one goroutine; Tracker and Protocol are safe for concurrent use.
//
// # Relaying one direction
//
// Write every segment as soon as Next returns it; decode only whole lines:
//
//	fr := mcp.NewFramer(childStdout, mcp.FramerOptions{MaxLine: maxLine})
//	for {
//		seg, err := fr.Next()
//		if err != nil {
//			break // io.EOF, or a wrapped read error
//		}
//		out := seg.Bytes
//		if !seg.Oversize {
//			env := mcp.Decode(seg.Bytes)
//			proto.Observe(mcp.ServerToClient, &env)
//			for _, c := range tracker.Observe(mcp.ServerToClient, &env, time.Now(), nil) {
//				if c.IsToolCall() && blocked(c) {
//					if a, err := mcp.Annotate(seg.Bytes, describe(c)); err == nil {
//						out = a
//					}
//				}
//			}
//		}
//		writer.Write(out) // the one writer that owns client stdout
//	}
package mcp
