package shim

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/isolation/netproxy"
	"github.com/sbshim/sbshim/isolation/policy"
)

func TestRecognizeServer(t *testing.T) {
	const fsPkg = "@modelcontextprotocol/server-filesystem"
	tests := []struct {
		argv    string
		profile string // "" for none
		args    string
	}{
		{"npx -y " + fsPkg + " /a /b", "filesystem", "/a /b"},
		{"/usr/local/bin/npx " + fsPkg + "@2026.8.31 /a", "filesystem", "/a"},
		{"npx --registry http://x -y @modelcontextprotocol/server-memory", "memory", ""},
		{"npx --offline @MODELCONTEXTPROTOCOL/server-memory@latest", "memory", ""},
		{"npm exec -- @modelcontextprotocol/server-everything stdio", "everything", "stdio"},
		{"npm exec -y @modelcontextprotocol/server-sequential-thinking", "sequential-thinking", ""},
		{"npm x @modelcontextprotocol/server-github", "github", ""},
		{"pnpm dlx @modelcontextprotocol/server-github", "github", ""},
		{"yarn dlx @modelcontextprotocol/server-memory", "memory", ""},
		{"bunx @modelcontextprotocol/server-memory", "memory", ""},
		{"npx -c 'server-filesystem /'", "", ""},
		{"npx -p " + fsPkg + " mcp-server-filesystem /", "", ""},
		{"npx --package=" + fsPkg + " x", "", ""},
		{"npx @evil/server-filesystem /", "", ""},
		{"npx " + fsPkg + "-fork /", "", ""},
		{"npm install " + fsPkg, "", ""},
		{"uvx mcp-server-fetch", "fetch", ""},
		{"uvx mcp-server-git --repository /r", "git", "--repository /r"},
		{"uvx --from mcp-server-git==2025.1 mcp-server-git", "git", ""},
		{"uvx --python 3.12 mcp_server_time --local-timezone UTC", "time", "--local-timezone UTC"},
		{"uvx Mcp.Server.Fetch[extra]>=1", "fetch", ""},
		{"uvx mcp-server-fetch@latest", "fetch", ""},
		{"uv tool run mcp-server-time", "time", ""},
		{"pipx run mcp-server-fetch", "fetch", ""},
		{"pipx run --spec mcp-server-git mcp-server-git -r /r", "git", "-r /r"},
		{"uvx mcp-server-fetcher", "", ""},
		{"go run github.com/github/github-mcp-server/cmd/github-mcp-server@latest stdio", "github", "stdio"},
		{"go run -mod=mod -tags x github.com/github/github-mcp-server/cmd/github-mcp-server stdio", "github", "stdio"},
		{"go run github.com/evil/github-mcp-server/cmd/github-mcp-server", "", ""},
		{"node /x/node_modules/" + fsPkg + "/dist/index.js /", "", ""},
		{"python -m mcp_server_fetch", "", ""},
		{"docker run -i mcp/filesystem", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.argv, func(t *testing.T) {
			m, ok := RecognizeServer(strings.Fields(strings.ReplaceAll(tc.argv, "'", "")))
			if ok != (tc.profile != "") || m.Profile != tc.profile || strings.Join(m.Args, " ") != tc.args {
				t.Fatalf("got %+v, %v; want profile %q args %q", m, ok, tc.profile, tc.args)
			}
			if ok && !slices.Contains(configs.ServerNames(), m.Profile) {
				t.Fatalf("profile %q is not shipped", m.Profile)
			}
		})
	}
}

