package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLog writes lines (each followed by a newline unless it is the last
// and noFinalNewline) to dir/name.
func writeLog(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	lnStart = `{"ts":"2026-11-22T10:00:00Z","server":"filesystem","session":"A","type":"session_start","command":["npx","x"]}`
	lnCall1 = `{"ts":"2026-11-22T10:15:02Z","server":"filesystem","session":"A","type":"tool_call","tool":"read_text_file","request_id":"7","duration_ms":12.3,"outcome":"ok","blocked":1}`
	lnBlk1  = `{"ts":"2026-11-22T10:15:01Z","server":"filesystem","session":"A","type":"blocked","kind":"file","op":"read","target":"/home/me/.ssh/id_rsa","pid":42,"exe":"/usr/bin/node","tool":"read_text_file","request_id":"7","rule":"filesystem.denyRead ~/.ssh","layer":"observer"}`
	lnBlk2  = `{"ts":"2026-11-22T11:00:00Z","server":"fetch","session":"B","type":"blocked","kind":"net","op":"connect","target":"evil.example:443","tool":["fetch","search"],"count":2}`
	lnCall2 = `{"ts":"2026-11-23T09:00:00Z","server":"fetch","session":"C","type":"tool_call","tool":"fetch","duration_ms":1200,"outcome":"tool_error"}`
)

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "filesystem.jsonl", lnStart, lnCall1, "garbage", "", lnBlk1, `{"ts":"2026-11-22T10:16:00Z","server":"filesystem","session":"A","type":"tool_call","tool":"wr`)
	writeLog(t, dir, "fetch.jsonl",
		lnBlk2,
		// A torn write, then a whole record on the same line.
		`{"ts":"2026-11-22T11:00:01Z","server":"fetch","sess`+lnCall2,
		`[1,2]`, `{"ts":"2026-11-22T11:00:00Z"}`, `{"type":"tool_call"}`, `{"ts":"yesterday","type":"x"}`)
	writeLog(t, dir, "notes.txt", lnCall1)
	os.Mkdir(filepath.Join(dir, "dir.jsonl"), 0o700)

	tests := []struct {
		name  string
		f     Filter
		lines []string // Raw of the entries, in order
	}{
		{"all", Filter{}, []string{lnStart, lnBlk1, lnCall1, lnBlk2, lnCall2}},
		{"server", Filter{Server: "fetch"}, []string{lnBlk2, lnCall2}},
		{"server by file name", Filter{Server: "@fetch"}, []string{lnBlk2, lnCall2}},
		{"tool", Filter{Tool: "read_text_file"}, []string{lnBlk1, lnCall1}},
		{"tool in a list", Filter{Tool: "search"}, []string{lnBlk2}},
		{"session", Filter{Session: "C"}, []string{lnCall2}},
		{"since", Filter{Since: time.Date(2026, 11, 22, 10, 15, 2, 0, time.UTC)}, []string{lnCall1, lnBlk2, lnCall2}},
		{"types", Filter{Types: []string{TypeBlocked}}, []string{lnBlk1, lnBlk2}},
		{"nothing", Filter{Server: "none"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ReadDir(dir, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Files) != 2 {
				t.Errorf("files %v", l.Files)
			}
			// garbage, the unterminated last line, the torn line, and
			// four lines that are JSON but not records.
			if l.Bad != 7 || len(l.BadLines) != 7 {
				t.Errorf("bad %d %v", l.Bad, l.BadLines)
			}
			var got []string
			for _, e := range l.Entries {
				got = append(got, string(e.Raw))
			}
			if strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.lines, "\n"))
			}
		})
	}
	l, _ := ReadDir(dir, Filter{})
	if b := l.BadLines[0]; b.File != filepath.Join(dir, "fetch.jsonl") || b.Line != 2 || !strings.Contains(b.String(), "torn") {
		t.Errorf("first bad line %v", b)
	}
	if e := l.Entries[len(l.Entries)-1]; e.Line != 2 || e.Record.Outcome != OutcomeToolError {
		t.Errorf("recovered entry %+v", e)
	}
}

