package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// LoggerName is the logger name on the notifications sbshim injects.
const LoggerName = "sbshim"

// ErrNotToolResult is returned (wrapped) by Annotate for a line that is not
// a successful response whose result is an object.
var ErrNotToolResult = errors.New("not a tool call result")

// logNotification is the wire form of a notifications/message.
type logNotification struct {
	JSONRPC string    `json:"jsonrpc"`
	Method  string    `json:"method"`
	Params  logParams `json:"params"`
}

// LogNotification builds a complete notifications/message line (ending in
// '\n') at level from logger "sbshim" carrying data (any JSON-encodable
// value, typically a string or a map describing a blocked attempt).
func LogNotification(level LoggingLevel, data any) ([]byte, error) {
	return LogNotificationMeta(level, data, nil)
}

// LogNotificationMeta is LogNotification with meta, when not empty, as the
// params' "_meta" object.
func LogNotificationMeta(level LoggingLevel, data any, meta map[string]any) ([]byte, error) {
	if _, ok := Severity(level); !ok {
		return nil, fmt.Errorf("mcp: log notification: unknown level %q", level)
	}
	n := logNotification{JSONRPC: "2.0", Method: MethodLogMessage,
		Params: logParams{Meta: meta, Level: level, Logger: LoggerName, Data: data}}
	line, err := marshalLine(n)
	if err != nil {
		return nil, fmt.Errorf("mcp: log notification: %w", err)
	}
	return line, nil
}

// marshalLine encodes v on one line ending in '\n', without HTML escaping.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// textItem encodes one {"type":"text","text":...} content item.
func textItem(text string) ([]byte, error) {
	item, err := marshalLine(textContent{Type: "text", Text: text})
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(item, []byte("\n")), nil
}

// logParams are the params of notifications/message.
type logParams struct {
	Level  LoggingLevel   `json:"level"`
	Logger string         `json:"logger,omitempty"`
	Data   any            `json:"data"`
	Meta   map[string]any `json:"_meta,omitempty"`
}

// textContent is a text content item of a tool result.
type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}
