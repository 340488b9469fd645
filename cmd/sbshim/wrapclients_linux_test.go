package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sbshim/sbshim/shim/wrap"
)

// fakeToken has the shape of a GitHub token, so that sbshim's env rules
// hold it back by its name and by its value.
const fakeToken = "ghp_0123456789abcdefghijABCDEFGHIJ012345"

// envecho builds the envecho test server (testdata/envecho) once per test
// binary run, into binDir.
func envecho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "envecho")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "build", "-o", bin, "../../testdata/envecho")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build envecho: %v\n%s", err, out)
	}
	return bin
}

// launched is one wrapped entry as a client starts it.
type launched struct {
	argv []string
	env  map[string]string
	dir  string
}

// start runs the entry as the client would (argv, the client's
// environment plus the entry's env, its working directory) under the
// official Go SDK client.
func (b *box) start(ctx context.Context, l launched, stderr *syncBuffer) *sdk.ClientSession {
	b.t.Helper()
	cmd := exec.Command(l.argv[0], l.argv[1:]...)
	cmd.Dir = l.dir
	cmd.Env = append(filteredEnviron(), "HOME="+b.home,
		"XDG_CONFIG_HOME="+filepath.Join(b.home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(b.home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(b.root, "state"))
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = stderr
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "wrap-e2e", Version: "1"}, nil).Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.t.Fatalf("start %q in %s: %v\nstderr:\n%s", l.argv, l.dir, err, tail(stderr.String(), 4096))
	}
	return cs
}

// wrappedArgv reads the command and args of server name from a wrapped
// config file with wrap's own reader.
func wrappedArgv(t *testing.T, path, client, name string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	loc := wrap.ConfigLocation(path, client)
	doc, err := wrap.Parse(data, loc.Format, loc.Layouts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, s := range doc.Servers() {
		if s.Name == name {
			return append([]string{s.Command}, s.Args...)
		}
	}
	t.Fatalf("%s has no server %s:\n%s", path, name, data)
	return nil
}

// blockedRecords returns every blocked record of the audit logs in dir.
func blockedRecords(t *testing.T, dir string) []string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var out []string
	for _, p := range logs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["type"] == "blocked" {
				out = append(out, filepath.Base(p)+": "+sc.Text())
			}
		}
		f.Close()
	}
	return out
}

