package wrap

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seeds adds every golden input with the given extension to the corpus.
func seeds(f *testing.F, ext string) {
	paths, _ := filepath.Glob(filepath.Join(goldenDir, "*", "*"+ext))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzJSONC: the scanner never panics, accepts all that encoding/json
// accepts, and its spans and decoded strings agree with encoding/json.
func FuzzJSONC(f *testing.F) {
	seeds(f, ".json")
	for _, s := range []string{`{}`, `[]`, `"a\u00e9\ud83d\ude00"`, `{"a":[1,-2.5e3,true,null,],}`, "// c\n{/* x */}", `"\ud800"`, `[[[[`, `{"a" 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		root, err := parseJSONC(src)
		if json.Valid(src) && err != nil && !strings.Contains(err.Error(), "nested") {
			t.Fatalf("valid JSON refused: %v", err)
		}
		if err != nil {
			return
		}
		var check func(n *node)
		check = func(n *node) {
			if n.start < 0 || n.end > len(src) || n.start >= n.end {
				t.Fatalf("bad span [%d,%d)", n.start, n.end)
			}
			if n.kind == kindString && utf8Valid(src[n.start:n.end]) {
				var s string
				if err := json.Unmarshal(src[n.start:n.end], &s); err != nil || s != n.str {
					t.Fatalf("string %s decoded as %q, encoding/json says %q (%v)", src[n.start:n.end], n.str, s, err)
				}
			}
			for _, m := range n.members {
				check(m.value)
			}
			for _, e := range n.elems {
				check(e)
			}
		}
		check(root)
	})
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// FuzzTOML: the TOML scanner never panics and its spans are sane.
func FuzzTOML(f *testing.F) {
	seeds(f, ".toml")
	for _, s := range []string{"a = 1\n", "[t]\nk = \"\"\"x\n\"\"\"\n", "x = [1,\n# c\n2,]\n", "y = { a = 'b', c = [] }\n", "d = 1979-05-27 07:32:00Z\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		tables, err := parseTOML(src)
		if err != nil {
			return
		}
		for _, tb := range tables {
			for _, m := range tb.body.members {
				if m.value.start < m.keyEnd || m.value.end > len(src) || m.lineEnd < m.value.end {
					t.Fatalf("bad spans for %q", m.key)
				}
			}
		}
	})
}

// roundTrip checks the promises of wrap on any parsable input: the result
// parses, wrapping again changes nothing, and (when nothing was wrapped
// before) unwrapping gives the input back byte for byte.
func roundTrip(t *testing.T, src []byte, format Format, layouts []Layout) {
	if _, err := Parse(src, format, layouts); err != nil {
		return
	}
	for i, profile := range []string{"", "p r\"o\\file\x7f", "", "read-only"} {
		opts := WrapOptions{Executable: "/opt/sb shim/sbshim", Profile: profile, Trusted: i < 2, Project: "/home/me/proj"}
		doc, _ := Parse(src, format, layouts)
		out, results, err := doc.Wrap(opts)
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := Parse(out, format, layouts)
		if err != nil {
			t.Fatalf("wrapped text does not parse: %v\n%s", err, out)
		}
		again, _, err := wrapped.Wrap(opts)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("wrap twice differs from wrap once (%v)", err)
		}
		if hasWrapped(doc) {
			continue
		}
		back, _, err := wrapped.Unwrap(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, src) {
			t.Fatalf("unwrap(wrap(x)) != x\n%s", UnifiedDiff("x", "unwrap(wrap(x))", src, back))
		}
		for _, r := range results {
			if r.State == NotWrapped && !r.Changed {
				t.Logf("left alone: %s: %s", r.Name, r.Note)
			}
		}
	}
}

func FuzzWrapJSON(f *testing.F) {
	seeds(f, ".json")
	f.Add([]byte(`{"mcpServers":{"a":{"command":"x","args":[]},"b":{"command":"y"}}}`))
	f.Add([]byte("{\"servers\":{\"a\":{\n\"command\" : \"x\" /*c*/ ,\n\t\"args\":[ // c\n]}}}"))
	f.Fuzz(func(t *testing.T, src []byte) { roundTrip(t, src, JSON, AllLayouts) })
}

func FuzzWrapTOML(f *testing.F) {
	seeds(f, ".toml")
	f.Add([]byte("[mcp_servers.a]\ncommand = \"x\"\r\nargs = []\n"))
	f.Add([]byte("mcp_servers.b = { command = 'y' }\n[mcp_servers]\nc = {command=\"z\",args=[\"1\",]}"))
	f.Fuzz(func(t *testing.T, src []byte) { roundTrip(t, src, TOML, nil) })
}
