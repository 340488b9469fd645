package mcp

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/x"},"_meta":{"progressToken":1}}}`,
		`{"jsonrpc":"2.0","id":"7","result":{"content":[],"isError":true}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
		`[{"id":1,"method":"a"},{"id":1,"result":{}}]`,
		`{"\u0069d":1e5,"method":"\ud83d\ude00"}`,
		"{\"id\":1,\"method\":\"\xff\"}\r\n",
		`{"id":-0.5e-3,"method":"x"`,
		`not json`, ``, `[`, `{"a":[1,{"b":null}],"id":true,"result":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		env := Decode(line)
		if !bytes.Equal(line, orig) {
			t.Fatal("Decode modified its input")
		}
		valid := json.Valid(line)
		if got := validJSON(line); got != valid {
			t.Fatalf("validJSON = %v, json.Valid = %v", got, valid)
		}
		if !valid {
			if env.Kind != KindInvalid {
				t.Fatalf("invalid JSON decoded as %v", env.Kind)
			}
			return
		}
		if env.Kind == KindBatch {
			var elems []json.RawMessage
			if err := json.Unmarshal(line, &elems); err != nil {
				t.Fatalf("batch but not an array: %v", err)
			}
			if len(elems) != len(env.Batch) {
				t.Fatalf("%d batch elements, encoding/json sees %d", len(env.Batch), len(elems))
			}
			for i := range elems {
				compareWithStd(t, elems[i], env.Batch[i])
			}
			return
		}
		compareWithStd(t, line, env)
	})
}

// compareWithStd checks env against what encoding/json makes of msg.
func compareWithStd(t *testing.T, msg []byte, env Envelope) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		if env.Kind != KindInvalid {
			t.Fatalf("not an object for encoding/json, but Kind %v", env.Kind)
		}
		return
	}
	rawMethod, hasMethod := m["method"]
	var method string
	methodIsString := hasMethod && json.Unmarshal(rawMethod, &method) == nil && bytes.HasPrefix(rawMethod, []byte(`"`))
	switch {
	case hasMethod && !methodIsString:
		if env.Kind != KindInvalid {
			t.Fatalf("non-string method, Kind %v", env.Kind)
		}
		return
	case hasMethod:
		if env.Method != method {
			t.Fatalf("Method %q, encoding/json %q", env.Method, method)
		}
		want := KindNotification
		if _, ok := m["id"]; ok {
			want = KindRequest
		}
		if env.Kind != want {
			t.Fatalf("Kind %v, want %v", env.Kind, want)
		}
		if method == MethodToolsCall {
			var p map[string]json.RawMessage // a map: struct fields match case-insensitively
			var name string
			if json.Unmarshal(m["params"], &p) == nil && bytes.HasPrefix(p["name"], []byte(`"`)) &&
				json.Unmarshal(p["name"], &name) == nil && env.Tool != name {
				t.Fatalf("Tool %q, encoding/json %q", env.Tool, name)
			}
		}
	case m["error"] != nil:
		if env.Kind != KindErrorResponse {
			t.Fatalf("Kind %v, want error response", env.Kind)
		}
	case m["result"] != nil:
		if env.Kind != KindResponse {
			t.Fatalf("Kind %v, want response", env.Kind)
		}
	default:
		if env.Kind != KindInvalid {
			t.Fatalf("Kind %v, want invalid", env.Kind)
		}
	}
	if env.Kind != KindInvalid && env.Kind != KindNotification {
		if id := m["id"]; !bytes.Equal(env.ID, id) {
			t.Fatalf("ID %q, encoding/json %q", env.ID, id)
		}
	}
}