func TestReadDirMissing(t *testing.T) {
	l, err := ReadDir(filepath.Join(t.TempDir(), "nope"), Filter{})
	if err != nil || len(l.Files) != 0 || len(l.Entries) != 0 {
		t.Errorf("%+v %v", l, err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "nope.jsonl"), Filter{}); err == nil {
		t.Error("ReadFile of a missing file: no error")
	}
}

func TestReadFileLongLine(t *testing.T) {
	dir := t.TempDir()
	long := `{"ts":"2026-11-22T10:15:02Z","type":"tool_call","arguments":"` + strings.Repeat("x", MaxLine) + `"}`
	mid := `{"ts":"2026-11-22T10:15:02Z","type":"tool_call","arguments":"` + strings.Repeat("y", 200<<10) + `"}`
	p := writeLog(t, dir, "x.jsonl", lnCall1, long, mid, lnCall2, long)
	// The last long line has no newline.
	os.WriteFile(p, []byte(lnCall1+"\n"+long+"\n"+mid+"\n"+lnCall2+"\n"+long), 0o600)
	l, err := ReadFile(p, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 3 || l.Bad != 2 || l.BadLines[0].Line != 2 || l.BadLines[1].Line != 5 {
		t.Errorf("entries %d bad %v", len(l.Entries), l.BadLines)
	}
	if len(l.Entries) == 3 && (l.Entries[1].Line != 3 || len(l.Entries[1].Record.Arguments) != 200<<10+2) {
		t.Errorf("middle entry line %d", l.Entries[1].Line)
	}
}

func TestSafeNameAndPaths(t *testing.T) {
	tests := []struct{ in, want string }{
		{"filesystem", "filesystem"},
		{"@modelcontextprotocol/server-filesystem", "modelcontextprotocol-server-filesystem"},
		{"../../etc/passwd", "etc-passwd"},
		{".hidden", "hidden"},
		{"-rf", "rf"},
		{"", "unnamed"},
		{"...", "unnamed"},
		{"a b\tc", "a-b-c"},
		{"Ünïcode", "n-code"},
		{"v1.2_x", "v1.2_x"},
	}
	for _, tt := range tests {
		if got := SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("a", 300)
	a, b := SafeName(long), SafeName(long+"b")
	if len(a) > maxNameLen || a == b || a != SafeName(long) {
		t.Errorf("long names %q %q", a, b)
	}
	if got := PathFor("/d", "@x/y"); got != "/d/x-y.jsonl" {
		t.Errorf("PathFor %q", got)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := DefaultDir(env(nil), "/home/me"); got != "/home/me/.local/state/sbshim/audit" {
		t.Errorf("DefaultDir %q", got)
	}
	if got := DefaultDir(env(map[string]string{"XDG_STATE_HOME": "/st"}), "/home/me"); got != "/st/sbshim/audit" {
		t.Errorf("DefaultDir XDG %q", got)
	}
	if got := DefaultDir(env(map[string]string{"XDG_STATE_HOME": "rel"}), "/home/me"); got != "/home/me/.local/state/sbshim/audit" {
		t.Errorf("DefaultDir relative XDG %q", got)
	}
}

func TestToolsJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Tools
		err  bool
	}{
		{`"read_file"`, Tools{"read_file"}, false},
		{`"-"`, Tools{"-"}, false},
		{`["a","b"]`, Tools{"a", "b"}, false},
		{`[]`, Tools{}, false},
		{`null`, nil, false},
		{` "x" `, Tools{"x"}, false},
		{`[1]`, nil, true},
		{`7`, nil, true},
		{`{}`, nil, true},
		{`nul`, nil, true},
		{``, nil, true},
	}
	for _, tt := range tests {
		var got Tools
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err || err == nil && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Unmarshal(%s) = %q, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in   Tools
		want string
	}{{nil, `null`}, {Tools{"a"}, `"a"`}, {Tools{"a", "b"}, `["a","b"]`}} {
		b, err := tt.in.MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%q) = %s, %v", tt.in, b, err)
		}
	}
}
