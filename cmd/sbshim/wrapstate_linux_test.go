package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWrapMemoryLeftInNpxCache: server-memory keeps its knowledge graph
// next to its package, in the host's npx cache; wrapped, npx resolves it
// in sbshim's private cache. Wrap finds the graph, says so and how to keep
// it, and copies nothing. Following what it says (copy the file, point
// MEMORY_FILE_PATH at it) gives the wrapped server its graph back, with
// nothing blocked. An entry with MEMORY_FILE_PATH gets no warning. The
// dry run also says where an entry without a cwd works.
func TestWrapMemoryLeftInNpxCache(t *testing.T) {
	b := newBox(t)
	sbshim := filepath.Join(binDir, "sbshim")
	graph := `{"type":"entity","name":"Alice","entityType":"person","observations":["likes tea"]}` + "\n"
	old := b.mkfile(".npm/_npx/4f2a9c1e0b7d3a55/node_modules/@modelcontextprotocol/server-memory/dist/memory.jsonl", graph)
	cfg := b.mkfile(".config/Claude/claude_desktop_config.json", fmt.Sprintf(`{
  "mcpServers": {
    "memory": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"] },
    "kept": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2026.8.31"], "env": { "MEMORY_FILE_PATH": %q } }
  }
}
`, b.path("graph.jsonl")))

	out, _ := b.sbshim(0, "wrap", "--dry-run", "--client", "claude-desktop", "--sbshim", sbshim)
	dest := filepath.Join(b.home, ".cache", "sbshim", "memory", "memory.jsonl")
	// What wrap says about one server: its line and the notes below it.
	says := map[string]string{}
	server := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "      - ") && server != "":
			says[server] += line + "\n"
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			server = strings.Fields(line)[0]
		default:
			server = ""
		}
	}
	memory, kept := says["memory"], says["kept"]
	for _, want := range []string{old, "starts EMPTY", "sbshim copies nothing", "cp " + old + " " + dest, `"MEMORY_FILE_PATH": "` + dest + `"`,
		"workspace: no cwd, so the folder the client starts it in (Claude Desktop uses / on macOS)", "no writable workspace"} {
		if !strings.Contains(memory, want) {
			t.Errorf("what wrap says about memory lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(kept, "stays behind") || !strings.Contains(kept, "passes MEMORY_FILE_PATH") {
		t.Errorf("what wrap says about the entry with MEMORY_FILE_PATH:\n%s", kept)
	}
	if _, err := os.Stat(filepath.Dir(dest)); err == nil {
		t.Errorf("wrap made %s", filepath.Dir(dest))
	}

	// Do as it says, for a server-memory run by node (no registry here).
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dest, []byte(graph), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := serverArgv(t, "server-memory")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{"mcpServers": {"memory": {"command": %q, "args": [%q], "env": {"MEMORY_FILE_PATH": %q}}}}`, argv[0], argv[1], dest), 0o644); err != nil {
		t.Fatal(err)
	}
	b.sbshim(0, "wrap", "--yes", "--client", "claude-desktop", "--sbshim", sbshim)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errBuf syncBuffer
	cs := b.start(ctx, launched{wrappedArgv(t, cfg, "claude-desktop", "memory"), map[string]string{"MEMORY_FILE_PATH": dest}, "/"}, &errBuf)
	if got, isErr := sdkCall(t, ctx, cs, "read_graph", map[string]any{}); isErr || !strings.Contains(got, "likes tea") {
		t.Errorf("read_graph: %s; stderr:\n%s", got, errBuf.String())
	}
	if got, isErr := sdkCall(t, ctx, cs, "create_entities", map[string]any{"entities": []map[string]any{{"name": "Bob", "entityType": "person", "observations": []string{"likes coffee"}}}}); isErr {
		t.Errorf("create_entities: %s; stderr:\n%s", got, errBuf.String())
	}
	cs.Close()
	if data, _ := os.ReadFile(dest); !strings.Contains(string(data), "likes coffee") {
		t.Errorf("the graph in %s:\n%s", dest, data)
	}
	if blocked := blockedRecords(t, filepath.Join(b.root, "state", "sbshim", "audit")); len(blocked) > 0 || strings.Contains(errBuf.String(), "blocked") {
		t.Errorf("blocked:\n%s\n%s", strings.Join(blocked, "\n"), errBuf.String())
	}
}
