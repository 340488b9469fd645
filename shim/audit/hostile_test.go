package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// hostileStrings are names a sandboxed program can give a file, a host or
// its executable: line breaks that would forge a line of their own,
// terminal escapes, invalid UTF-8, bidi overrides, Unicode line separators.
var hostileStrings = []string{
	"/tmp/x\nsbshim: blocked nothing",
	"/tmp/x\rsbshim: ok",
	"/tmp/\x1b[1A\x1b[2K\x1b]52;c;Zm9v\a",
	"/tmp/\xff\xfe\xc3",
	"/tmp/\u202egnp.sh",
	"/tmp/a\u2028b\u2029c\u0085d",
	"/tmp/\x00\x7f\u009b31m",
}

// A target or executable that is not valid UTF-8 keeps its exact bytes in
// the log (target_b64, exe_b64) and reads back as it was.
func TestWriterKeepsInvalidUTF8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	w, err := Open(path, "s", "S")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostileStrings {
		if err := w.Write(Record{TS: fixedTS, Type: TypeBlocked, Kind: "file", Op: "read", Target: h, Exe: "/bin/" + h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(hostileStrings) {
		t.Fatalf("%d lines for %d records:\n%s", len(lines), len(hostileStrings), data)
	}
	for i, line := range lines {
		r, err := ParseLine([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if r := firstUnprintable(line); r != -1 {
			t.Errorf("line %d keeps %U: %q", i, r, line)
		}
		h := hostileStrings[i]
		if r.Target != h || r.Exe != "/bin/"+h {
			t.Errorf("line %d: target %q exe %q, want %q", i, r.Target, r.Exe, h)
		}
		if utf8.ValidString(h) != !strings.Contains(line, `"target_b64"`) {
			t.Errorf("line %d: target_b64 present %v for valid UTF-8 %v: %s", i, strings.Contains(line, `"target_b64"`), utf8.ValidString(h), line)
		}
	}
}

// printableLines checks that out is lines of valid UTF-8 with nothing
// unprintable in them, and returns them.
func printableLines(t *testing.T, what, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		if !utf8.ValidString(l) {
			t.Errorf("%s: invalid UTF-8 in %q", what, l)
		}
		for _, r := range l {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Errorf("%s: %U in %q", what, r, l)
				break
			}
		}
	}
	return lines
}

// Everything sbshim audit prints for people is one line per record, with
// every character a sandboxed program chose escaped.
func TestHumanOutputEscapes(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 15, 2, 0, time.UTC)
	var recs []Record
	for _, h := range hostileStrings {
		recs = append(recs,
			Record{TS: ts, Server: h, Session: h, Type: TypeBlocked, Tool: Tools{h, "t"}, Kind: h, Op: h, Target: h, Exe: h, Rule: h, PID: 7, Count: 2},
			Record{TS: ts, Server: h, Session: h, Type: TypeToolCall, Tool: Tools{h}, Outcome: h, Net: map[string]int{h: 1}},
			Record{TS: ts, Server: h, Session: h, Type: TypeConnection, Tool: Tools{h}, Target: h, Rule: h},
			Record{TS: ts, Server: h, Session: h, Type: TypeSessionStart, Command: []string{h, h}, Profile: h},
			Record{TS: ts, Server: h, Session: h, Type: TypeSessionEnd},
			Record{TS: ts, Server: h, Session: h, Type: h},
		)
	}
	for _, r := range recs {
		if got := printableLines(t, "Line", Line(r, time.UTC)); len(got) != 1 {
			t.Errorf("Line of a %q record is %d lines: %q", r.Type, len(got), got)
		}
	}
	var b strings.Builder
	if err := WriteEvents(&b, recs, time.UTC); err != nil {
		t.Fatal(err)
	}
	if got := printableLines(t, "WriteEvents", b.String()); len(got) != 1+len(recs) {
		t.Errorf("WriteEvents: %d lines for %d records:\n%s", len(got), len(recs), b.String())
	}
	b.Reset()
	s := Summarize(recs)
	if err := WriteTable(&b, s, true); err != nil {
		t.Fatal(err)
	}
	rows := len(s.Tools)
	for _, ts := range s.Tools {
		for d := range ts.Net {
			if ts.Refused[d] == 0 {
				rows++
			}
		}
		rows += len(ts.Refused)
	}
	if got := printableLines(t, "WriteTable", b.String()); len(got) != rows+3 {
		t.Errorf("WriteTable: %d lines for %d rows:\n%s", len(got), rows, b.String())
	}
}
