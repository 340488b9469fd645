// Command probe is a small MCP server (stdio) whose tools try things a
// sandbox may refuse: read, write, delete, rename, exec, connect. sbshim's
// tests and its README demo run it under sbshim and check what is reported.
//
// Every tool answers with what the operating system said, so a refused
// attempt shows up in the result as the error the program saw.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	s := server.NewMCPServer("sbshim-probe", "1.0.0",
		server.WithToolCapabilities(false),
		server.WithLogging(),
	)
	for _, t := range tools() {
		s.AddTool(t.tool, t.run)
	}
	if err := server.ServeStdio(s); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

type tool struct {
	tool mcp.Tool
	run  server.ToolHandlerFunc
}

func path(name, desc string) mcp.ToolOption {
	return mcp.WithString(name, mcp.Required(), mcp.Description(desc))
}

func tools() []tool {
	return []tool{
		{mcp.NewTool("echo", mcp.WithDescription("Return the text."),
			mcp.WithString("text", mcp.Required())), echo},
		{mcp.NewTool("read_file", mcp.WithDescription("Read a file."),
			path("path", "file to read")), readFile},
		{mcp.NewTool("write_file", mcp.WithDescription("Create or replace a file."),
			path("path", "file to write"), mcp.WithString("content")), writeFile},
		{mcp.NewTool("delete", mcp.WithDescription("Remove a file or empty folder."),
			path("path", "what to remove")), remove},
		{mcp.NewTool("rename", mcp.WithDescription("Rename a file."),
			path("from", "old name"), path("to", "new name")), rename},
		{mcp.NewTool("exec", mcp.WithDescription("Run a program and return its output."),
			mcp.WithArray("argv", mcp.Required(), mcp.WithStringItems())), run},
		{mcp.NewTool("connect", mcp.WithDescription("Open a TCP connection."),
			mcp.WithString("address", mcp.Required(), mcp.Description("host:port"))), connect},
		{mcp.NewTool("http_get", mcp.WithDescription("GET a URL (honours the proxy variables)."),
			mcp.WithString("url", mcp.Required())), httpGet},
		{mcp.NewTool("sleep", mcp.WithDescription("Wait, reporting progress; ends early when cancelled."),
			mcp.WithNumber("ms", mcp.Required())), sleep},
		{mcp.NewTool("try_escape", mcp.WithDescription(
			"Try to read ~/.ssh/id_rsa, write a file outside the workspace and connect out.")), tryEscape},
	}
}

func echo(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return mcp.NewToolResultText(req.GetString("text", "")), nil
}

func outcome(what string, err error) *mcp.CallToolResult {
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v", what, err))
	}
	return mcp.NewToolResultText(what + ": ok")
}

func readFile(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p := req.GetString("path", "")
	b, err := os.ReadFile(p)
	if err != nil {
		return outcome("read "+p, err), nil
	}
	return mcp.NewToolResultText(string(b)), nil
}

func writeFile(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p := req.GetString("path", "")
	return outcome("write "+p, os.WriteFile(p, []byte(req.GetString("content", "")), 0o644)), nil
}

func remove(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p := req.GetString("path", "")
	return outcome("delete "+p, os.Remove(p)), nil
}

func rename(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	from, to := req.GetString("from", ""), req.GetString("to", "")
	return outcome("rename "+from+" "+to, os.Rename(from, to)), nil
}

func run(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	argv := req.GetStringSlice("argv", nil)
	if len(argv) == 0 {
		return mcp.NewToolResultError("exec: empty argv"), nil
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("exec %s: %v\n%s", argv[0], err, out)), nil
	}
	return mcp.NewToolResultText(string(out)), nil
}

func dial(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func connect(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	addr := req.GetString("address", "")
	return outcome("connect "+addr, dial(ctx, addr)), nil
}

func httpGet(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	u := req.GetString("url", "")
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return outcome("GET "+u, err), nil
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return outcome("GET "+u, err), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return outcome("GET "+u, err), nil
	}
	text := fmt.Sprintf("%s\n%s", resp.Status, body)
	if resp.StatusCode >= 400 {
		return mcp.NewToolResultError(text), nil
	}
	return mcp.NewToolResultText(text), nil
}

func sleep(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	total := time.Duration(req.GetFloat("ms", 0)) * time.Millisecond
	srv := server.ServerFromContext(ctx)
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	const steps = 4
	for i := 1; i <= steps; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(total / steps):
		}
		if token != nil && srv != nil {
			_ = srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
				"progressToken": token, "progress": i, "total": steps,
			})
		}
	}
	return mcp.NewToolResultText(fmt.Sprintf("slept %v", total)), nil
}

// tryEscape is the README demo: three things the default profile refuses.
func tryEscape(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	home, _ := os.UserHomeDir()
	var lines []string
	_, err := os.ReadFile(filepath.Join(home, ".ssh", "id_rsa"))
	lines = append(lines, line("read ~/.ssh/id_rsa", err))
	err = os.WriteFile(filepath.Join(home, "sbshim-demo-escape.txt"), []byte("escaped\n"), 0o644)
	lines = append(lines, line("write ~/sbshim-demo-escape.txt", err))
	// 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	lines = append(lines, line("connect 192.0.2.1:443", dial(cctx, "192.0.2.1:443")))
	return mcp.NewToolResultText(strings.Join(lines, "\n")), nil
}

func line(what string, err error) string {
	switch {
	case err == nil:
		return what + ": succeeded"
	case errors.Is(err, os.ErrNotExist):
		return what + ": " + err.Error() + " (not there, or hidden by the sandbox)"
	default:
		return what + ": " + err.Error()
	}
}
