package audit

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/home/me/.ssh/id_rsa", "/home/me/.ssh/id_rsa"},
		{"", ""},
		{"/tmp/a b", "/tmp/a b"},
		{"/tmp/été/日本", "/tmp/été/日本"},
		{"/tmp/x\nsbshim: blocked nothing", `/tmp/x\nsbshim: blocked nothing`},
		{"/tmp/x\r\tz", `/tmp/x\r\tz`},
		{"/tmp/\x1b[2K\x1b]52;c;Zm9v\a", `/tmp/\x1b[2K\x1b]52;c;Zm9v\x07`},
		{"/tmp/\x00\x7f", `/tmp/\x00\x7f`},
		{"/tmp/\xff\xfe", `/tmp/\xff\xfe`},
		{"/tmp/\xc3", `/tmp/\xc3`},                       // a cut UTF-8 sequence
		{"/tmp/\u0085\u009b", `/tmp/\u0085\u009b`},       // C1: NEL, CSI
		{"/tmp/\u202egnp.exe", `/tmp/\u202egnp.exe`},     // right-to-left override
		{"/tmp/\u2066x\u2069", `/tmp/\u2066x\u2069`},     // isolates
		{"/tmp/a\u2028b\u2029c", `/tmp/a\u2028b\u2029c`}, // line, paragraph separators
		{"/tmp/s\u200bb\ufeff", `/tmp/s\u200bb\ufeff`},   // zero width space, BOM
		{"/tmp/\u00a0", `/tmp/\u00a0`},                   // a space that is not U+0020
		{"/tmp/\U000e0041", `/tmp/\U000e0041`},           // a tag character
		{`C:\x41`, `C:\\x41`},                            // a backslash is escaped too
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// unescape reads Escape's output back: its escapes are those of a Go
// string literal.
func unescape(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for s != "" {
		r, multi, tail, err := strconv.UnquoteChar(s, 0)
		if err != nil {
			t.Fatalf("unescape %q: %v", s, err)
		}
		if r < utf8.RuneSelf || multi {
			b.WriteRune(r)
		} else {
			b.WriteByte(byte(r)) // \xNN of an invalid byte
		}
		s = tail
	}
	return b.String()
}

// What Escape returns is one printable line of valid UTF-8 from which the
// original reads back exactly.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"/x\ny", "\x1b[31m", "\xff", "\u202e", "a\\b", "\u2028", "日本\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q: not valid UTF-8", s, e)
		}
		for _, r := range e {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
		if back := unescape(t, e); back != s {
			t.Fatalf("Escape(%q) = %q reads back as %q", s, e, back)
		}
	})
}

// SafeJSON leaves a JSON text's value as it was and nothing in it that a
// terminal would not just print.
func FuzzSafeJSON(f *testing.F) {
	for _, s := range []string{"/x\u009b31m", "\u202e\u2028\x7f", "\xff", `a\"b`, "日本", "\U000e0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := json.Marshal(map[string]string{"target": s, s: "k"})
		if err != nil {
			t.Fatal(err)
		}
		out := SafeJSON(in)
		var a, b map[string]string
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("SafeJSON(%s) = %s: %v", in, out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("SafeJSON(%s) = %s: %q, want %q", in, out, b, a)
		}
		if r := firstUnprintable(string(out)); r != -1 {
			t.Fatalf("SafeJSON(%s) = %s keeps %U", in, out, r)
		}
	})
}

func firstUnprintable(s string) rune {
	if !utf8.ValidString(s) {
		return utf8.RuneError
	}
	for _, r := range s {
		if r != ' ' && !unicode.IsPrint(r) {
			return r
		}
	}
	return -1
}
