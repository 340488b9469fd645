package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"
)

// Record types.
const (
	TypeSessionStart = "session_start"
	TypeToolCall     = "tool_call"
	TypeBlocked      = "blocked"
	TypeSessionEnd   = "session_end"
	// TypeBlockedSummary counts blocked attempts that were not written
	// one by one (a flood past the session's limits): Count attempts,
	// by kind and op (ByOp) and by tool (ByTool; Tool lists the tools).
	// Each covers the attempts since the previous one.
	TypeBlockedSummary = "blocked_summary"
	// TypeConnection is one connection the network proxy made; written
	// only with audit.connections (otherwise tool_call and session_end
	// records count them in Net).
	TypeConnection = "connection"
	// TypeStartFailed is a session whose command never started (bad
	// config, command not found, sandbox set-up failed): Command, Mode
	// when known, ExitCode (sbshim's: 125, 126 or 127) and Error. The
	// session has no other record.
	TypeStartFailed = "start_failed"
)

// Outcomes of a tool_call record.
const (
	OutcomeOK         = "ok"
	OutcomeToolError  = "tool_error"
	OutcomeRPCError   = "rpc_error"
	OutcomeCancelled  = "cancelled"
	OutcomeNoResponse = "no_response"
)

// NoTool is the tool a blocked record names when no tools/call was in
// flight.
const NoTool = "-"

