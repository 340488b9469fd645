package policy

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/sbshim/sbshim/configs"
)

// jsonFastSeeds are documents at the edges of what parseJSONFast takes.
var jsonFastSeeds = []string{
	`{}`, `[]`, ` {"a": [1, -0.5e+3, true, false, null, "x"]} `, `{"a":1,"a":2,"b":3,"b":4}`,
	`"s"`, `0`, `-`, `01`, `1.`, `1e`, `.5`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1} x`, `{"\u0041":1}`,
	`{"é":1}`, "{\"a\":\"\x01\"}", `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	`{"a":nul}`, `tru`, `{"a":[1 2]}`, "", "   ", `{"a":{"b":{}}}`, `[1e5,2E-3,-0]`,
}

// TestParseJSONFastShippedProfiles: every profile sbshim ships without an
// escape in a string (the default one among them) takes the fast path, and
// it gives the tree encoding/json gives.
func TestParseJSONFastShippedProfiles(t *testing.T) {
	type profile struct {
		name string
		read func(string) ([]byte, error)
	}
	var all []profile
	for _, n := range configs.Names() {
		all = append(all, profile{n, configs.Read})
	}
	for _, n := range configs.ServerNames() {
		all = append(all, profile{"servers/" + n, func(string) ([]byte, error) { return configs.ReadServer(n) }})
	}
	if len(all) < 2 {
		t.Fatalf("shipped profiles: %v", all)
	}
	for _, pr := range all {
		name := pr.name
		data, err := pr.read(name)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := parseJSONFast(data)
		if !ok {
			if !bytes.ContainsRune(data, '\\') {
				t.Errorf("%s: not taken by the fast path, and it has no escape", name)
			}
			continue
		}
		std, err := parseJSONTreeStd(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: the fast path's tree differs from encoding/json's", name)
		}
	}
}

// TestParseJSONFastAgrees: on the edge cases, the fast path either leaves
// the document to encoding/json or gives exactly its tree.
func TestParseJSONFastAgrees(t *testing.T) {
	for _, s := range jsonFastSeeds {
		checkJSONFast(t, []byte(s))
	}
}

// FuzzParseJSONFast: whatever parseJSONFast accepts, encoding/json accepts
// too, with the same tree.
func FuzzParseJSONFast(f *testing.F) {
	for _, s := range jsonFastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkJSONFast(t, data) })
}

func checkJSONFast(t *testing.T, data []byte) {
	t.Helper()
	fast, ok := parseJSONFast(data)
	if !ok {
		return
	}
	std, err := parseJSONTreeStd(data)
	if err != nil {
		t.Fatalf("%q: the fast path took it, encoding/json says %v", data, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%q: trees differ:\nfast %#v\n std %#v", data, fast, std)
	}
}