// TestWrapEveryClient writes a realistic user configuration for each
// client sbshim wraps, each with a GitHub-style server that needs its
// token from the entry's env (envecho standing in), the reference
// filesystem server with a cwd, and an npx server from the user's
// registry mirror on loopback; wraps them all; then starts every wrapped
// entry exactly as the client would (argv from the file, the entry's env,
// its cwd or the folder the client starts servers in) with the official
// Go SDK client. The token must arrive (wrap passes it with --env-pass),
// the filesystem server must be able to write in its cwd (wrap gives it
// as --workspace, so even a client that starts it in / does), and no
// session may report anything blocked. Unwrap gives every file back byte
// for byte, and leaves one backup a file in sbshim's state folder.
func TestWrapEveryClient(t *testing.T) {
	b := newBox(t)
	sbshim, gh := filepath.Join(binDir, "sbshim"), envecho(t)
	fsArgv := serverArgv(t, "server-filesystem")
	// An npx server from the user's registry mirror on loopback, named in
	// the user's ~/.npmrc (hidden from the sandbox).
	tool(t, "npx")
	const mirrored = "sbshim-mirror-mcp"
	m := newNpmMirrorOf(t, mirrored, mirrorMCPServer)
	b.mkfile(".npmrc", "registry="+m.url+"\nupdate-notifier=false\n")
	type file struct {
		client, path, text string
		// start is the folder the client starts a server without a
		// cwd in; startCwd, with a cwd (a client that ignores cwd).
		start, startCwd string
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	jsonArgs := func(args []string) string {
		var qs []string
		for _, a := range args {
			qs = append(qs, q(a))
		}
		return "[" + strings.Join(qs, ", ") + "]"
	}
	var files []file
	for _, c := range []struct {
		client, path, before, after, key, typ string
	}{
		{"claude-desktop", ".config/Claude/claude_desktop_config.json", `{` + "\n" + `  "globalShortcut": "Ctrl+Space",`, "}", "mcpServers", ""},
		{"claude-code", ".claude.json", `{` + "\n" + `  "numStartups": 12,` + "\n" + `  "projects": {},`, `  "hasCompletedOnboarding": true` + "\n}", "mcpServers", `"type": "stdio", `},
		{"cursor", ".cursor/mcp.json", "{", "}", "mcpServers", ""},
		{"vscode", ".config/Code/User/mcp.json", "{\n  \"inputs\": [],", "}", "servers", `"type": "stdio", `},
		{"windsurf", ".codeium/windsurf/mcp_config.json", "{", "}", "mcpServers", ""},
		{"gemini", ".gemini/settings.json", "{\n  \"theme\": \"Dracula\",", "}", "mcpServers", ""},
	} {
		dir := filepath.Join(b.ws, c.client)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf("%s\n  %q: {\n    \"github\": {\n      %s\"command\": %s,\n      \"args\": [],\n      \"env\": {\n        \"GITHUB_PERSONAL_ACCESS_TOKEN\": %q\n      }\n    },\n    \"filesystem\": {\n      %s\"command\": %s,\n      \"args\": %s,\n      \"cwd\": %s\n    },\n    \"mirrored\": {\n      %s\"command\": \"npx\",\n      \"args\": [\"-y\", %q]\n    }\n  }%s\n%s\n",
			c.before, c.key, c.typ, q(gh), fakeToken, c.typ, q(fsArgv[0]), jsonArgs(append(fsArgv[1:], dir)), q(dir), c.typ, mirrored, map[bool]string{true: ",", false: ""}[c.after != "}"], c.after)
		start, startCwd := b.ws, dir
		if c.client == "claude-desktop" {
			start, startCwd = "/", "/" // Claude Desktop starts servers in / (macOS)
		}
		files = append(files, file{c.client, filepath.Join(b.home, c.path), text, start, startCwd})
	}
	codexDir := filepath.Join(b.ws, "codex")
	if err := os.MkdirAll(codexDir, 0o755); err != nil {
		t.Fatal(err)
	}
	files = append(files, file{"codex", filepath.Join(b.home, ".codex/config.toml"), fmt.Sprintf(`model = "gpt-5"

[mcp_servers.github]
command = %s
args = []

[mcp_servers.github.env]
GITHUB_PERSONAL_ACCESS_TOKEN = %q

[mcp_servers.filesystem]
command = %s
args = %s
cwd = %s

[mcp_servers.mirrored]
command = "npx"
args = ["-y", %q]
`, q(gh), fakeToken, q(fsArgv[0]), jsonArgs(append(fsArgv[1:], codexDir)), q(codexDir), mirrored), b.ws, codexDir})
	for _, f := range files {
		if !json.Valid([]byte(f.text)) && !strings.HasSuffix(f.path, ".toml") {
			t.Fatalf("%s: bad JSON in the test:\n%s", f.path, f.text)
		}
		b.mkfile(strings.TrimPrefix(f.path, b.home+"/"), f.text)
	}

	out, stderr := b.sbshim(0, "wrap", "--all", "--yes", "--sbshim", sbshim)
	for _, want := range []string{
		"passes GITHUB_PERSONAL_ACCESS_TOKEN with --env-pass: it looks secret (env.deny *TOKEN)",
		"workspace: " + filepath.Join(b.ws, "cursor") + ", its cwd (--workspace)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("wrap output lacks %q:\n%s\n%s", want, out, stderr)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, f := range files {
		t.Run(f.client, func(t *testing.T) {
			b.t = t
			var ghErr, fsErr syncBuffer
			cs := b.start(ctx, launched{wrappedArgv(t, f.path, f.client, "github"), map[string]string{"GITHUB_PERSONAL_ACCESS_TOKEN": fakeToken}, f.start}, &ghErr)
			if got, _ := sdkCall(t, ctx, cs, "getenv", map[string]any{"name": "GITHUB_PERSONAL_ACCESS_TOKEN"}); got != "set: "+fakeToken {
				t.Errorf("the github server got the token as %q; stderr:\n%s", got, ghErr.String())
			}
			cs.Close()

			dir := filepath.Join(b.ws, f.client)
			cs = b.start(ctx, launched{wrappedArgv(t, f.path, f.client, "filesystem"), nil, f.startCwd}, &fsErr)
			note := filepath.Join(dir, "note.txt")
			if got, isErr := sdkCall(t, ctx, cs, "write_file", map[string]any{"path": note, "content": "from " + f.client}); isErr {
				t.Errorf("write_file in its cwd: %s; stderr:\n%s", got, fsErr.String())
			}
			if got, isErr := sdkCall(t, ctx, cs, "list_directory", map[string]any{"path": dir}); isErr || !strings.Contains(got, "note.txt") {
				t.Errorf("list_directory: %s", got)
			}
			cs.Close()
			if data, err := os.ReadFile(note); err != nil || string(data) != "from "+f.client {
				t.Errorf("the file the server wrote: %q, %v", data, err)
			}
			var npxErr syncBuffer
			cs = b.start(ctx, launched{wrappedArgv(t, f.path, f.client, "mirrored"), nil, f.start}, &npxErr)
			if got, isErr := sdkCall(t, ctx, cs, "ping", map[string]any{}); isErr || got != "pong from the loopback mirror" {
				t.Errorf("the server from the mirror answered %q; stderr:\n%s\nthe mirror saw %v", got, npxErr.String(), m.hits)
			}
			cs.Close()
			for _, s := range []string{ghErr.String(), fsErr.String(), npxErr.String()} {
				if strings.Contains(s, "blocked") {
					t.Errorf("a report of something blocked on stderr:\n%s", s)
				}
			}
		})
	}
	b.t = t
	if blocked := blockedRecords(t, filepath.Join(b.root, "state", "sbshim", "audit")); len(blocked) > 0 {
		t.Errorf("blocked records:\n%s", strings.Join(blocked, "\n"))
	}

	b.sbshim(0, "unwrap", "--all", "--yes")
	for _, f := range files {
		if data, _ := os.ReadFile(f.path); string(data) != f.text {
			t.Errorf("unwrap did not restore %s:\n%s", f.path, data)
		}
	}
	backups, _ := filepath.Glob(filepath.Join(b.home, ".local", "state", "sbshim", "backups", "*"))
	if len(backups) != len(files) {
		sort.Strings(backups)
		t.Errorf("%d backups after wrap and unwrap of %d files, want one a file: %v", len(backups), len(files), backups)
	}
}
