package mcp

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Envelope
	}{
		{"tools/call request",
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/x"},"_meta":{"progressToken":"p1","io.modelcontextprotocol/logLevel":"info","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}` + "\n",
			Envelope{Kind: KindRequest, ID: b(`7`), Method: "tools/call", Tool: "read_file", Arguments: b(`{"path":"/x"}`),
				ProgressToken: b(`"p1"`), LogLevel: "info", ProtocolVersion: "2026-07-28"}},
		{"string id kept raw", `{"jsonrpc":"2.0","id":"7","method":"ping"}`,
			Envelope{Kind: KindRequest, ID: b(`"7"`), Method: "ping"}},
		{"members in any order, crlf", "{\"params\":{\"arguments\":{},\"name\":\"t\"},\"method\":\"tools/call\",\"id\":1}\r\n",
			Envelope{Kind: KindRequest, ID: b(`1`), Method: "tools/call", Tool: "t", Arguments: b(`{}`)}},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
			Envelope{Kind: KindNotification, Method: "notifications/initialized"}},
		{"cancelled", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"abc","reason":"x"}}`,
			Envelope{Kind: KindNotification, Method: "notifications/cancelled", CancelledID: b(`"abc"`)}},
		{"progress", `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":1}}`,
			Envelope{Kind: KindNotification, Method: "notifications/progress", ProgressToken: b(`5`)}},
		{"name ignored outside tools/call", `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}`,
			Envelope{Kind: KindRequest, ID: b(`1`), Method: "prompts/get"}},
		{"response", `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}`,
			Envelope{Kind: KindResponse, ID: b(`7`)}},
		{"tool error", `{"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":true}}`,
			Envelope{Kind: KindResponse, ID: b(`7`), IsError: true}},
		{"isError false", `{"jsonrpc":"2.0","id":7,"result":{"isError":false}}`,
			Envelope{Kind: KindResponse, ID: b(`7`)}},
		{"error response", `{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found"}}`,
			Envelope{Kind: KindErrorResponse, ID: b(`null`), ErrorCode: -32601, ErrorMessage: "Method not found"}},
		{"escaped key and method", `{"jsonrpc":"2.0","\u0069d":1,"method":"tools\/call","params":{"n\u0061me":"caf\u00e9"}}`,
			Envelope{Kind: KindRequest, ID: b(`1`), Method: "tools/call", Tool: "café"}},
		{"duplicate key last wins", `{"id":1,"id":2,"method":"a","method":"b"}`,
			Envelope{Kind: KindRequest, ID: b(`2`), Method: "b"}},
		{"non-string method", `{"id":1,"method":5}`, Envelope{}},
		{"no method result or error", `{"jsonrpc":"2.0","id":1}`, Envelope{}},
		{"not json", `hello`, Envelope{}},
		{"empty", ``, Envelope{}},
		{"truncated", `{"jsonrpc":"2.0","id":1,"method":"x"`, Envelope{}},
		{"trailing garbage", `{"id":1,"method":"x"} x`, Envelope{}},
		{"bad escape", `{"id":1,"method":"\x"}`, Envelope{}},
		{"control char", "{\"id\":1,\"method\":\"a\tb\"}", Envelope{}},
		{"number", `42`, Envelope{}},
		{"invalid utf8 in string", "{\"id\":1,\"method\":\"a\xffb\"}",
			Envelope{Kind: KindRequest, ID: b(`1`), Method: "a\uFFFDb"}},
		{"deep nesting rejected", `{"id":1,"method":"x","params":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, Envelope{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decode([]byte(tc.line))
			tc.want.Params, got.Params = nil, nil
			tc.want.Result, got.Result = nil, nil
			tc.want.Error, got.Error = nil, nil
			assertEnvelope(t, got, tc.want)
		})
	}
}

func TestDecodeRawMembers(t *testing.T) {
	e := Decode([]byte(`{"id":1,"result": {"a" : 1} ,"jsonrpc":"2.0"}`))
	if string(e.Result) != `{"a" : 1}` {
		t.Fatalf("Result = %q", e.Result)
	}
	e = Decode([]byte(`{"id":1,"method":"x","params":[1,2]}`))
	if string(e.Params) != `[1,2]` || e.Kind != KindRequest {
		t.Fatalf("Params = %q kind %v", e.Params, e.Kind)
	}
	e = Decode([]byte(`{"id":1,"error":{"code":1.5,"message":3}}`))
	if e.Kind != KindErrorResponse || e.ErrorCode != 0 || e.ErrorMessage != "" || string(e.Error) != `{"code":1.5,"message":3}` {
		t.Fatalf("odd error: %+v", e)
	}
}

func TestDecodeBatch(t *testing.T) {
	e := Decode([]byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}, {"jsonrpc":"2.0","method":"n"}, 3]` + "\n"))
	if e.Kind != KindBatch || len(e.Batch) != 3 {
		t.Fatalf("got %v with %d elements", e.Kind, len(e.Batch))
	}
	if e.Batch[0].Tool != "a" || e.Batch[1].Kind != KindNotification || e.Batch[2].Kind != KindInvalid {
		t.Fatalf("batch = %+v", e.Batch)
	}
	if e := Decode([]byte(`[{"id":1,"method":"x"},`)); e.Kind != KindInvalid {
		t.Fatalf("broken batch: %v", e.Kind)
	}
	if e := Decode([]byte(`[]`)); e.Kind != KindBatch || len(e.Batch) != 0 {
		t.Fatalf("empty batch: %+v", e)
	}
}

func TestEnvelopeClone(t *testing.T) {
	line := []byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1}}}]`)
	c := Decode(line).Clone()
	for i := range line {
		line[i] = ' '
	}
	if string(c.Batch[0].ID) != "1" || string(c.Batch[0].Arguments) != `{"x":1}` {
		t.Fatalf("clone still aliases the line: %+v", c.Batch[0])
	}
}

func TestKindString(t *testing.T) {
	if KindErrorResponse.String() != "error_response" || Kind(99).String() != "unknown" {
		t.Fatal("Kind.String")
	}
}

func b(s string) []byte { return []byte(s) }

func assertEnvelope(t *testing.T, got, want Envelope) {
	t.Helper()
	eq := func(x, y []byte) bool { return string(x) == string(y) && (x == nil) == (y == nil) }
	if got.Kind != want.Kind || !eq(got.ID, want.ID) || got.Method != want.Method || got.Tool != want.Tool ||
		!eq(got.Arguments, want.Arguments) || got.IsError != want.IsError || got.ErrorCode != want.ErrorCode ||
		got.ErrorMessage != want.ErrorMessage || got.LogLevel != want.LogLevel || got.ProtocolVersion != want.ProtocolVersion ||
		!eq(got.CancelledID, want.CancelledID) || !eq(got.ProgressToken, want.ProgressToken) {
		t.Fatalf("got  %s\nwant %s", dump(got), dump(want))
	}
}

func dump(e Envelope) string {
	return strings.Join([]string{e.Kind.String(), "id=" + string(e.ID), "method=" + e.Method, "tool=" + e.Tool,
		"args=" + string(e.Arguments), "level=" + e.LogLevel, "pv=" + e.ProtocolVersion, "cancel=" + string(e.CancelledID),
		"progress=" + string(e.ProgressToken), "msg=" + e.ErrorMessage}, " ")
}
