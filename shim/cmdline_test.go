package shim

import (
	"strings"
	"testing"
)

// TestServerNameNeverFromCode: a server is named after the package a
// runner starts, the module or script file an interpreter runs, or the
// program; code given on the command line never names it, whatever
// options come before it.
func TestServerNameNeverFromCode(t *testing.T) {
	code := "import os; print(os.listdir('/x/y'))"
	for _, c := range []struct {
		want string
		argv []string
	}{
		{"python3", []string{"python3", "-c", code}},
		{"python3", []string{"python3", "-W", "ignore", "-c", code}},
		{"python3", []string{"python3", "-Wignore", "-c", code}},
		{"python3", []string{"python3", "-X", "dev", "-I", "-c", code}},
		{"python3", []string{"python3", "-Bc", code}},
		{"python3", []string{"python3", "--check-hash-based-pycs", "always", "-c", code}},
		{"python3", []string{"python3", "-"}},
		{"python3.12", []string{"/usr/bin/python3.12", "-c", code}},
		{"mcp_server_git", []string{"python3", "-I", "-m", "mcp_server_git", "--repository", "."}},
		{"mcp_server_git", []string{"python3", "-Im", "mcp_server_git"}},
		{"server", []string{"python3", "-W", "ignore", "server.py"}},
		{"server", []string{"python3", "-u", "/srv/weather/server.py", "-c", code}},
		{"node", []string{"node", "-e", code}},
		{"node", []string{"node", "--eval=" + code}},
		{"node", []string{"node", "--print", code}},
		{"node", []string{"node", "-pe", code}},
		{"node", []string{"node", "-r", "./preload.js", "-e", code}},
		{"node", []string{"node", "--import", "tsx", "--eval", code}},
		{"index", []string{"node", "-r", "./preload.js", "build/index.js"}},
		{"index", []string{"node", "--require", "./p.js", "--no-warnings", "/srv/x/dist/index.js", "-e", code}},
		{"x", []string{"node", "--", "x.mjs"}},
		{"sh", []string{"sh", "-c", "npx -y @a/b; " + code}},
		{"bash", []string{"bash", "script.sh"}},
		{"bash", []string{"bash", "-c", code}},
		{"deno", []string{"deno", "eval", code}},
		{"server", []string{"deno", "run", "-A", "--config", "deno.json", "server.ts"}},
		{"server", []string{"deno", "run", "-c", "deno.json", "server.ts"}},
		{"ruby", []string{"ruby", "-e", code}},
		{"ruby", []string{"ruby", "-rjson", "-e", code}},
		{"server", []string{"ruby", "-r", "json", "server.rb"}},
		{"server-github", []string{"npx", "-y", "@modelcontextprotocol/server-github"}},
		{"npx", []string{"npx", "-c", code}},
		{"npx", []string{"npx", "--yes", "--call", code}},
		{"server-y", []string{"npx", "--package=@x/server-y", "-c", "server-y --flag " + code}},
		{"server-y", []string{"npx", "-p", "@x/server-y@1.2", "server-y-bin"}},
		{"mcp-server-git", []string{"uvx", "--from", "mcp-server-git==1.0", "mcp-server-git"}},
		{"mcp-server-fetch", []string{"uvx", "--with", "requests", "--python", "3.12", "mcp-server-fetch"}},
		{"mcp-server-time", []string{"uv", "tool", "run", "mcp-server-time"}},
		{"pkgx", []string{"pipx", "run", "--spec", "pkgx", "cmd"}},
		{"mcp-foo", []string{"pipx", "run", "mcp-foo"}},
		{"npm", []string{"npm", "exec", "-c", code}},
		{"srv", []string{"npm", "exec", "-y", "--", "@x/srv"}},
		{"pnpm", []string{"pnpm", "dlx", "-c", code}},
		{"srv", []string{"pnpm", "dlx", "@x/srv@1"}},
		{"srv", []string{"yarn", "dlx", "-p", "@x/srv", "bin"}},
		{"srv", []string{"bun", "x", "@x/srv"}},
		{"docker", []string{"docker", "run", "-i", "img"}},
	} {
		if got := ServerName(c.argv); got != c.want {
			t.Errorf("ServerName(%q) = %q, want %q", c.argv, got, c.want)
		}
	}
}

// inlineForms are, per program, options that may come first (with their
// values) and the options that give code.
var inlineForms = []struct {
	prog    string
	options [][]string
	inline  []string
}{
	{"python3", [][]string{{"-W", "ignore"}, {"-Werror"}, {"-X", "dev"}, {"-I"}, {"-u"}, {"-B"}, {"-Bu"}, {"--check-hash-based-pycs", "never"}}, []string{"-c", "-Ic"}},
	{"node", [][]string{{"-r", "./p.js"}, {"--require", "x"}, {"--import=tsx"}, {"--import", "tsx"}, {"--no-warnings"}, {"-C", "dev"}, {"--env-file", ".env"}}, []string{"-e", "--eval", "-p", "--print", "-pe"}},
	{"ruby", [][]string{{"-r", "json"}, {"-rjson"}, {"-I", "lib"}, {"-w"}}, []string{"-e"}},
	{"npx", [][]string{{"-y"}, {"--yes"}, {"--no"}}, []string{"-c", "--call"}},
}

// FuzzServerNameNeverFromCode: whatever options come first, code given
// inline never shows in the name; any command line gives a plain name.
func FuzzServerNameNeverFromCode(f *testing.F) {
	f.Add(uint8(0), []byte{0, 1}, uint8(0), "Xcodemarker.py")
	f.Add(uint8(1), []byte{0, 3}, uint8(4), "Xcodemarker/dist/index.js")
	f.Add(uint8(3), []byte{}, uint8(1), "Xcodemarker")
	f.Fuzz(func(t *testing.T, progSel uint8, opts []byte, inlineSel uint8, code string) {
		form := inlineForms[int(progSel)%len(inlineForms)]
		argv := []string{form.prog}
		for _, o := range opts {
			argv = append(argv, form.options[int(o)%len(form.options)]...)
		}
		argv = append(argv, form.inline[int(inlineSel)%len(form.inline)], "Xcodemarker"+code)
		if got := ServerName(argv); got != form.prog {
			t.Errorf("ServerName(%q) = %q, want %q", argv, got, form.prog)
		}
		// Any command line at all gives a plain name.
		any := strings.Split(code, "\x00")
		if n := ServerName(any); n == "" || n != sanitizeName(n) {
			t.Errorf("ServerName(%q) = %q", any, n)
		}
		_ = serverIdentity(any)
	})
}