// Record is one line of an audit log. Fields are stable; zero values are
// omitted.
type Record struct {
	TS      time.Time `json:"ts"`
	Server  string    `json:"server"`
	Session string    `json:"session"`
	Type    string    `json:"type"` // "session_start", "tool_call", "blocked", "session_end"

	// session_start
	Command []string `json:"command,omitempty"`
	Profile string   `json:"profile,omitempty"`
	Mode    string   `json:"mode,omitempty"`   // "stdio" or "pty"
	Layers  any      `json:"layers,omitempty"` // isolation.Layers, marshalled as is
	PID     int      `json:"pid,omitempty"`    // session_start: sbshim's pid; blocked: the process that tried
	// ReportKeySHA256 is the SHA-256, in hex, of the session's report
	// key: the secret every in-band notification sbshim sends in the
	// session carries in its _meta, and which a sandboxed server never
	// sees (so a notification without it, or with another, is not
	// sbshim's).
	ReportKeySHA256 string `json:"report_key_sha256,omitempty"`

	// tool_call and blocked
	Tool      Tools  `json:"tool,omitempty"`       // one name, "-" (none in flight), or several
	RequestID string `json:"request_id,omitempty"` // the JSON-RPC id as its JSON text, without quotes for strings
	// tool_call
	DurationMS float64         `json:"duration_ms,omitempty"`
	Outcome    string          `json:"outcome,omitempty"`   // ok | tool_error | rpc_error | cancelled | no_response
	Blocked    int             `json:"blocked,omitempty"`   // also on session_end: total
	Arguments  json.RawMessage `json:"arguments,omitempty"` // only with audit.arguments, truncated by the caller
	Net        map[string]int  `json:"net,omitempty"`       // allowed destinations "host:port" → connections during this call (session_end: outside any call)

	// blocked
	Kind   string `json:"kind,omitempty"` // file | net | syscall
	Op     string `json:"op,omitempty"`
	Target string `json:"target,omitempty"`
	Exe    string `json:"exe,omitempty"`
	// TargetB64 and ExeB64 hold Target's and Exe's exact bytes, base64
	// (standard, padded), when they are not valid UTF-8: JSON text cannot
	// carry such bytes, and the Writer puts U+FFFD in their place in
	// target and exe. The Writer sets them; ParseLine restores Target and
	// Exe from them.
	TargetB64 string `json:"target_b64,omitempty"`
	ExeB64    string `json:"exe_b64,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Layer     string `json:"layer,omitempty"`
	Errno     string `json:"errno,omitempty"`
	Count     int    `json:"count,omitempty"` // >1 when identical repeats were collapsed into this record; blocked_summary: attempts counted

	// blocked_summary: attempts not written one by one, by "kind op" and
	// by tool.
	ByOp   map[string]int `json:"by_op,omitempty"`
	ByTool map[string]int `json:"by_tool,omitempty"`

	// session_end
	ExitCode  *int `json:"exit_code,omitempty"`
	ToolCalls int  `json:"tool_calls,omitempty"`
	// Dropped is how many of the session's Blocked attempts were not
	// written one by one (blocked_summary records count them).
	Dropped int `json:"dropped,omitempty"`

	// start_failed: why the command never started, as sbshim said it on
	// stderr.
	Error string `json:"error,omitempty"`
	// DurationMS is reused for the session's duration.
}

// Times is how many attempts a blocked record stands for: Count, or 1
// when Count is not set.
func (r Record) Times() int {
	if r.Count > 1 {
		return r.Count
	}
	return 1
}

// MarshalLogObject adds the record's fields, except ts (zap's entry time),
// to enc in the order of the struct, leaving out zero values. The field
// names are those of the json tags; the round-trip tests hold the two
// together.
func (r Record) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	str := func(k, v string) {
		if v != "" {
			enc.AddString(k, v)
		}
	}
	num := func(k string, v int) {
		if v != 0 {
			enc.AddInt(k, v)
		}
	}
	enc.AddString("server", r.Server)
	enc.AddString("session", r.Session)
	enc.AddString("type", r.Type)
	if len(r.Command) > 0 {
		if err := enc.AddArray("command", stringArray(r.Command)); err != nil {
			return err
		}
	}
	str("profile", r.Profile)
	str("mode", r.Mode)
	if r.Layers != nil {
		b, err := json.Marshal(r.Layers)
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		if string(b) != "null" {
			if err := enc.AddReflected("layers", json.RawMessage(b)); err != nil {
				return fmt.Errorf("layers: %w", err)
			}
		}
	}
	num("pid", r.PID)
	str("report_key_sha256", r.ReportKeySHA256)
	switch len(r.Tool) {
	case 0:
	case 1:
		enc.AddString("tool", r.Tool[0])
	default:
		if err := enc.AddArray("tool", stringArray(r.Tool)); err != nil {
			return err
		}
	}
	str("request_id", r.RequestID)
	if r.DurationMS != 0 && !math.IsNaN(r.DurationMS) && !math.IsInf(r.DurationMS, 0) {
		enc.AddFloat64("duration_ms", r.DurationMS)
	}
	str("outcome", r.Outcome)
	num("blocked", r.Blocked)
	if len(r.Arguments) > 0 {
		if err := enc.AddReflected("arguments", safeRaw(r.Arguments)); err != nil {
			return fmt.Errorf("arguments: %w", err)
		}
	}
	if len(r.Net) > 0 {
		if err := enc.AddObject("net", counts(r.Net)); err != nil {
			return err
		}
	}
	str("kind", r.Kind)
	str("op", r.Op)
	str("target", r.Target)
	str("exe", r.Exe)
	str("target_b64", r.TargetB64)
	str("exe_b64", r.ExeB64)
	str("rule", r.Rule)
	str("layer", r.Layer)
	str("errno", r.Errno)
	num("count", r.Count)
	if len(r.ByOp) > 0 {
		if err := enc.AddObject("by_op", counts(r.ByOp)); err != nil {
			return err
		}
	}
	if len(r.ByTool) > 0 {
		if err := enc.AddObject("by_tool", counts(r.ByTool)); err != nil {
			return err
		}
	}
	if r.ExitCode != nil {
		enc.AddInt("exit_code", *r.ExitCode)
	}
	num("tool_calls", r.ToolCalls)
	num("dropped", r.Dropped)
	str("error", r.Error)
	return nil
}

// safeRaw returns raw if it is valid JSON, else raw as a JSON string: the
// caller truncates arguments, and a cut in the middle of a value must not
// make the line unreadable.
func safeRaw(raw json.RawMessage) json.RawMessage {
	if json.Valid(raw) {
		return raw
	}
	b, err := json.Marshal(string(raw))
	if err != nil { // cannot happen for a string
		return json.RawMessage(`""`)
	}
	return b
}

type stringArray []string

func (a stringArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, s := range a {
		enc.AppendString(s)
	}
	return nil
}

type counts map[string]int

func (c counts) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		enc.AddInt(k, c[k])
	}
	return nil
}

// Tools is the tool(s) a record is attributed to: nil or empty → omitted;
// one → "name"; several → ["a","b"]. [NoTool] ("-") means no call was in
// flight.
type Tools []string

// MarshalJSON writes one tool as a string and several as an array.
func (t Tools) MarshalJSON() ([]byte, error) {
	switch len(t) {
	case 0:
		return []byte(`null`), nil
	case 1:
		return json.Marshal(t[0])
	default:
		return json.Marshal([]string(t))
	}
}

// UnmarshalJSON accepts a string, an array of strings, or null.
func (t *Tools) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("tool: empty value")
	}
	switch b[0] {
	case 'n':
		if string(b) != "null" {
			return fmt.Errorf("tool: invalid value %.20q", b)
		}
		*t = nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("tool: %w", err)
		}
		*t = Tools{s}
	case '[':
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("tool: %w", err)
		}
		*t = l
	default:
		return errors.New("tool: expected a string or an array of strings")
	}
	return nil
}

// Has reports whether name is one of the tools.
func (t Tools) Has(name string) bool { return slices.Contains(t, name) }

// String joins the tools with commas; "" for none.
func (t Tools) String() string {
	s := ""
	for i, n := range t {
		if i > 0 {
			s += ","
		}
		s += n
	}
	return s
}

// keepBytes sets TargetB64 and ExeB64 for a Target or Exe that is not
// valid UTF-8, so that the log keeps their exact bytes.
func (r *Record) keepBytes() {
	r.TargetB64, r.ExeB64 = "", ""
	if !utf8.ValidString(r.Target) {
		r.TargetB64 = base64.StdEncoding.EncodeToString([]byte(r.Target))
	}
	if !utf8.ValidString(r.Exe) {
		r.ExeB64 = base64.StdEncoding.EncodeToString([]byte(r.Exe))
	}
}

// restoreBytes puts back the exact Target and Exe that TargetB64 and
// ExeB64 hold. A value that does not decode is left alone.
func (r *Record) restoreBytes() {
	if r.TargetB64 != "" {
		if b, err := base64.StdEncoding.DecodeString(r.TargetB64); err == nil {
			r.Target = string(b)
		}
	}
	if r.ExeB64 != "" {
		if b, err := base64.StdEncoding.DecodeString(r.ExeB64); err == nil {
			r.Exe = string(b)
		}
	}
}
