package mcp

// Decode classifies one line (a message, with or without its trailing
// newline) and extracts its envelope in a single validating pass. It never
// panics; a line that is not valid JSON, or valid JSON that is not a JSON-RPC
// message, yields Kind KindInvalid and no other field. Byte fields of the
// result alias line.
//
// Duplicate keys resolve as in encoding/json: the last one wins.
func Decode(line []byte) Envelope {
	d := decoder{s: scanner{b: line}}
	i := d.s.ws(0)
	var env Envelope
	var end int
	ok := false
	switch {
	case i < len(line) && line[i] == '{':
		end, ok = d.message(i, &env)
	case i < len(line) && line[i] == '[':
		env.Kind = KindBatch
		env.Batch = make([]Envelope, 0, 4)
		end, ok = d.s.array(i, func(v int) (int, bool) {
			var el Envelope
			e, ok := d.message(v, &el)
			env.Batch = append(env.Batch, el)
			return e, ok
		})
	}
	if !ok || d.s.ws(end) != len(line) {
		return Envelope{}
	}
	return env
}

// decoder walks one message. Candidate fields are collected while walking
// (members may come in any order) and kept or dropped once the message's
// kind and method are known.
type decoder struct {
	s scanner
	m msgScratch
}

// msgScratch holds what one message walk found.
type msgScratch struct {
	method, id, params, result, errv []byte

	name, arguments, requestID, progress []byte // params.*
	logLevel, protoVersion, metaProgress []byte // params._meta.*
	isError                              []byte // result.isError
	code, message                        []byte // error.*
}

// message decodes the value at v into env when it is a JSON-RPC object, and
// skips (validating) any other value, leaving env as KindInvalid.
func (d *decoder) message(v int, env *Envelope) (int, bool) {
	if v >= len(d.s.b) || d.s.b[v] != '{' {
		return d.s.value(v)
	}
	d.m = msgScratch{}
	end, ok := d.s.object(v, d.topMember)
	if !ok {
		return end, false
	}
	d.m.fill(env)
	return end, true
}

// topMember handles one member of the message object.
func (d *decoder) topMember(key []byte, v int) (int, bool) {
	var e int
	var ok bool
	isObj := v < len(d.s.b) && d.s.b[v] == '{'
	k := plainKey(key)
	switch {
	case isObj && string(k) == "params":
		d.m.name, d.m.arguments, d.m.requestID, d.m.progress = nil, nil, nil, nil
		d.m.logLevel, d.m.protoVersion, d.m.metaProgress = nil, nil, nil
		e, ok = d.s.object(v, d.paramsMember)
	case isObj && string(k) == "result":
		d.m.isError = nil
		e, ok = d.s.object(v, d.resultMember)
	case isObj && string(k) == "error":
		d.m.code, d.m.message = nil, nil
		e, ok = d.s.object(v, d.errorMember)
	default:
		e, ok = d.s.value(v)
	}
	if !ok {
		return e, false
	}
	tok := d.s.b[v:e:e]
	switch string(k) {
	case "id":
		d.m.id = tok
	case "method":
		d.m.method = tok
	case "params":
		d.m.params = tok
		if !isObj {
			d.m.name, d.m.arguments, d.m.requestID, d.m.progress = nil, nil, nil, nil
			d.m.logLevel, d.m.protoVersion, d.m.metaProgress = nil, nil, nil
		}
	case "result":
		d.m.result = tok
		if !isObj {
			d.m.isError = nil
		}
	case "error":
		d.m.errv = tok
		if !isObj {
			d.m.code, d.m.message = nil, nil
		}
	}
	return e, true
}

