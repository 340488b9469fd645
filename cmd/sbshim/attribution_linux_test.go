package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Attribution and reporting with real MCP clients: a block is charged to
// every tools/call in flight when it happens, and to nothing else.

// Two calls at once: a read of a hidden key during both a long "sleep" and
// the "read_file" that made it is charged to both; the same read after the
// sleep has ended, to read_file alone. The sleep is known to be running
// when the first read is made: it has sent progress.
func TestAttributionConcurrentCalls(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "audit.jsonl")
	progressed := make(chan struct{}, 8)
	cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *sdk.ProgressNotificationClientRequest) {
			select {
			case progressed <- struct{}{}:
			default:
			}
		},
	})
	cs := b.sdkSession(ctx, cl, []string{"--audit-log", logPath}, []string{filepath.Join(binDir, "probe")})
	key := b.path(".ssh/id_rsa")

	slept := make(chan error, 1)
	go func() {
		params := &sdk.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 4000}}
		params.SetProgressToken("sleep-1")
		_, err := cs.CallTool(ctx, params)
		slept <- err
	}()
	select {
	case <-progressed:
	case <-ctx.Done():
		t.Fatal("the sleep call never reported progress")
	}
	text, isErr := sdkCall(t, ctx, cs, "read_file", map[string]any{"path": key})
	if !isErr || !strings.Contains(text, "sbshim blocked") {
		t.Fatalf("read of the key during the sleep: %v %q", isErr, text)
	}
	if err := <-slept; err != nil {
		t.Fatalf("sleep: %v", err)
	}
	if text, isErr := sdkCall(t, ctx, cs, "read_file", map[string]any{"path": key}); !isErr || !strings.Contains(text, "sbshim blocked") {
		t.Fatalf("read of the key after the sleep: %v %q", isErr, text)
	}
	cs.Close()

	recs := waitAudit(t, logPath)
	var tools []string
	for _, r := range ofType(recs, "blocked") {
		if r["target"] != key {
			t.Fatalf("unexpected block %v", r)
		}
		tools = append(tools, toolKey(r["tool"]))
		if n, ok := r["count"].(float64); ok && n > 1 {
			t.Fatalf("the two reads were collapsed into one record: %v", r)
		}
	}
	if want := []string{"read_file", "read_file+sleep"}; fmt.Sprint(sortedCopy(tools)) != fmt.Sprint(want) {
		t.Fatalf("blocked records charged to %v, want %v", tools, want)
	}
	blockedBy := map[string][]float64{}
	for _, r := range ofType(recs, "tool_call") {
		n, _ := r["blocked"].(float64)
		blockedBy[fmt.Sprint(r["tool"])] = append(blockedBy[fmt.Sprint(r["tool"])], n)
	}
	if fmt.Sprint(blockedBy["sleep"]) != "[1]" || fmt.Sprint(sortedFloats(blockedBy["read_file"])) != "[1 1]" {
		t.Fatalf("per-call blocked counts %v, want sleep [1] and read_file [1 1]", blockedBy)
	}
}

// toolKey renders a record's tool field, one name or several, as
// "a+b" in name order.
func toolKey(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		var names []string
		for _, n := range t {
			names = append(names, fmt.Sprint(n))
		}
		sort.Strings(names)
		return strings.Join(names, "+")
	}
	return fmt.Sprint(v)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func sortedFloats(s []float64) []float64 {
	out := append([]float64(nil), s...)
	sort.Float64s(out)
	return out
}

// server-filesystem from the npm registry under the default profile: its
// read_text_file of a hidden key (the server itself allows the whole home)
// gives a blocked record charged to read_text_file, a stderr line, and an
// annotated tool result.
func TestServerFilesystemReportsHiddenRead(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "audit.jsonl")
	cmd := b.command([]string{"--audit-log", logPath}, serverArgv(t, "server-filesystem", b.ws, b.home)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, nil)
	cs, err := cl.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect through sbshim: %v", err)
	}
	key := b.path(".ssh/id_rsa")
	text, isErr := sdkCall(t, ctx, cs, "read_text_file", map[string]any{"path": key})
	if !isErr {
		t.Fatalf("read_text_file of the hidden key succeeded: %q", text)
	}
	if !strings.Contains(text, "sbshim blocked") || !strings.Contains(text, key) {
		t.Fatalf("the result is not annotated: %q", text)
	}
	cs.Close()
	recs := waitAudit(t, logPath)
	blocked := ofType(recs, "blocked")
	if len(blocked) == 0 || blocked[0]["tool"] != "read_text_file" || blocked[0]["target"] != key || blocked[0]["op"] != "read" {
		t.Fatalf("blocked records %v, want a read of %s charged to read_text_file", blocked, key)
	}
	want := "sbshim: blocked read " + key + " in tool read_text_file"
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// No false reports: a session of server-filesystem doing only what the
// default profile allows reports nothing.
func TestServerFilesystemNoFalseReports(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "audit.jsonl")
	c := b.mcpgoClient(ctx, []string{"--audit-log", logPath}, serverArgv(t, "server-filesystem", b.ws))
	steps := []struct {
		tool string
		args map[string]any
	}{
		{"list_allowed_directories", map[string]any{}},
		{"list_directory", map[string]any{"path": b.ws}},
		{"directory_tree", map[string]any{"path": b.ws}},
		{"read_text_file", map[string]any{"path": filepath.Join(b.ws, "README")}},
		{"get_file_info", map[string]any{"path": filepath.Join(b.ws, "README")}},
		{"create_directory", map[string]any{"path": filepath.Join(b.ws, "sub")}},
		{"write_file", map[string]any{"path": filepath.Join(b.ws, "sub", "a.txt"), "content": "one"}},
		{"edit_file", map[string]any{"path": filepath.Join(b.ws, "sub", "a.txt"), "edits": []any{map[string]any{"oldText": "one", "newText": "two"}}}},
		{"move_file", map[string]any{"source": filepath.Join(b.ws, "sub", "a.txt"), "destination": filepath.Join(b.ws, "b.txt")}},
		{"search_files", map[string]any{"path": b.ws, "pattern": "*.txt"}},
		{"read_multiple_files", map[string]any{"paths": []any{filepath.Join(b.ws, "README"), filepath.Join(b.ws, "b.txt")}}},
	}
	for _, s := range steps {
		if text, isErr := mcpgoCall(t, ctx, c, s.tool, s.args); isErr {
			t.Fatalf("%s: %q", s.tool, text)
		}
	}
	c.Close()
	recs := waitAudit(t, logPath)
	if n := len(ofType(recs, "tool_call")); n != len(steps) {
		t.Fatalf("%d tool_call records for %d calls", n, len(steps))
	}
	if blocked := ofType(recs, "blocked"); len(blocked) != 0 {
		t.Fatalf("a session of allowed actions reported %d blocks: %v", len(blocked), blocked)
	}
	for _, r := range ofType(recs, "tool_call") {
		if n, _ := r["blocked"].(float64); n != 0 {
			t.Fatalf("tool_call with blocks in a clean session: %v", r)
		}
	}
}
