package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// extraServers are reference servers only the server-profile tests run.
var extraServers = &npmSet{what: "more reference MCP servers", sub: "servers", pkgs: []string{
	"@modelcontextprotocol/server-sequential-thinking@2026.8.31",
}}

// npxSession starts `sbshim FLAGS -- npx --offline PKG ARGS` as a client
// would configure it, from dir (whose node_modules holds PKG, so npx runs
// it without the network), with the box's workspace as $WORKSPACE; so
// sbshim sees the npm package name and picks its server profile.
func (b *box) npxSession(ctx context.Context, dir string, flags []string, pkg string, args ...string) *sdk.ClientSession {
	b.t.Helper()
	npx, err := exec.LookPath("npx")
	if err != nil {
		b.t.Fatalf("npx is needed to run %s the way clients do: %v", pkg, err)
	}
	cmd := b.command(append([]string{"--workspace", b.ws}, flags...), append([]string{npx, "--offline", pkg}, args...)...)
	cmd.Dir = dir
	cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, nil)
	cs, err := cl.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.t.Fatalf("connect through sbshim: %v", err)
	}
	return cs
}

// sessionRecords waits for the session's end and returns its start
// record and blocked records.
func sessionRecords(t *testing.T, logPath string, n int) (start map[string]any, blocked []map[string]any) {
	t.Helper()
	recs := waitSessions(t, logPath, n)
	return ofType(recs, "session_start")[0], ofType(recs, "blocked")
}

