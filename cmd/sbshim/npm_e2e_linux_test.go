package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpgoclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// End-to-end tests with the reference MCP servers from the npm registry,
// driven by two clients nobody here wrote: mcp-go's and the official Go
// SDK's. Every test also checks the audit log it produced.

// npmServers pins the reference servers the tests run.
var npmServers = []string{
	"@modelcontextprotocol/server-filesystem@2026.8.31",
	"@modelcontextprotocol/server-everything@2026.8.31",
	"@modelcontextprotocol/server-memory@2026.8.31",
}

// referenceServers are the reference MCP servers, installed once.
var referenceServers = &npmSet{what: "the reference MCP servers", pkgs: npmServers}

// npmSet is a set of pinned npm packages that the tests install once, on
// first use, from the registry npm is configured for, into
// $SBSHIM_TEST_NPM_DIR (.ci/run fills it) or a cache under the test root;
// sub names a folder of its own there.
type npmSet struct {
	what string   // for messages
	sub  string   // "" for the top folder
	pkgs []string // name@version
	// registry is the reachability check shared by every set;
	// sharedRegistry when nil.
	registry *registryCheck
	once     sync.Once
	dir      string
	err      error
}

// registryCheck finds out once whether the registry npm is configured for
// answers, so that without it every test that needs a package fails at
// once with the reason, instead of each waiting out npm's retries.
type registryCheck struct {
	once sync.Once
	err  error
}

// sharedRegistry is the check every npmSet shares.
var sharedRegistry = &registryCheck{}

// check asks the registry, through npm and with npm's own settings
// (registry, proxy, certificates), for the metadata of pkg, without
// retries.
func (c *registryCheck) check(npm, pkg string) error {
	c.once.Do(func() {
		reg, err := exec.Command(npm, "config", "get", "registry").Output()
		if err != nil {
			c.err = fmt.Errorf("npm config get registry: %w", err)
			return
		}
		registry := strings.TrimSpace(string(reg))
		out, err := exec.Command(npm, "view", pkg, "version",
			"--fetch-retries=0", "--fetch-timeout=20000", "--no-update-notifier").CombinedOutput()
		if err != nil {
			c.err = fmt.Errorf("the npm registry %s (npm config get registry), from which the end-to-end tests install, cannot be reached: npm view %s: %v\n%s",
				registry, pkg, err, tail(string(out), 800))
		}
	})
	return c.err
}

