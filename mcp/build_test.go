package mcp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestLogNotification(t *testing.T) {
	line, err := LogNotification("warning", map[string]any{"blocked": "/home/me/.ssh/id_rsa", "op": "read"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"sbshim","data":{"blocked":"/home/me/.ssh/id_rsa","op":"read"}}}` + "\n"
	if string(line) != want {
		t.Fatalf("got  %s\nwant %s", line, want)
	}
	env := Decode(line)
	if env.Kind != KindNotification || env.Method != MethodLogMessage {
		t.Fatalf("decodes as %v %q", env.Kind, env.Method)
	}
	line, err = LogNotification("error", "a <b> & \"c\"\nd")
	if err != nil || strings.Count(string(line), "\n") != 1 || !strings.Contains(string(line), `"a <b> & \"c\"\nd"`) {
		t.Fatalf("%q, %v", line, err)
	}
	if _, err := LogNotification("loud", "x"); err == nil {
		t.Fatal("unknown level accepted")
	}
	if _, err := LogNotification("info", func() {}); err == nil {
		t.Fatal("unencodable data accepted")
	}
}

func TestAnnotate(t *testing.T) {
	const item = `{"type":"text","text":"sbshim: blocked read of ~/.ssh/id_rsa"}`
	tests := []struct {
		name, line, want string
	}{
		{"splice into content",
			`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}` + "\n",
			`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"},` + item + `],"isError":false}}` + "\n"},
		{"empty content, crlf kept",
			`{"result":{"content":[ ]},"id":"x","jsonrpc":"2.0"}` + "\r\n",
			`{"result":{"content":[ ` + item + `]},"id":"x","jsonrpc":"2.0"}` + "\r\n"},
		{"odd spacing and field order kept",
			`{ "id" : 1 , "result" : { "structuredContent" : {"n":1.50} , "content" : [ {"type":"image","data":"AA==","mimeType":"image/png"} ] } , "jsonrpc" : "2.0" }`,
			`{ "id" : 1 , "result" : { "structuredContent" : {"n":1.50} , "content" : [ {"type":"image","data":"AA==","mimeType":"image/png"} ,` + item + `] } , "jsonrpc" : "2.0" }`},
		{"no content member",
			`{"jsonrpc":"2.0","id":1,"result":{"isError":true}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[` + item + `]}}`},
		{"empty result",
			`{"jsonrpc":"2.0","id":1,"result":{}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[` + item + `]}}`},
		{"last content wins, as in encoding/json",
			`{"id":1,"result":{"content":[1],"content":[2]}}`,
			`{"id":1,"result":{"content":[1],"content":[2,` + item + `]}}`},
		{"re-encode: null content",
			`{"id":1,"result":{ "a\"b" : 1, "content" : null ,"z":[ 1 ]}}` + "\n",
			`{"id":1,"result":{"a\"b":1,"content":[` + item + `],"z":[ 1 ]}}` + "\n"},
		{"re-encode: single object content",
			`{"id":1,"result":{"content":{"type":"text","text":"x"}}}`,
			`{"id":1,"result":{"content":[{"type":"text","text":"x"},` + item + `]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Annotate([]byte(tc.line), "sbshim: blocked read of ~/.ssh/id_rsa")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatal("result is not valid JSON")
			}
		})
	}
}

func TestAnnotateRefuses(t *testing.T) {
	for _, line := range []string{
		`not json`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":1,"result":[1]}`,
		`{"jsonrpc":"2.0","id":1,"result":{"content":"text"}}`,
		`[{"jsonrpc":"2.0","id":1,"result":{"content":[]}}]`,
	} {
		if out, err := Annotate([]byte(line), "x"); !errors.Is(err, ErrNotToolResult) {
			t.Errorf("Annotate(%s) = %s, %v; want ErrNotToolResult", line, out, err)
		}
	}
}

func TestAnnotateDoesNotTouchInput(t *testing.T) {
	line := []byte(`{"id":1,"result":{"content":[]}}` + "\n")
	orig := string(line)
	out, err := Annotate(line[:len(line)-1:len(line)-1], "x")
	if err != nil || string(line) != orig || strings.HasSuffix(string(out), "\n") {
		t.Fatalf("out %q err %v input %q", out, err, line)
	}
}
