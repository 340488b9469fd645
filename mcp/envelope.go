package mcp

// Kind classifies one JSON-RPC message.
type Kind uint8

// Message kinds.
const (
	// KindInvalid is anything that is not a JSON-RPC message: not JSON, not
	// an object, or an object with neither method nor result nor error.
	KindInvalid Kind = iota
	// KindRequest has a method and an id.
	KindRequest
	// KindNotification has a method and no id.
	KindNotification
	// KindResponse has a result and no method.
	KindResponse
	// KindErrorResponse has an error and no method.
	KindErrorResponse
	// KindBatch is a JSON array (legacy JSON-RPC batch); see Envelope.Batch.
	KindBatch
)

var kindNames = [...]string{"invalid", "request", "notification", "response", "error_response", "batch"}

// String returns a short lower-case name for k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Well-known method names and _meta keys.
const (
	MethodInitialize       = "initialize"
	MethodInitialized      = "notifications/initialized"
	MethodDiscover         = "server/discover"
	MethodToolsCall        = "tools/call"
	MethodToolsList        = "tools/list"
	MethodSetLevel         = "logging/setLevel"
	MethodCancelled        = "notifications/cancelled"
	MethodProgress         = "notifications/progress"
	MethodLogMessage       = "notifications/message"
	MetaKeyLogLevel        = "io.modelcontextprotocol/logLevel"
	MetaKeyProtocolVersion = "io.modelcontextprotocol/protocolVersion"
)

// Envelope is what sbshim needs to know about one message, extracted in a
// single pass over the line without decoding payloads.
//
// Every []byte field aliases the line passed to Decode (raw JSON text, e.g.
// ID is `7` or `"7"`, so the two stay distinct); it is valid only as long as
// the line is. Use Clone to keep an Envelope beyond that. Strings are
// decoded values and may be kept.
type Envelope struct {
	Kind Kind
	// ID is the raw id token, nil when absent.
	ID []byte
	// Method is the method of a request or notification.
	Method string
	// Params, Result and Error are the raw values of those members.
	Params, Result, Error []byte

	// Tool is params.name of a tools/call request.
	Tool string
	// Arguments is the raw params.arguments of a tools/call request.
	Arguments []byte
	// IsError is result.isError == true (a tool-level error).
	IsError bool
	// ErrorCode and ErrorMessage are error.code and error.message.
	ErrorCode    int64
	ErrorMessage string
	// LogLevel is params._meta["io.modelcontextprotocol/logLevel"].
	LogLevel string
	// ProtocolVersion is params._meta["io.modelcontextprotocol/protocolVersion"]
	// (sent on every request of the stateless era).
	ProtocolVersion string
	// CancelledID is the raw params.requestId of notifications/cancelled.
	CancelledID []byte
	// ProgressToken is the raw params.progressToken (notifications/progress)
	// or params._meta.progressToken (a request asking for progress).
	ProgressToken []byte

	// Batch holds one Envelope per element when Kind is KindBatch.
	Batch []Envelope
}

// IsResponse reports whether e answers a request (with a result or error).
func (e *Envelope) IsResponse() bool {
	return e.Kind == KindResponse || e.Kind == KindErrorResponse
}

// Clone returns a copy of e that no longer aliases the decoded line.
func (e Envelope) Clone() Envelope {
	c := e
	c.ID = cloneBytes(e.ID)
	c.Params = cloneBytes(e.Params)
	c.Result = cloneBytes(e.Result)
	c.Error = cloneBytes(e.Error)
	c.Arguments = cloneBytes(e.Arguments)
	c.CancelledID = cloneBytes(e.CancelledID)
	c.ProgressToken = cloneBytes(e.ProgressToken)
	if e.Batch != nil {
		c.Batch = make([]Envelope, len(e.Batch))
		for i := range e.Batch {
			c.Batch[i] = e.Batch[i].Clone()
		}
	}
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
