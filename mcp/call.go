package mcp

import (
	"time"
)

// Direction is the way a message travels through the relay.
type Direction uint8

const (
	// ClientToServer is client stdin → child stdin.
	ClientToServer Direction = iota
	// ServerToClient is child stdout → client stdout.
	ServerToClient
)

// String returns "c2s" or "s2c".
func (d Direction) String() string {
	if d == ClientToServer {
		return "c2s"
	}
	return "s2c"
}

// opposite is the direction a response to a request travelling in d takes.
func (d Direction) opposite() Direction { return 1 - d&1 }

// Outcome is how a call ended. The values are the audit log's.
type Outcome string

// Call outcomes.
const (
	OutcomeInFlight   Outcome = ""            // not ended yet
	OutcomeOK         Outcome = "ok"          // a result without isError
	OutcomeToolError  Outcome = "tool_error"  // a result with isError: true
	OutcomeRPCError   Outcome = "rpc_error"   // a JSON-RPC error response
	OutcomeCancelled  Outcome = "cancelled"   // notifications/cancelled was sent
	OutcomeNoResponse Outcome = "no_response" // the peer went away (Drain) or the id was reused
)

// Call is one request and, once ended, how it ended. It holds no reference
// to any line buffer.
type Call struct {
	// Seq numbers calls in the order their requests were observed (from 1);
	// it identifies a call even when ids are reused.
	Seq uint64
	// Direction is the way the request travelled (ClientToServer for the
	// client's own requests such as tools/call).
	Direction Direction
	// ID is the request's raw id token (`7` and `"7"` differ).
	ID string
	// Method is the request's method; Tool its params.name for tools/call.
	Method, Tool string
	// LogLevel is the request's _meta logLevel (stateless era), if any.
	LogLevel string
	// Arguments is a copy of the raw tools/call arguments, truncated to
	// TrackerOptions.ArgumentsLimit bytes (nil when that is 0).
	Arguments []byte
	// Start is when the request was observed, End when it ended (zero while
	// in flight).
	Start, End time.Time
	// Outcome is how the call ended; OutcomeInFlight while it runs.
	Outcome Outcome
	// ErrorCode and ErrorMessage describe an OutcomeRPCError.
	ErrorCode    int64
	ErrorMessage string
}

// Duration is End-Start, or zero while the call is in flight.
func (c Call) Duration() time.Duration {
	if c.End.IsZero() {
		return 0
	}
	return c.End.Sub(c.Start)
}

// IsToolCall reports whether c is a client's tools/call.
func (c Call) IsToolCall() bool {
	return c.Direction == ClientToServer && c.Method == MethodToolsCall
}

// overlaps reports whether c was running at some instant of [t0, t1]; a call
// still in flight runs until now.
func (c Call) overlaps(t0, t1 time.Time) bool {
	if c.Start.After(t1) {
		return false
	}
	return c.End.IsZero() || !c.End.Before(t0)
}

// Envelope returns the request-side fields of c as an Envelope, for
// Protocol.CanNotify.
func (c Call) Envelope() Envelope {
	return Envelope{Kind: KindRequest, ID: []byte(c.ID), Method: c.Method, Tool: c.Tool, LogLevel: c.LogLevel}
}