// install returns the folder whose node_modules holds the set.
func (s *npmSet) install(t testing.TB) string {
	t.Helper()
	s.once.Do(func() { s.err = s.prepare() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run %s: %v", s.what, err)
	}
	return s.dir
}

// prepare installs the set unless it is there already.
func (s *npmSet) prepare() error {
	base := os.Getenv("SBSHIM_TEST_NPM_DIR")
	if base == "" {
		base = filepath.Join(testRoot(), fmt.Sprintf("sbshim-test-npm-%d", os.Getuid()))
	}
	s.dir = filepath.Join(base, s.sub)
	if s.installed() {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s: not installed in %s, and npm is not on PATH to install: %v", s.what, s.dir, err)
	}
	reg := s.registry
	if reg == nil {
		reg = sharedRegistry
	}
	if err := reg.check(npm, s.pkgs[0]); err != nil {
		return fmt.Errorf("%s: not installed in %s: %w", s.what, s.dir, err)
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--prefix", s.dir}, s.pkgs...)
	if out, err := exec.Command(npm, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *npmSet) installed() bool {
	for _, p := range s.pkgs {
		if _, err := os.Stat(filepath.Join(s.dir, "node_modules", packageName(p), "package.json")); err != nil {
			return false
		}
	}
	return true
}

// packageName is NAME of NAME@VERSION (NAME may start with @scope/).
func packageName(p string) string { return p[:strings.LastIndex(p, "@")] }

// serverArgv is the node command line of a reference server.
func serverArgv(t testing.TB, name string, args ...string) []string {
	node, _ := exec.LookPath("node")
	js := filepath.Join(referenceServers.install(t), "node_modules", "@modelcontextprotocol", name, "dist", "index.js")
	return append([]string{node, js}, args...)
}

// mcpgoClient starts sbshim FLAGS -- ARGV under mcp-go's stdio client.
func (b *box) mcpgoClient(ctx context.Context, flags []string, argv []string, opts ...mcpgoclient.ClientOption) *mcpgoclient.Client {
	b.t.Helper()
	stderr := &syncBuffer{}
	tr := transport.NewStdioWithOptions("sbshim", nil, nil, transport.WithCommandFunc(
		func(ctx context.Context, _ string, _ []string, _ []string) (*exec.Cmd, error) {
			return b.command(flags, argv...), nil
		}), transport.WithCommandStderrWriter(stderr))
	if err := tr.Start(ctx); err != nil {
		b.t.Fatal(err)
	}
	c := mcpgoclient.NewClient(tr, opts...)
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcpgo.Implementation{Name: "sbshim-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		// The stderr copier may still be behind the exit; give it a moment.
		time.Sleep(200 * time.Millisecond)
		b.t.Fatalf("initialize through sbshim: %v\nsbshim's stderr:\n%s", err, tail(stderr.String(), 4096))
	}
	return c
}

// sdkSession starts sbshim FLAGS -- ARGV under the official Go SDK client.
func (b *box) sdkSession(ctx context.Context, client *sdk.Client, flags []string, argv []string) *sdk.ClientSession {
	b.t.Helper()
	cs, err := client.Connect(ctx, &sdk.CommandTransport{Command: b.command(flags, argv...)}, nil)
	if err != nil {
		b.t.Fatalf("connect through sbshim: %v", err)
	}
	return cs
}

func mcpgoCall(t *testing.T, ctx context.Context, c *mcpgoclient.Client, tool string, args map[string]any) (string, bool) {
	t.Helper()
	req := mcpgo.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	var texts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcpgo.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n"), res.IsError
}

func sdkCall(t *testing.T, ctx context.Context, cs *sdk.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return sdkText(res), res.IsError
}

func sdkText(res *sdk.CallToolResult) string {
	var texts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// waitAudit waits for the session_end record (written as sbshim exits)
// and returns the log.
func waitAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), `"session_end"`) {
			return auditRecords(t, path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session_end in %s", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// toolOutcomes maps each audited tool_call's tool to its outcomes.
func toolOutcomes(recs []map[string]any) map[string][]string {
	m := map[string][]string{}
	for _, r := range ofType(recs, "tool_call") {
		tool := fmt.Sprint(r["tool"])
		m[tool] = append(m[tool], fmt.Sprint(r["outcome"]))
	}
	return m
}

// filesystemScenario runs the same steps through either client: list,
// read and write inside the workspace; a write outside it is refused by
// the sandbox and reaches the client as a clean tool error.
type fsClient interface {
	call(tool string, args map[string]any) (text string, isError bool)
	close()
}

func filesystemScenario(t *testing.T, b *box, c fsClient, logPath string) {
	if text, isErr := c.call("list_directory", map[string]any{"path": b.ws}); isErr || !strings.Contains(text, "README") {
		t.Fatalf("list_directory: %v %q", isErr, text)
	}
	if text, isErr := c.call("read_text_file", map[string]any{"path": filepath.Join(b.ws, "README")}); isErr || text != "hello\n" {
		t.Fatalf("read_text_file: %v %q", isErr, text)
	}
	if text, isErr := c.call("write_file", map[string]any{"path": filepath.Join(b.ws, "new.txt"), "content": "written"}); isErr {
		t.Fatalf("write_file in the workspace: %q", text)
	}
	if got, err := os.ReadFile(filepath.Join(b.ws, "new.txt")); err != nil || string(got) != "written" {
		t.Fatalf("the file written through the sandbox: %q, %v", got, err)
	}
	outside := b.path("outside.txt")
	text, isErr := c.call("write_file", map[string]any{"path": outside, "content": "escaped"})
	if !isErr {
		t.Fatalf("write_file outside the workspace succeeded: %q", text)
	}
	if !strings.Contains(text, "sbshim blocked") || !strings.Contains(text, outside) {
		t.Fatalf("the refused write's result is not annotated: %q", text)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Fatal("the file outside the workspace exists on the host")
	}
	c.close()
	recs := waitAudit(t, logPath)
	got := toolOutcomes(recs)
	want := map[string][]string{"list_directory": {"ok"}, "read_text_file": {"ok"}, "write_file": {"ok", "tool_error"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit tool calls %v, want %v", got, want)
	}
	blocked := ofType(recs, "blocked")
	if len(blocked) == 0 || blocked[0]["tool"] != "write_file" || blocked[0]["target"] != outside {
		t.Fatalf("audit blocked records %v, want the write of %s during write_file", blocked, outside)
	}
	start := ofType(recs, "session_start")
	if len(start) != 1 || start[0]["profile"] != "default+workspace-write" {
		t.Fatalf("session_start %v", start)
	}
}

type mcpgoFS struct {
	t   *testing.T
	ctx context.Context
	c   *mcpgoclient.Client
}

func (m mcpgoFS) call(tool string, args map[string]any) (string, bool) {
	return mcpgoCall(m.t, m.ctx, m.c, tool, args)
}
func (m mcpgoFS) close() { m.c.Close() }

type sdkFS struct {
	t   *testing.T
	ctx context.Context
	cs  *sdk.ClientSession
}

func (s sdkFS) call(tool string, args map[string]any) (string, bool) {
	return sdkCall(s.t, s.ctx, s.cs, tool, args)
}
func (s sdkFS) close() { s.cs.Close() }

func TestServerFilesystem(t *testing.T) {
	for _, client := range []string{"mcp-go", "go-sdk"} {
		t.Run(client, func(t *testing.T) {
			b := newBox(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			logPath := filepath.Join(b.root, "audit.jsonl")
			flags := []string{"--profile", "workspace-write", "--audit-log", logPath}
			// The server may touch the whole home; the sandbox only the workspace.
			argv := serverArgv(t, "server-filesystem", b.ws, b.home)
			var c fsClient
			if client == "mcp-go" {
				c = mcpgoFS{t, ctx, b.mcpgoClient(ctx, flags, argv)}
			} else {
				cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, nil)
				c = sdkFS{t, ctx, b.sdkSession(ctx, cl, flags, argv)}
			}
			filesystemScenario(t, b, c, logPath)
		})
	}
}

func TestServerEverything(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "audit.jsonl")
	var progress, logs, samples atomic.Int32
	client := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, &sdk.ClientOptions{
		CreateMessageHandler: func(context.Context, *sdk.CreateMessageRequest) (*sdk.CreateMessageResult, error) {
			samples.Add(1)
			return &sdk.CreateMessageResult{Content: &sdk.TextContent{Text: "sampled through sbshim"}, Model: "test", Role: "assistant"}, nil
		},
		ProgressNotificationHandler: func(context.Context, *sdk.ProgressNotificationClientRequest) { progress.Add(1) },
		LoggingMessageHandler:       func(context.Context, *sdk.LoggingMessageRequest) { logs.Add(1) },
	})
	client.AddRoots(&sdk.Root{URI: "file://" + b.ws, Name: "workspace"})
	cs := b.sdkSession(ctx, client, []string{"--audit-log", logPath}, serverArgv(t, "server-everything"))

	if text, isErr := sdkCall(t, ctx, cs, "echo", map[string]any{"message": "hi"}); isErr || !strings.Contains(text, "hi") {
		t.Fatalf("echo: %v %q", isErr, text)
	}
	// Server→client requests, relayed both ways: roots/list and sampling.
	// These tools appear once the server has seen the client's capabilities.
	callEventually := func(tool string, args map[string]any) string {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
			if err == nil && !res.IsError {
				return sdkText(res)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v %+v", tool, err, res)
			}
		}
	}
	if text := callEventually("get-roots-list", map[string]any{}); !strings.Contains(text, b.ws) {
		t.Fatalf("get-roots-list does not show the client's root: %q", text)
	}
	if text := callEventually("trigger-sampling-request", map[string]any{"prompt": "hello", "maxTokens": 10}); !strings.Contains(text, "sampled through sbshim") || samples.Load() == 0 {
		t.Fatalf("sampling: %q (%d requests)", text, samples.Load())
	}
	// Progress notifications during a long-running call.
	params := &sdk.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 1, "steps": 3}}
	params.SetProgressToken("p1")
	if _, err := cs.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	// The client handles notifications asynchronously: the last may trail
	// the result.
	for deadline := time.Now().Add(5 * time.Second); progress.Load() < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d progress notifications, want 3", progress.Load())
		}
	}
	// Logging.
	if err := cs.SetLoggingLevel(ctx, &sdk.SetLoggingLevelParams{Level: "debug"}); err != nil {
		t.Fatal(err)
	}
	sdkCall(t, ctx, cs, "toggle-simulated-logging", map[string]any{})
	for deadline := time.Now().Add(20 * time.Second); logs.Load() == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no log notification reached the client")
		}
	}
	sdkCall(t, ctx, cs, "toggle-simulated-logging", map[string]any{})
	// Cancellation: the client gives up on a long call.
	cctx, ccancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err := cs.CallTool(cctx, &sdk.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 30, "steps": 3}})
	ccancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the cancelled call returned %v", err)
	}
	// The SDK sends notifications/cancelled in the background; sbshim
	// records the outcome as soon as it relays it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), `"outcome":"cancelled"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no cancelled tool_call in the audit log")
		}
	}
	cs.Close()
	recs := waitAudit(t, logPath)
	got := toolOutcomes(recs)
	if got["echo"] == nil || got["echo"][0] != "ok" {
		t.Fatalf("audit: echo %v", got["echo"])
	}
	if o := got["trigger-long-running-operation"]; fmt.Sprint(o) != "[ok cancelled]" {
		t.Fatalf("audit: trigger-long-running-operation %v, want [ok cancelled]", o)
	}
	if n := len(ofType(recs, "blocked")); n != 0 {
		t.Fatalf("a session of allowed actions reported %d blocks: %v", n, ofType(recs, "blocked"))
	}
}

