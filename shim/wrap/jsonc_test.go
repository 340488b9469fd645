package wrap

import (
	"strings"
	"testing"
)

func TestParseJSONC(t *testing.T) {
	for _, c := range []struct {
		name, src string
		err       string // a part of the error; "" if it must parse
	}{
		{"object", `{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`, ""},
		{"bom", "\xEF\xBB\xBF{}", ""},
		{"line comment", "// head\n{\"a\": 1 // tail\n}", ""},
		{"block comment", "/* a */{/* b */\"a\"/* c */:/* d */1/* e */}/* f */", ""},
		{"trailing commas", `{"a": [1, 2,], "b": {"c": 1,},}`, ""},
		{"numbers", `[0, -0, 1.5, -2e10, 3E+2, 4e-2]`, ""},
		{"escapes", `"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, ""},
		{"empty", "  ", "empty file"},
		{"unterminated object", `{"a": 1`, "unterminated object"},
		{"unterminated string", `{"a": "b`, "unterminated string"},
		{"unterminated comment", `{} /* x`, "unterminated /* comment"},
		{"bare key", `{a: 1}`, "want a key in quotes"},
		{"missing colon", `{"a" 1}`, `want ':' after the key "a"`},
		{"missing comma", `[1 2]`, "want ',' or ']'"},
		{"two values", `{} {}`, "after the end of the value"},
		{"leading zero", `[01]`, "want ',' or ']'"},
		{"bad escape", `"\x"`, `unknown escape \x`},
		{"control char", "\"a\tb\"", "control character"},
		{"bad literal", `[nul]`, "want a value"},
		{"lone comma", `[,]`, "want a value"},
		{"deep", strings.Repeat("[", maxDepth+1), "nested more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseJSONC([]byte(c.src))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("want an error with %q, got %v", c.err, err)
			}
		})
	}
}

func TestJSONCSpansAndStrings(t *testing.T) {
	src := "{\n  \"k\\u0065y\" : [ \"a\\\"b\", 12 ], // c\n  \"o\": {}\n}"
	root, err := parseJSONC([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m := root.get("key")
	if m == nil {
		t.Fatal("no member key (decoded from k\\u0065y)")
	}
	if got := src[m.keyStart:m.keyEnd]; got != `"k\u0065y"` {
		t.Errorf("key span %q", got)
	}
	arr := m.value
	if got := src[arr.start:arr.end]; got != `[ "a\"b", 12 ]` {
		t.Errorf("array span %q", got)
	}
	if len(arr.elems) != 2 || arr.elems[0].str != `a"b` || src[arr.elems[1].start:arr.elems[1].end] != "12" {
		t.Errorf("elements %+v", arr.elems)
	}
	if o := root.get("o"); o == nil || o.value.kind != kindObject || src[o.value.start:o.value.end] != "{}" {
		t.Errorf("member o: %+v", o)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := parseJSONC([]byte("{\n  \"a\": 1,\n  x\n}"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3, column 3:") {
		t.Fatalf("error %v, want it at line 3, column 3", err)
	}
}
