// Package mcp reads the Model Context Protocol as it crosses a stdio pipe:
// line framing that never alters a byte, envelope decoding, per-direction
// tracking of calls in flight, protocol-era detection, and the building of
// the notifications and annotations sbshim injects. It knows nothing of
// sandboxes.
//
// # Pieces
//
//   - [Framer] splits a stream into segments ([Segment]) without changing
//     a byte.
//     A line up to the parse cap (default [DefaultMaxLine], 16 MiB) is
//     delivered whole in [Segment.Line]; with [FramerOptions.CutThrough]
//     its bytes are also handed out as they arrive, before the line is
//     complete. A longer line is streamed in chunks flagged Oversize and
//     never parsed. [Framer.Ready] tells whether Next would have to read.
//   - [Decode] extracts an [Envelope] (kind, raw id, method, tool name,
//     arguments, isError, error code and message, _meta log level and
//     protocol version, cancelled id, progress token, batch elements) in
//     one validating pass, without decoding payloads. Whatever is not
//     valid JSON, or not JSON-RPC, is [KindInvalid].
//   - [Tracker] follows the requests in flight per [Direction] and ends
//     them ([Call], with an [Outcome]) on a response, a cancellation, a
//     reused id or [Tracker.Drain]; [Tracker.ToolCalls] answers "which
//     tools/call calls ran during [t0, t1]" for event attribution.
//   - [Protocol] tells the legacy era (initialize) from the stateless one
//     (2026-07-28, server/discover) and decides, with [Protocol.CanNotify],
//     whether an in-band notifications/message is allowed.
//   - [LogNotification] and [Annotate] build what sbshim injects;
//     [LoggingLevel], [Severity] and [Admits] compare log levels.
//
// # Ownership
//
// Segment.Bytes and Segment.Line alias the Framer's buffer and are valid
// until the next Next call; Envelope byte fields alias the decoded line
// ([Envelope.Clone] detaches them). [Call] and [ProtocolState] values own
// their data. A Framer is for one goroutine; Tracker and Protocol are safe
// for concurrent use.
//
// # Relaying one direction
//
// Pass every segment's Bytes on, in order; decode a segment's Line, when
// it has one, before passing that segment on — it carries the end of the
// line, so the peer cannot act on a message the tracker has not seen yet.
// A line can only be changed (annotated) if nothing of it went out before
// ([Segment.Whole]); CutThrough is the place to hold lines back whole:
//
//	fr := mcp.NewFramer(childStdout, mcp.FramerOptions{
//		MaxLine:    maxLine,
//		CutThrough: func() bool { return !mayAnnotate() },
//	})
//	var ended []mcp.Call
//	for {
//		seg, err := fr.Next()
//		if err != nil {
//			break // io.EOF, or a wrapped read error
//		}
//		out := seg.Bytes
//		if seg.Line != nil {
//			env := mcp.Decode(seg.Line)
//			proto.Observe(mcp.ServerToClient, &env)
//			ended = tracker.Observe(mcp.ServerToClient, &env, time.Now(), ended[:0])
//			for _, c := range ended {
//				if c.IsToolCall() && blocked(c) && seg.Whole() {
//					if a, err := mcp.Annotate(seg.Line, describe(c)); err == nil {
//						out = a
//					}
//				}
//			}
//		}
//		w.Write(out) // the one writer that owns client stdout
//		if !fr.Ready() {
//			w.Flush() // Next is about to wait for input
//		}
//	}
package mcp
