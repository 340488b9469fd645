package wrap

import (
	"strings"
	"testing"
)

func TestStates(t *testing.T) {
	for _, c := range []struct {
		entry  string
		state  State
		reason string
	}{
		{`{"command": "npx", "args": ["x"]}`, NotWrapped, ""},
		{`{"command": "/usr/local/bin/sbshim", "args": ["--", "x"]}`, Wrapped, ""},
		{`{"command": "sbshim"}`, Wrapped, ""},
		{`{"command": "C:\\bin\\sbshim.exe"}`, Wrapped, ""},
		{`{"command": "/usr/bin/docker", "args": ["run"]}`, Docker, "runs docker"},
		{`{"command": "podman"}`, Docker, "runs podman"},
		{`{"url": "https://x"}`, Remote, "has url"},
		{`{"serverUrl": "https://x"}`, Remote, "has serverUrl"},
		{`{"httpUrl": "https://x"}`, Remote, "has httpUrl"},
		{`{"type": "streamable-http", "command": "x"}`, Remote, "type streamable-http"},
		{`{"type": "SSE"}`, Remote, "type SSE"},
		{`{"type": "stdio", "command": "x"}`, NotWrapped, ""},
		{`{"args": ["x"]}`, Invalid, "no command"},
		{`{"command": 1}`, Invalid, "command is not a string"},
		{`{"command": "x", "args": "y"}`, Invalid, "args is not an array"},
		{`{"command": ""}`, Invalid, "empty command"},
		{`"npx"`, Invalid, "not an object"},
	} {
		doc, err := Parse([]byte(`{"mcpServers": {"s": `+c.entry+`}}`), JSON, []Layout{LayoutMCPServers})
		if err != nil {
			t.Fatalf("%s: %v", c.entry, err)
		}
		s := doc.Servers()[0]
		if s.State != c.state || !strings.Contains(s.Reason, c.reason) {
			t.Errorf("%s: %s (%s), want %s (%s)", c.entry, s.State, s.Reason, c.state, c.reason)
		}
	}
}

