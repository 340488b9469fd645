package wrap

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRefersToEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"ghp_literal", false},
		{"", false},
		{"${GITHUB_TOKEN}", true},
		{"${GITHUB_TOKEN:-none}", true},
		{"${env:GITHUB_TOKEN}", true},
		{"$GITHUB_TOKEN", true},
		{"Bearer ${TOKEN}", true},
		{"${input:github_token}", false},
		{"${input:a}-${input:b}", false},
		{"${input:a}${env:SECRET}", true},
		{"${unterminated", true},
		{"price: 5$", false},
		{"a$1b", false},
		{"$$", false},
		{"${workspaceFolder}/data", true}, // not the user's secret, but expanded: not passed from a project
	} {
		if got := refersToEnv(c.v); got != c.want {
			t.Errorf("refersToEnv(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestPassableName(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"GITHUB_PERSONAL_ACCESS_TOKEN", true},
		{"npm_config_//registry.example/:_authToken", true},
		{"", false},
		{"-x", false},
		{"A=B", false},
		{"A B", false},
		{"AWS_*", false},
		{"A?", false},
		{"[A]", false},
		{`A\B`, false},
		{"A\x00", false},
		{"A\x7f", false},
	} {
		if got := passableName(c.name); got != c.want {
			t.Errorf("passableName(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestEnvPass: which variables of an entry wrap passes, from a user's
// file and from a project's, in each syntax.
func TestEnvPass(t *testing.T) {
	for _, c := range []struct {
		name    string
		src     string
		format  Format
		trusted bool
		want    []string
		not     []string // named in a note as not passed
	}{
		{"json user", `{"mcpServers": {"s": {"command": "x", "env": {"B_TOKEN": "${B_TOKEN}", "A": "1", "N": 5}}}}`, JSON, true, []string{"B_TOKEN", "A", "N"}, nil},
		{"json project", `{"mcpServers": {"s": {"command": "x", "env": {"B_TOKEN": "${B_TOKEN}", "A": "1", "C": "${input:c}", "D": "$D"}}}}`, JSON, false, []string{"A", "C"}, []string{"B_TOKEN", "D"}},
		{"json duplicate key", `{"mcpServers": {"s": {"command": "x", "env": {"A": "${A}", "A": "1"}}}}`, JSON, false, []string{"A"}, nil},
		{"json bad names", `{"mcpServers": {"s": {"command": "x", "env": {"A*": "1", "-B": "2", "OK": "3"}}}}`, JSON, true, []string{"OK"}, []string{`"A*"`, `"-B"`}},
		{"toml inline", "[mcp_servers.s]\ncommand = \"x\"\nenv = { K = \"v\", L = \"${L}\" }\n", TOML, false, []string{"K"}, []string{"L"}},
		{"toml table", "[mcp_servers.s]\ncommand = \"x\"\n[mcp_servers.s.env]\nK = \"v\"\n", TOML, true, []string{"K"}, nil},
		{"toml dotted", "[mcp_servers.s]\ncommand = \"x\"\nenv.K = \"v\"\n", TOML, true, []string{"K"}, nil},
		{"codex env_vars user", "[mcp_servers.s]\ncommand = \"x\"\nenv_vars = [\"GH_TOKEN\"]\n", TOML, true, []string{"GH_TOKEN"}, nil},
		{"codex env_vars project", "[mcp_servers.s]\ncommand = \"x\"\nenv_vars = [\"AWS_SECRET_ACCESS_KEY\"]\n", TOML, false, nil, []string{"AWS_SECRET_ACCESS_KEY"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse([]byte(c.src), c.format, []Layout{LayoutMCPServers})
			if err != nil {
				t.Fatal(err)
			}
			o := WrapOptions{Executable: testExe, Trusted: c.trusted}
			if !c.trusted {
				o.Project = "/home/me/proj"
			}
			names, notes := o.envPass(doc.entries[0])
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("passes %v, want %v", names, c.want)
			}
			if len(notes) != len(c.not) {
				t.Errorf("notes %q, want one for each of %v", notes, c.not)
			}
			for i, n := range c.not {
				if i < len(notes) && !strings.HasPrefix(notes[i], n+" is not passed") {
					t.Errorf("note %q does not start with %s", notes[i], n)
				}
			}
			// The wrapped entry carries exactly these flags, and
			// counts as wrapped (twice is once).
			out, _, err := doc.Wrap(o)
			if err != nil {
				t.Fatal(err)
			}
			again := mustWrap(t, out, c.format, []Layout{LayoutMCPServers}, o)
			if string(again) != string(out) {
				t.Errorf("wrapping twice changed it:\n%s", UnifiedDiff("once", "twice", out, again))
			}
			for _, n := range c.want {
				if !strings.Contains(string(out), `"--env-pass", "`+n+`"`) {
					t.Errorf("wrapped entry lacks --env-pass %s:\n%s", n, out)
				}
			}
		})
	}
}

// TestWorkspaceNote: what wrap says the workspace will be.
func TestWorkspaceNote(t *testing.T) {
	for _, c := range []struct {
		name, entry, client string
		trusted             bool
		flag                string // the --workspace wrap writes, or ""
		says                string
	}{
		{"absolute cwd", `{"command": "x", "cwd": "/srv/data/../proj"}`, "cursor", true, "/srv/proj", "workspace: /srv/proj, its cwd (--workspace)"},
		{"variable cwd", `{"command": "x", "cwd": "${workspaceFolder}"}`, "vscode", true, "", `its cwd "${workspaceFolder}" as the client resolves it`},
		{"relative cwd", `{"command": "x", "cwd": "./srv"}`, "gemini", true, "", `its cwd "./srv"`},
		{"desktop", `{"command": "x"}`, "claude-desktop", true, "", "(Claude Desktop uses / on macOS); if that is /, your home folder or a folder above it, the server gets no writable workspace"},
		{"claude code", `{"command": "x"}`, "claude-code", true, "", "the folder you run claude in"},
		{"codex", `{"command": "x"}`, "codex", true, "", "the folder you run codex in"},
		{"unknown", `{"command": "x"}`, "file", true, "", "sbshim cannot know which"},
		{"project cwd", `{"command": "x", "cwd": "/etc"}`, "claude-code", false, "/home/me/proj", "the project folder /home/me/proj (--workspace)"},
		{"home cwd", `{"command": "x", "cwd": "/home/me/"}`, "cursor", true, "", "workspace: none: its cwd /home/me is /, your home folder or a folder above it"},
		{"root cwd", `{"command": "x", "cwd": "/"}`, "cursor", true, "", "workspace: none: its cwd / is"},
		{"above home cwd", `{"command": "x", "cwd": "/home"}`, "cursor", true, "", "workspace: none: its cwd /home is"},
		{"beside home cwd", `{"command": "x", "cwd": "/home/mel"}`, "cursor", true, "/home/mel", "workspace: /home/mel, its cwd (--workspace); that folder does not exist now"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse([]byte(`{"mcpServers": {"s": `+c.entry+`}}`), JSON, []Layout{LayoutMCPServers})
			if err != nil {
				t.Fatal(err)
			}
			o := WrapOptions{Executable: testExe, Trusted: c.trusted, Client: c.client, Home: "/home/me"}
			if !c.trusted {
				o.Project = "/home/me/proj"
			}
			e := doc.entries[0]
			if got := o.workspaceNote(e); !strings.Contains(got, c.says) {
				t.Errorf("says %q, want %q in it", got, c.says)
			}
			flags := strings.Join(o.runFlags(e), " ")
			if c.flag != "" && !strings.Contains(flags, "--workspace "+c.flag+" ") || c.flag == "" && strings.Contains(flags, "--workspace") {
				t.Errorf("flags %q, want --workspace %q", flags, c.flag)
			}
		})
	}
}

// TestWorkspaceNoteClaudeCodeProject: Claude Code starts the servers of
// a project in ~/.claude.json in that project's folder.
func TestWorkspaceNoteClaudeCodeProject(t *testing.T) {
	doc, err := Parse([]byte(`{"projects": {"/home/me/proj": {"mcpServers": {"s": {"command": "x"}}}}}`), JSON, []Layout{LayoutProjects})
	if err != nil {
		t.Fatal(err)
	}
	o := WrapOptions{Executable: testExe, Trusted: true, Client: "claude-code", Home: "/home/me"}
	if got := o.workspaceNote(doc.entries[0]); !strings.Contains(got, "(Claude Code uses its project folder, /home/me/proj)") {
		t.Errorf("says %q", got)
	}
}

// TestWrappedNotes: an entry wrapped by an earlier sbshim, without
// --env-pass, is named with the variables it does not pass.
func TestWrappedNotes(t *testing.T) {
	doc, err := Parse([]byte(`{"mcpServers": {"gh": {"command": "/usr/local/bin/sbshim", "args": ["--name", "gh", "--", "npx", "x"], "env": {"GH_TOKEN": "t", "A": "1"}},
		"ok": {"command": "/usr/local/bin/sbshim", "args": ["--name", "ok", "--env-pass", "A", "--", "npx", "x"], "env": {"A": "1"}}}}`), JSON, []Layout{LayoutMCPServers})
	if err != nil {
		t.Fatal(err)
	}
	_, results, err := doc.Wrap(WrapOptions{Executable: testExe, Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := results[0].Notes; len(n) != 1 || !strings.Contains(n[0], "its env sets GH_TOKEN, A, which it does not pass") {
		t.Errorf("gh: %q", n)
	}
	if n := results[1].Notes; len(n) != 0 {
		t.Errorf("ok: %q", n)
	}
}

// TestMemoryNote: the note about server-memory's data in the host's npx
// cache, by how the entry runs it.
func TestMemoryNote(t *testing.T) {
	cache := t.TempDir()
	for _, name := range []string{"memory.jsonl", "rel/graph.jsonl"} {
		p := filepath.Join(cache, "_npx", "abc", "node_modules", memoryPackage, "dist", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, entry string
		warn        bool
	}{
		{"npx", `{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}`, true},
		{"npx version", `{"command": "/usr/bin/npx", "args": ["-y", "@modelcontextprotocol/server-memory@2026.8.31"]}`, true},
		{"npm exec", `{"command": "npm", "args": ["exec", "--package=@modelcontextprotocol/server-memory", "--", "mcp-server-memory"]}`, true},
		{"wrapped", `{"command": "/usr/local/bin/sbshim", "args": ["--name", "s", "--", "npx", "-y", "@modelcontextprotocol/server-memory"]}`, true},
		{"absolute path", `{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {"MEMORY_FILE_PATH": "/data/m.jsonl"}}`, false},
		{"relative path", `{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {"MEMORY_FILE_PATH": "rel/graph.jsonl"}}`, true},
		{"relative path out", `{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {"MEMORY_FILE_PATH": "../../../../../../x"}}`, false},
		{"other package", `{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory-extra"]}`, false},
		{"node", `{"command": "node", "args": ["@modelcontextprotocol/server-memory"]}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse([]byte(`{"mcpServers": {"s": `+c.entry+`}}`), JSON, []Layout{LayoutMCPServers})
			if err != nil {
				t.Fatal(err)
			}
			o := WrapOptions{Executable: testExe, Trusted: true, NpmCache: cache, CacheHome: "/home/me/.cache/sbshim"}
			notes := o.stateNotes(doc.entries[0])
			if c.warn != (len(notes) == 1) {
				t.Fatalf("notes %q, want a warning: %v", notes, c.warn)
			}
			if c.warn && !strings.Contains(notes[0], `"MEMORY_FILE_PATH": "/home/me/.cache/sbshim/s/memory.jsonl"`) {
				t.Errorf("note %q", notes[0])
			}
		})
	}
}

func TestHostNpmCache(t *testing.T) {
	home := t.TempDir()
	env := func(kv map[string]string) Env {
		return Env{Home: home, Getenv: func(k string) string { return kv[k] }}
	}
	if got := hostNpmCache(env(nil)); got != filepath.Join(home, ".npm") {
		t.Errorf("default: %s", got)
	}
	if got := hostNpmCache(env(map[string]string{"npm_config_cache": "/c/npm"})); got != "/c/npm" {
		t.Errorf("npm_config_cache: %s", got)
	}
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte("registry=http://127.0.0.1:1/\ncache = ~/npm-cache\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := hostNpmCache(env(nil)); got != filepath.Join(home, "npm-cache") {
		t.Errorf("npmrc: %s", got)
	}
	rc := filepath.Join(home, "other-rc")
	if err := os.WriteFile(rc, []byte("cache=\"/abs/cache\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := hostNpmCache(env(map[string]string{"NPM_CONFIG_USERCONFIG": rc})); got != "/abs/cache" {
		t.Errorf("userconfig: %s", got)
	}
}

func FuzzRefersToEnv(f *testing.F) {
	for _, s := range []string{"${A}", "${input:x}", "$A", "a$", "${input:", "$${"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := refersToEnv(v)
		if !strings.Contains(v, "$") && got {
			t.Errorf("%q has no $ but refers to the environment", v)
		}
	})
}

func FuzzNpmrcCache(f *testing.F) {
	for _, s := range []string{"cache=~/x\n", "cache = /a\ncache=rel\n", "cache=\"$HOME/c\"", "=\n\x00cache"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got := npmrcCache(data, "/home/me"); got != "" && !filepath.IsAbs(got) {
			t.Errorf("cache %q is not absolute", got)
		}
	})
}
