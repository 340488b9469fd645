package mcp

import (
	"sync"
)

// Era is the generation of the protocol a session speaks.
type Era uint8

// Protocol eras.
const (
	// EraUnknown: no initialize, discover or versioned request seen yet.
	EraUnknown Era = iota
	// EraLegacy: an initialize handshake (versions up to 2025-11-25).
	EraLegacy
	// EraStateless: 2026-07-28 and later (server/discover, per-request _meta).
	EraStateless
)

// String returns "unknown", "legacy" or "stateless".
func (e Era) String() string {
	switch e {
	case EraLegacy:
		return "legacy"
	case EraStateless:
		return "stateless"
	}
	return "unknown"
}

// StatelessVersion is the first protocol version of the stateless era.
const StatelessVersion = "2026-07-28"

// maxPending bounds the handshake requests awaiting a response.
const maxPending = 64

// ProtocolState is a snapshot of what a Protocol has learnt.
type ProtocolState struct {
	Era Era
	// RequestedVersion is initialize's params.protocolVersion (legacy), or the
	// latest _meta protocolVersion seen on a request (stateless).
	RequestedVersion string
	// NegotiatedVersion is initialize's result.protocolVersion.
	NegotiatedVersion string
	// ServerCapabilities and ClientCapabilities are the raw capability
	// objects from initialize (or server/discover for the server's).
	ServerCapabilities, ClientCapabilities []byte
	// ServerLogging reports that the server declared the logging capability.
	ServerLogging bool
	// Level is the level last accepted through logging/setLevel ("" if none).
	Level LoggingLevel
}

// Protocol follows the handshake of one session to know its era and what
// in-band logging it allows. It is safe for concurrent use.
type Protocol struct {
	mu      sync.Mutex
	st      ProtocolState
	pending map[string]pendingRequest // client requests of interest, by idKey
}

// pendingRequest is a handshake request awaiting its response.
type pendingRequest struct {
	method string
	level  LoggingLevel // for logging/setLevel
}

// NewProtocol returns a Protocol that has seen nothing yet.
func NewProtocol() *Protocol {
	return &Protocol{pending: make(map[string]pendingRequest)}
}

// State returns a snapshot (its byte slices are copies owned by the caller).
func (p *Protocol) State() ProtocolState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.ServerCapabilities = cloneBytes(st.ServerCapabilities)
	st.ClientCapabilities = cloneBytes(st.ClientCapabilities)
	return st
}

// Observe looks at one message travelling in dir (batches element by
// element). env is not retained.
func (p *Protocol) Observe(dir Direction, env *Envelope) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if env.Kind == KindBatch {
		for i := range env.Batch {
			p.observe(dir, &env.Batch[i])
		}
		return
	}
	p.observe(dir, env)
}

func (p *Protocol) observe(dir Direction, env *Envelope) {
	switch {
	case dir == ClientToServer && env.Kind == KindRequest:
		p.clientRequest(env)
	case dir == ServerToClient && env.IsResponse():
		key := idKey(env.ID)
		req, ok := p.pending[key]
		if !ok {
			return
		}
		delete(p.pending, key)
		if env.Kind == KindResponse {
			p.handshakeResult(req, env.Result)
		}
	}
}

func (p *Protocol) clientRequest(env *Envelope) {
	if env.ProtocolVersion >= StatelessVersion {
		p.st.Era = EraStateless
		p.st.RequestedVersion = env.ProtocolVersion
	}
	req := pendingRequest{method: env.Method}
	switch env.Method {
	case MethodInitialize:
		p.st.Era = EraLegacy
		p.st.RequestedVersion, _ = stringValue(member(env.Params, "protocolVersion"))
		p.st.ClientCapabilities = cloneBytes(member(env.Params, "capabilities"))
	case MethodSetLevel:
		s, _ := stringValue(member(env.Params, "level"))
		req.level = LoggingLevel(s)
	case MethodDiscover:
	default:
		return
	}
	if len(p.pending) < maxPending {
		p.pending[idKey(env.ID)] = req
	}
}

// handshakeResult applies the successful result of a pending request.
func (p *Protocol) handshakeResult(req pendingRequest, result []byte) {
	switch req.method {
	case MethodInitialize:
		p.st.NegotiatedVersion, _ = stringValue(member(result, "protocolVersion"))
		p.serverCapabilities(member(result, "capabilities"))
	case MethodDiscover:
		if p.st.Era != EraLegacy {
			p.st.Era = EraStateless
		}
		p.serverCapabilities(member(result, "capabilities"))
	case MethodSetLevel:
		if _, ok := Severity(req.level); ok {
			p.st.Level = req.level
		}
	}
}

func (p *Protocol) serverCapabilities(caps []byte) {
	p.st.ServerCapabilities = cloneBytes(caps)
	logging := member(caps, "logging")
	p.st.ServerLogging = len(logging) > 0 && logging[0] == '{'
}

// CanNotify reports whether sbshim may inject a notifications/message at
// level into this session, for an event attributed to the request req (the
// tools/call in flight, e.g. Call.Envelope(); a zero Envelope if none):
//
//   - legacy era: the server declared the logging capability and a level set
//     through logging/setLevel (and accepted) admits level; without a
//     setLevel, nothing is sent;
//   - stateless era: req is a request carrying
//     _meta["io.modelcontextprotocol/logLevel"] that admits level;
//   - era unknown: never.
func (p *Protocol) CanNotify(level LoggingLevel, req Envelope) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.st.Era {
	case EraLegacy:
		return p.st.ServerLogging && Admits(p.st.Level, level)
	case EraStateless:
		return req.Kind == KindRequest && Admits(LoggingLevel(req.LogLevel), level)
	}
	return false
}