func TestServerMemory(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "audit.jsonl")
	memFile := filepath.Join(b.ws, "memory.jsonl")
	b.env = append(b.env, "MEMORY_FILE_PATH="+memFile)
	c := b.mcpgoClient(ctx, []string{"--audit-log", logPath, "--env-pass", "MEMORY_FILE_PATH"}, serverArgv(t, "server-memory"))
	entities := []any{map[string]any{"name": "sbshim", "entityType": "tool", "observations": []any{"sandboxes MCP servers"}}}
	if text, isErr := mcpgoCall(t, ctx, c, "create_entities", map[string]any{"entities": entities}); isErr {
		t.Fatalf("create_entities: %s", text)
	}
	text, isErr := mcpgoCall(t, ctx, c, "read_graph", map[string]any{})
	if isErr || !strings.Contains(text, "sandboxes MCP servers") {
		t.Fatalf("read_graph: %v %q", isErr, text)
	}
	c.Close()
	if b, err := os.ReadFile(memFile); err != nil || !strings.Contains(string(b), "sbshim") {
		t.Fatalf("memory file in the workspace: %q, %v", b, err)
	}
	recs := waitAudit(t, logPath)
	if got := toolOutcomes(recs); fmt.Sprint(got) != "map[create_entities:[ok] read_graph:[ok]]" {
		t.Fatalf("audit tool calls %v", got)
	}
}

// tail returns the last n bytes of s, for failure messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestUnreachableRegistryFailsAtOnce: when the registry npm is configured
// for cannot be reached (here: a loopback port nobody listens on), every
// set fails with the reason at once, after one quick question, instead of
// each waiting out npm's retries with npm's own words.
func TestUnreachableRegistryFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	registry := "http://" + ln.Addr().String() + "/"
	ln.Close()
	t.Setenv("npm_config_registry", registry)
	t.Setenv("SBSHIM_TEST_NPM_DIR", t.TempDir())
	check := &registryCheck{}
	for _, sub := range []string{"a", "b"} {
		s := &npmSet{what: "set " + sub, sub: sub, pkgs: []string{"@sbshim-test/none@1.0.0"}, registry: check}
		err := s.prepare()
		if err == nil || !strings.Contains(err.Error(), registry) || !strings.Contains(err.Error(), "cannot be reached") {
			t.Errorf("set %s: %v; want the unreachable registry %s named", sub, err, registry)
		}
	}
}