func (d *decoder) paramsMember(key []byte, v int) (int, bool) {
	k := plainKey(key)
	if string(k) == "_meta" && v < len(d.s.b) && d.s.b[v] == '{' {
		d.m.logLevel, d.m.protoVersion, d.m.metaProgress = nil, nil, nil
		return d.s.object(v, d.metaMember)
	}
	e, ok := d.s.value(v)
	if !ok {
		return e, false
	}
	tok := d.s.b[v:e:e]
	switch string(k) {
	case "_meta": // not an object
		d.m.logLevel, d.m.protoVersion, d.m.metaProgress = nil, nil, nil
	case "name":
		d.m.name = tok
	case "arguments":
		d.m.arguments = tok
	case "requestId":
		d.m.requestID = tok
	case "progressToken":
		d.m.progress = tok
	}
	return e, true
}

func (d *decoder) metaMember(key []byte, v int) (int, bool) {
	k := plainKey(key)
	e, ok := d.s.value(v)
	if !ok {
		return e, false
	}
	tok := d.s.b[v:e:e]
	switch string(k) {
	case MetaKeyLogLevel:
		d.m.logLevel = tok
	case MetaKeyProtocolVersion:
		d.m.protoVersion = tok
	case "progressToken":
		d.m.metaProgress = tok
	}
	return e, true
}

func (d *decoder) resultMember(key []byte, v int) (int, bool) {
	e, ok := d.s.value(v)
	if ok && string(plainKey(key)) == "isError" {
		d.m.isError = d.s.b[v:e:e]
	}
	return e, ok
}

func (d *decoder) errorMember(key []byte, v int) (int, bool) {
	k := plainKey(key)
	e, ok := d.s.value(v)
	if !ok {
		return e, false
	}
	switch string(k) {
	case "code":
		d.m.code = d.s.b[v:e:e]
	case "message":
		d.m.message = d.s.b[v:e:e]
	}
	return e, true
}

// fill classifies the message and copies the relevant candidates into env.
func (m *msgScratch) fill(env *Envelope) {
	switch {
	case m.method != nil:
		if m.method[0] != '"' {
			return // a non-string method: not JSON-RPC
		}
		env.Method = internMethod(m.method[1 : len(m.method)-1])
		env.Kind = KindNotification
		if m.id != nil {
			env.Kind = KindRequest
			env.ID = m.id
		}
		env.Params = m.params
		env.LogLevel, _ = stringValue(m.logLevel)
		env.ProtocolVersion, _ = stringValue(m.protoVersion)
		env.ProgressToken = m.progress
		if env.ProgressToken == nil {
			env.ProgressToken = m.metaProgress
		}
		switch env.Method {
		case MethodToolsCall:
			env.Tool, _ = stringValue(m.name)
			env.Arguments = m.arguments
		case MethodCancelled:
			env.CancelledID = m.requestID
		}
	case m.errv != nil:
		env.Kind = KindErrorResponse
		env.ID, env.Error, env.Result = m.id, m.errv, m.result
		env.ErrorCode, _ = intValue(m.code)
		env.ErrorMessage, _ = stringValue(m.message)
	case m.result != nil:
		env.Kind = KindResponse
		env.ID, env.Result = m.id, m.result
		env.IsError = string(m.isError) == "true"
	}
}

// internMethod decodes a method name, returning a constant (no allocation)
// for the methods seen in ordinary traffic.
func internMethod(raw []byte) string {
	switch string(raw) {
	case MethodToolsCall:
		return MethodToolsCall
	case MethodToolsList:
		return MethodToolsList
	case MethodInitialize:
		return MethodInitialize
	case MethodInitialized:
		return MethodInitialized
	case MethodDiscover:
		return MethodDiscover
	case MethodSetLevel:
		return MethodSetLevel
	case MethodCancelled:
		return MethodCancelled
	case MethodProgress:
		return MethodProgress
	case MethodLogMessage:
		return MethodLogMessage
	case "ping":
		return "ping"
	case "resources/list":
		return "resources/list"
	case "resources/read":
		return "resources/read"
	case "prompts/list":
		return "prompts/list"
	case "prompts/get":
		return "prompts/get"
	case "roots/list":
		return "roots/list"
	case "sampling/createMessage":
		return "sampling/createMessage"
	case "elicitation/create":
		return "elicitation/create"
	case "completion/complete":
		return "completion/complete"
	}
	return unquoteBody(raw)
}