// Codex servers written as dotted keys are listed, as servers wrap leaves
// alone and says why; the file is not changed.
func TestTOMLDottedServers(t *testing.T) {
	for _, src := range []string{
		"mcp_servers.fs.command = \"npx\"\nmcp_servers.fs.args = [\"-y\", \"x\"]\n",
		"[mcp_servers]\nfs.command = \"npx\"\nfs.args = [\"-y\", \"x\"]\n",
	} {
		doc, err := Parse([]byte(src), TOML, nil)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		got := doc.Servers()
		if len(got) != 1 || got[0].Name != "fs" || got[0].State != Invalid || !strings.Contains(got[0].Reason, "dotted keys") {
			t.Fatalf("%q: servers %+v, want fs, invalid, dotted keys", src, got)
		}
		out, res, err := doc.Wrap(WrapOptions{Executable: "/usr/local/bin/sbshim"})
		if err != nil || string(out) != src || len(res) != 1 || res[0].Changed {
			t.Fatalf("%q: wrap changed it: %q %+v %v", src, out, res, err)
		}
	}
	// An env table of a [mcp_servers.NAME] server is not a dotted server.
	doc, err := Parse([]byte("[mcp_servers.fs]\ncommand = \"npx\"\n[mcp_servers.fs.env]\nA = \"1\"\n"), TOML, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Servers(); len(got) != 1 || got[0].State != NotWrapped {
		t.Fatalf("servers %+v, want fs alone, not wrapped", got)
	}
}

func TestUnwrapForms(t *testing.T) {
	for _, c := range []struct {
		name, in, want, note string
	}{
		{"wrap's form", `{"command": "/x/sbshim", "args": ["--name", "s", "--profile", "p", "--", "npx", "-y"]}`,
			`{"command": "npx", "args": ["-y"]}`, ""},
		{"other flags", `{"command": "/x/sbshim", "args": ["--net", "host", "--", "npx"]}`,
			`{"command": "npx", "args": []}`, ""},
		{"drop-in form", `{"command": "sbshim", "args": ["npx", "-y", "pkg"]}`,
			`{"command": "npx", "args": ["-y", "pkg"]}`, ""},
		{"escapes kept", `{"command": "sbshim", "args": ["--", "C:\\\\bin\\u002fsrv"]}`,
			`{"command": "C:\\\\bin\\u002fsrv", "args": []}`, ""},
		{"flags without --", `{"command": "sbshim", "args": ["--name", "s", "npx"]}`, "", `no "--" in args`},
		{"nothing after --", `{"command": "sbshim", "args": ["--name", "s", "--"]}`, "", `no command after "--"`},
		{"no args", `{"command": "sbshim"}`, "", "no args"},
		{"number before --", `{"command": "sbshim", "args": [1, "--", "x"]}`, "", "not all strings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse([]byte(`{"mcpServers": {"s": `+c.in+`}}`), JSON, []Layout{LayoutMCPServers})
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := doc.Unwrap(nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.note != "" {
				if res[0].Changed || !strings.Contains(res[0].Note, c.note) {
					t.Fatalf("result %+v, want it left alone with %q", res[0], c.note)
				}
				return
			}
			if want := `{"mcpServers": {"s": ` + c.want + `}}`; string(out) != want {
				t.Fatalf("got  %s\nwant %s", out, want)
			}
		})
	}
}

// An added args member and an empty args array that was there stay
// distinguishable, in every layout, so unwrap restores each exactly.
func TestWrapEmptyAndMissingArgs(t *testing.T) {
	for _, src := range []string{
		`{"mcpServers":{"a":{"command":"x","args":[]},"b":{"command":"x"}}}`,
		`{"mcpServers":{"a":{"command":"x","args":[ ]},"b":{"command":"x","args":[ "--name","b","--","y" ]}}}`,
		"{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\",\n      \"args\": [\n      ]\n    },\n    \"b\": {\n      \"command\": \"x\"\n    }\n  }\n}",
		"{\"mcpServers\": {\"a\": {\"command\": \"x\", // c\n \"args\": [/* c */]}}}",
	} {
		roundTrip(t, []byte(src), JSON, AllLayouts)
		doc, _ := Parse([]byte(src), JSON, AllLayouts)
		_, res, _ := doc.Wrap(WrapOptions{Executable: "/sb/sbshim"})
		for _, r := range res {
			if !r.Changed && r.State == NotWrapped {
				t.Errorf("%s: %s left alone: %s", src, r.Name, r.Note)
			}
		}
	}
	for _, src := range []string{
		"[mcp_servers.a]\ncommand = \"x\"\nargs = []\n[mcp_servers.b]\ncommand = \"x\"\n",
		"[mcp_servers]\na = { command = \"x\", args = [] }\nb = { command = \"x\" }\n",
		"[mcp_servers.a]\r\n  command = \"x\" # c\r\n",
		"[mcp_servers.a]\ncommand = \"x\"",
	} {
		roundTrip(t, []byte(src), TOML, nil)
	}
}

func TestQuote(t *testing.T) {
	j := &entry{style: styleJSON}
	if got := j.quote("a<b>&\"\\\x01"); got != `"a<b>&\"\\\u0001"` {
		t.Errorf("JSON quote: %s", got)
	}
	tm := &entry{style: styleTOMLTable}
	if got := tm.quote("a\x7fb\tc"); got != `"a\u007fb\tc"` {
		t.Errorf("TOML quote: %s", got)
	}
	tables, err := parseTOML([]byte("k = " + tm.quote("é\x7f\"\\\n") + "\n"))
	if err != nil || tables[0].body.members[0].value.str != "é\x7f\"\\\n" {
		t.Errorf("TOML quote does not read back: %v", err)
	}
}

// A file that starts with a UTF-8 byte order mark (some Windows editors
// write one) is read past it and keeps it when wrapped.
func TestByteOrderMark(t *testing.T) {
	for _, c := range []struct {
		format Format
		src    string
	}{
		{JSON, "\ufeff{\"mcpServers\": {\"s\": {\"command\": \"npx\"}}}\n"},
		{TOML, "\ufeff[mcp_servers.s]\ncommand = \"npx\"\n"},
	} {
		doc, err := Parse([]byte(c.src), c.format, []Layout{LayoutMCPServers})
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if got := doc.Servers(); len(got) != 1 || got[0].Name != "s" || got[0].State != NotWrapped {
			t.Fatalf("%q: servers %+v", c.src, got)
		}
		out, _, err := doc.Wrap(WrapOptions{Executable: "/usr/local/bin/sbshim"})
		if err != nil || !strings.HasPrefix(string(out), "\ufeff") || !strings.Contains(string(out), "sbshim") {
			t.Fatalf("%q: wrapped to %q, %v", c.src, out, err)
		}
	}
}