// TestServerProfilesParse: every shipped server profile reads as a valid
// profile.
func TestServerProfilesParse(t *testing.T) {
	for _, n := range configs.ServerNames() {
		data, err := configs.ReadServer(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.ParseProfile(n, data); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// serverWorld is a home with a workspace, a data folder outside it and a
// secret; HOME and the XDG folders point into it.
func serverWorld(t *testing.T) (home, ws, data string) {
	t.Helper()
	base := os.Getenv("SBSHIM_TEST_DIR")
	if base == "" {
		base = "/var/tmp"
	}
	root, err := os.MkdirTemp(base, "sbshim-srv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	home = filepath.Join(root, "home")
	ws = filepath.Join(home, "proj")
	data = filepath.Join(root, "data")
	for _, d := range []string{ws, data, filepath.Join(home, ".ssh"), filepath.Join(home, ".config")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	return home, ws, data
}

func TestServerProfilePolicy(t *testing.T) {
	home, ws, data := serverWorld(t)
	link := filepath.Join(data, "to-home")
	if err := os.Symlink(home, link); err != nil {
		t.Fatal(err)
	}
	fsArgv := []string{"npx", "-y", "@modelcontextprotocol/server-filesystem", ws, data, home, "/", filepath.Join(home, ".ssh"), link, filepath.Join(data, "missing")}
	tests := []struct {
		name       string
		o          Options
		env        map[string]string
		writable   []string
		readOnly   []string
		source     string // substring of a source
		noSource   bool
		policyName string
	}{
		{name: "filesystem: its directories, checked", o: Options{Argv: fsArgv, Workspace: ws},
			writable: []string{filepath.Join(data, "x")}, readOnly: []string{filepath.Join(home, "x"), "/etc/x", filepath.Join(home, ".ssh", "x")},
			source: "built-in:servers/filesystem (npm package @modelcontextprotocol/server-filesystem; writable: " + ws + ", " + data + "; not granted: " + home + ": your home folder", policyName: "default+filesystem"},
		{name: "turned off", o: Options{Argv: fsArgv, Workspace: ws, NoServerProfile: true},
			readOnly: []string{filepath.Join(data, "x")}, noSource: true, policyName: "default"},
		{name: "overridden by --profile", o: Options{Argv: fsArgv, Workspace: ws, Profile: "read-only"},
			readOnly: []string{filepath.Join(data, "x")}, source: "built-in:servers/filesystem", policyName: "default+filesystem+read-only"},
		{name: "memory: the file's folder", o: Options{Argv: []string{"npx", "@modelcontextprotocol/server-memory"}, Workspace: ws},
			env: map[string]string{"MEMORY_FILE_PATH": filepath.Join(data, "memory.jsonl")}, writable: []string{filepath.Join(data, "memory.jsonl")}, source: "writable: " + data},
		{name: "memory: never the home folder", o: Options{Argv: []string{"npx", "@modelcontextprotocol/server-memory"}, Workspace: ws},
			env: map[string]string{"MEMORY_FILE_PATH": filepath.Join(home, "memory.jsonl")}, readOnly: []string{filepath.Join(home, "memory.jsonl")}, source: "not granted"},
		{name: "git: the repository", o: Options{Argv: []string{"uvx", "mcp-server-git", "--repository", data}, Workspace: ws},
			writable: []string{filepath.Join(data, "f")}, readOnly: []string{filepath.Join(data, ".git", "config"), filepath.Join(data, ".git", "hooks", "pre-commit")}, source: "PyPI package mcp-server-git"},
		{name: "github: the API host and the token", o: Options{Argv: []string{"npx", "@modelcontextprotocol/server-github"}, Workspace: ws},
			source: "built-in:servers/github"},
		{name: "fetch: any public host", o: Options{Argv: []string{"uvx", "mcp-server-fetch"}, Workspace: ws},
			source: "built-in:servers/fetch"},
		{name: "not recognised", o: Options{Argv: []string{"node", "server.js", data}, Workspace: ws},
			readOnly: []string{filepath.Join(data, "x")}, noSource: true, policyName: "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			pol, err := tc.o.Policy()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.writable {
				if rule, ok := pol.CanWrite(p); !ok {
					t.Errorf("%s not writable: %s", p, rule)
				}
			}
			for _, p := range tc.readOnly {
				if _, ok := pol.CanWrite(p); ok {
					t.Errorf("%s writable", p)
				}
			}
			src := strings.Join(pol.Sources, "\n")
			if tc.noSource == strings.Contains(src, "servers/") || tc.source != "" && !strings.Contains(src, tc.source) {
				t.Errorf("sources:\n%s\nwant %q", src, tc.source)
			}
			if tc.policyName != "" && pol.Name != tc.policyName {
				t.Errorf("policy name %q, want %q", pol.Name, tc.policyName)
			}
			if strings.HasPrefix(tc.name, "fetch") {
				// Every public host by name, through the proxy; never a
				// private, loopback or metadata address.
				rs, err := netproxy.NewRules([]netproxy.KeyedList{{Key: "network.allow", Entries: pol.Network.Allow}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := rs.Check("example.com", netip.Addr{}, 443); !ok {
					t.Errorf("fetch: example.com:443 refused under %q", pol.Network.Allow)
				}
				for _, ip := range []string{"10.0.0.1", "127.0.0.1", "169.254.169.254"} {
					if _, ok := rs.CheckAddr("example.com", netip.MustParseAddr(ip), 443, nil); ok {
						t.Errorf("fetch: a name resolving to %s is allowed", ip)
					}
				}
				if _, ok := rs.Check("", netip.MustParseAddr("10.0.0.1"), 443); ok {
					t.Error("fetch: the address 10.0.0.1 is allowed")
				}
			}
			if strings.Contains(tc.name, "github") {
				if !slices.Contains(pol.Network.Allow, "api.github.com:443") || !slices.Contains(pol.Env.Pass, "GITHUB_PERSONAL_ACCESS_TOKEN") || !slices.Contains(pol.Env.Pass, "*") {
					t.Errorf("github: allow %q pass %q", pol.Network.Allow, pol.Env.Pass)
				}
			}
		})
	}
}