// TestServerProfilesE2E runs the real reference servers the way a client
// configures them (npx PACKAGE), so that sbshim recognises them: their
// main tools work with zero blocked reports, and a try outside what the
// profile grants is still blocked and reported.
func TestServerProfilesE2E(t *testing.T) {
	dir := referenceServers.install(t)
	t.Run("filesystem", func(t *testing.T) {
		b := newBox(t)
		notes := filepath.Dir(b.mkfile("notes/old.txt", "one\n"))
		logPath := filepath.Join(b.root, "fs.jsonl")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The home folder is one of its directories too, but is never
		// made writable.
		cs := b.npxSession(ctx, dir, []string{"--audit-log", logPath}, "@modelcontextprotocol/server-filesystem", b.ws, notes, b.home)
		for _, c := range []struct {
			tool string
			args map[string]any
		}{
			{"list_directory", map[string]any{"path": notes}},
			{"write_file", map[string]any{"path": filepath.Join(notes, "new.txt"), "content": "granted"}},
			{"edit_file", map[string]any{"path": filepath.Join(notes, "old.txt"), "edits": []map[string]any{{"oldText": "one", "newText": "two"}}}},
			{"create_directory", map[string]any{"path": filepath.Join(notes, "sub")}},
			{"write_file", map[string]any{"path": filepath.Join(b.ws, "in-ws.txt"), "content": "ws"}},
		} {
			if text, isErr := sdkCall(t, ctx, cs, c.tool, c.args); isErr {
				t.Fatalf("%s: %s", c.tool, text)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(notes, "old.txt")); string(got) != "two\n" {
			t.Fatalf("edit_file: %q", got)
		}
		cs.Close()
		start, blocked := sessionRecords(t, logPath, 1)
		if len(blocked) != 0 || start["profile"] != "default+filesystem" {
			t.Fatalf("main tools: profile %v, blocked %v", start["profile"], blocked)
		}

		cs = b.npxSession(ctx, dir, []string{"--audit-log", logPath}, "@modelcontextprotocol/server-filesystem", b.ws, notes, b.home)
		text, isErr := sdkCall(t, ctx, cs, "write_file", map[string]any{"path": b.path("outside.txt"), "content": "escaped"})
		if !isErr || !strings.Contains(text, "sbshim blocked") {
			t.Fatalf("write_file in the home folder: %v %q", isErr, text)
		}
		text, isErr = sdkCall(t, ctx, cs, "read_text_file", map[string]any{"path": b.path(".ssh/id_rsa")})
		if !isErr || strings.Contains(text, "SSH-PRIVATE-KEY-SECRET") {
			t.Fatalf("read_text_file of a secret: %v %q", isErr, text)
		}
		cs.Close()
		_, blocked = sessionRecords(t, logPath, 2)
		if len(blocked) < 2 {
			t.Fatalf("the tries outside the grant were not reported: %v", blocked)
		}
		if _, err := os.Stat(b.path("outside.txt")); err == nil {
			t.Fatal("the file outside the grant exists")
		}
	})
	t.Run("memory", func(t *testing.T) {
		b := newBox(t)
		memDir := filepath.Join(b.root, "mem")
		if err := os.MkdirAll(memDir, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i, c := range []struct {
			file string
			ok   bool
		}{
			{filepath.Join(memDir, "memory.jsonl"), true},
			// Again, now that the file exists (the server replaces it).
			{filepath.Join(memDir, "memory.jsonl"), true},
			// Never the home folder: the try is blocked and reported.
			{b.path("memory.jsonl"), false},
		} {
			logPath := filepath.Join(b.root, "mem.jsonl")
			b.env = []string{"MEMORY_FILE_PATH=" + c.file}
			cs := b.npxSession(ctx, dir, []string{"--audit-log", logPath}, "@modelcontextprotocol/server-memory")
			entities := []any{map[string]any{"name": "sbshim", "entityType": "tool", "observations": []any{"sandboxes MCP servers"}}}
			text, isErr := sdkCall(t, ctx, cs, "create_entities", map[string]any{"entities": entities})
			cs.Close()
			start, blocked := sessionRecords(t, logPath, i+1)
			_, statErr := os.Stat(c.file)
			if c.ok && (isErr || len(blocked) != 0 || statErr != nil || start["profile"] != "default+memory") {
				t.Fatalf("create_entities with %s: %v %q; profile %v; blocked %v; %v", c.file, isErr, text, start["profile"], blocked, statErr)
			}
			if !c.ok && (!isErr || len(blocked) == 0 || statErr == nil) {
				t.Fatalf("create_entities with %s outside the grant: %v %q; blocked %v", c.file, isErr, text, blocked)
			}
		}
	})
	t.Run("everything", func(t *testing.T) {
		b := newBox(t)
		logPath := filepath.Join(b.root, "ev.jsonl")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs := b.npxSession(ctx, dir, []string{"--audit-log", logPath}, "@modelcontextprotocol/server-everything")
		if text, isErr := sdkCall(t, ctx, cs, "echo", map[string]any{"message": "hi"}); isErr || !strings.Contains(text, "hi") {
			t.Fatalf("echo: %v %q", isErr, text)
		}
		cs.Close()
		start, blocked := sessionRecords(t, logPath, 1)
		if len(blocked) != 0 || start["profile"] != "default+everything" {
			t.Fatalf("profile %v, blocked %v", start["profile"], blocked)
		}
	})
	t.Run("sequential-thinking", func(t *testing.T) {
		b := newBox(t)
		logPath := filepath.Join(b.root, "st.jsonl")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs := b.npxSession(ctx, extraServers.install(t), []string{"--audit-log", logPath}, "@modelcontextprotocol/server-sequential-thinking")
		text, isErr := sdkCall(t, ctx, cs, "sequentialthinking", map[string]any{"thought": "sandbox first", "nextThoughtNeeded": false, "thoughtNumber": 1, "totalThoughts": 1})
		if isErr {
			t.Fatalf("sequentialthinking: %q", text)
		}
		cs.Close()
		start, blocked := sessionRecords(t, logPath, 1)
		if len(blocked) != 0 || start["profile"] != "default+sequential-thinking" {
			t.Fatalf("profile %v, blocked %v", start["profile"], blocked)
		}
	})
}
