package mcp

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzAnnotate(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}` + "\n",
		`{"jsonrpc":"2.0","id":"a","result":{"content":[]}}` + "\r\n",
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"id":1,"result":{"content":null,"x":{"content":[]}}}`,
		`{"id":1,"result":{"content":{"type":"text","text":"x"}},"result":{"content":[1]}}`,
		`{"id":1,"r\u0065sult":{"c\u006fntent":[true]}}`,
		`{"id":1,"result":{"content":"s"}}`,
		`garbage`,
	} {
		f.Add([]byte(s), "blocked: read ~/.ssh/id_rsa")
	}
	f.Add([]byte(`{"id":1,"result":{"content":[]}}`), "\xff<&>\"\n")
	f.Fuzz(func(t *testing.T, line []byte, text string) {
		orig := bytes.Clone(line)
		out, err := Annotate(line, text)
		if !bytes.Equal(line, orig) {
			t.Fatal("Annotate modified its input")
		}
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q:\n%q", line, out)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(line, []byte("\n")) {
			t.Fatal("line count changed")
		}
		before, after := Decode(line), Decode(out)
		if after.Kind != KindResponse || !bytes.Equal(before.ID, after.ID) {
			t.Fatalf("envelope changed: %v %q → %v %q", before.Kind, before.ID, after.Kind, after.ID)
		}
		origItems, origKind := contentOf(t, line)
		newItems, newKind := contentOf(t, out)
		if newKind != '[' || len(newItems) == 0 {
			t.Fatalf("content is not a non-empty array: %q", out)
		}
		var kept []json.RawMessage
		switch origKind {
		case '[':
			kept = origItems
		case '{':
			kept = origItems[:1]
		}
		if len(newItems) != len(kept)+1 {
			t.Fatalf("%d items, want %d kept + 1", len(newItems), len(kept))
		}
		for i := range kept {
			if !bytes.Equal(newItems[i], kept[i]) {
				t.Fatalf("item %d changed: %s → %s", i, kept[i], newItems[i])
			}
		}
		var added struct{ Type, Text string }
		var wantText string
		enc, _ := json.Marshal(text)
		_ = json.Unmarshal(enc, &wantText) // invalid UTF-8 becomes U+FFFD, as on the wire
		if err := json.Unmarshal(newItems[len(newItems)-1], &added); err != nil || added.Type != "text" || added.Text != wantText {
			t.Fatalf("added item %s (%v)", newItems[len(newItems)-1], err)
		}
	})
}

// contentOf returns the items of result.content per encoding/json and the
// first byte of the content value ('[', '{', 'n', or 0 when absent).
func contentOf(t *testing.T, line []byte) ([]json.RawMessage, byte) {
	t.Helper()
	var msg map[string]json.RawMessage
	var result map[string]json.RawMessage
	if json.Unmarshal(line, &msg) != nil || json.Unmarshal(msg["result"], &result) != nil {
		return nil, 0
	}
	c := result["content"]
	if len(c) == 0 {
		return nil, 0
	}
	switch c[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(c, &items); err != nil {
			t.Fatalf("content: %v", err)
		}
		return items, '['
	case '{':
		return []json.RawMessage{c}, '{'
	}
	return nil, c[0]
}
