package wrap

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTOML(t *testing.T) {
	for _, c := range []struct {
		name, src string
		err       string
	}{
		{"tables", "a = 1\n[t]\nb = 'x'\n[[arr]]\nc = true\n[t.\"sub key\"]\n", ""},
		{"comments", "# c\n  a = 1 # c\n\n[t] # c\n", ""},
		{"crlf", "a = 1\r\n[t]\r\nb = 2\r\n", ""},
		{"no final newline", "a = \"x\"", ""},
		{"multi-line array", "a = [\n  1, # one\n  2,\n]\n", ""},
		{"inline table", "a = { b = 1, c.d = \"e\", f = [1] }\n", ""},
		{"multi-line strings", "a = \"\"\"\nx \"\" y\\\n   z\"\"\"\nb = '''\nraw \\ text'''\n", ""},
		{"dates", "a = 1979-05-27T07:32:00Z\nb = 1979-05-27 07:32:00\nc = 07:32:00\n", ""},
		{"unterminated array", "a = [1, 2\n", "unterminated array"},
		{"unterminated string", "a = \"x\n", "control character"},
		{"missing value", "a =\n", "want a value"},
		{"missing equals", "a 1\n", "want '=' after the key"},
		{"junk after value", "a = 1 2\n", "unexpected space"},
		{"junk after string", "a = \"x\" y\n", "want the end of the line"},
		{"bad header", "[t\n", "close the table header"},
		{"bad escape", "a = \"\\q\"\n", `unknown escape \q`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseTOML([]byte(c.src))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("want an error with %q, got %v", c.err, err)
			}
		})
	}
}

func TestTOMLStrings(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`"a\tb\u00e9\U0001F600\"\\"`, "a\tb\u00e9\U0001F600\"\\"},
		{`'C:\path\no escapes'`, `C:\path\no escapes`},
		{"\"\"\"\nline1\nline2\"\"\"", "line1\nline2"},
		{"\"\"\"a \\\n    b\"\"\"", "a b"},
		{"'''\nraw\\n'''", `raw\n`},
		{`""""quoted""""`, `"quoted"`},
	} {
		tables, err := parseTOML([]byte("k = " + c.src + "\n"))
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got := tables[0].body.members[0].value.str; got != c.want {
			t.Errorf("%s decoded as %q, want %q", c.src, got, c.want)
		}
	}
}

func TestTOMLKeysAndTables(t *testing.T) {
	src := "top = 1\n[mcp_servers.\"a.b\"]\ncommand = \"x\" # c\nenv.K = \"v\"\n[[list]]\n"
	tables, err := parseTOML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 3 {
		t.Fatalf("%d tables, want 3", len(tables))
	}
	if !reflect.DeepEqual(tables[1].path, []string{"mcp_servers", "a.b"}) || tables[1].array {
		t.Errorf("table 1: %q array=%v", tables[1].path, tables[1].array)
	}
	if !reflect.DeepEqual(tables[1].paths, [][]string{{"command"}, {"env", "K"}}) {
		t.Errorf("keys %q", tables[1].paths)
	}
	cmd := tables[1].body.get("command")
	if cmd == nil || src[cmd.keyStart:cmd.keyEnd] != "command" || src[cmd.value.start:cmd.value.end] != `"x"` {
		t.Errorf("command member %+v", cmd)
	}
	if !tables[2].array {
		t.Error("[[list]] is not an array table")
	}
}
