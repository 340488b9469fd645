package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// sbshim inside sbshim (DESIGN.md layer 8): the inner one cannot make
// namespaces or a second seccomp listener; it says so once, keeps what it
// can (Landlock, seccomp deny list), relays stdio and MCP, and --strict
// refuses with the reason.

func (b *box) inner(flags ...string) []string {
	return append([]string{filepath.Join(binDir, "sbshim"), "--audit-log", "-"}, flags...)
}

func TestNestedRunsAndRelays(t *testing.T) {
	b := newBox(t)
	t.Run("exit status", func(t *testing.T) {
		_, stderr, code := b.run([]string{"--audit-log", "-"}, append(b.inner("--"), "sh", "-c", "echo inner-out; exit 5")...)
		if code != 5 {
			t.Fatalf("exit status %d, want 5; stderr:\n%s", code, stderr)
		}
		if n := strings.Count(stderr, "user namespaces are unavailable"); n != 1 {
			t.Fatalf("the inner sbshim warned %d times about its namespaces, want once:\n%s", n, stderr)
		}
	})
	t.Run("mcp", func(t *testing.T) {
		cmd := b.command([]string{"--audit-log", "-"}, append(b.inner("--"), filepath.Join(binDir, "echo"))...)
		cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
			`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
			`{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("nested MCP server: %v; stderr:\n%s", err, stderr.String())
		}
		if !strings.Contains(stdout.String(), `"id":2,"result":{"tools":[{"name":"echo"`) {
			t.Fatalf("no tools/list answer through two sbshims:\nstdout %s\nstderr %s", stdout.String(), stderr.String())
		}
	})
	t.Run("still confined", func(t *testing.T) {
		stdout, stderr, _ := b.run([]string{"--audit-log", "-"}, append(b.inner("--"), filepath.Join(binDir, "attempt"), "read", b.path(".ssh/id_rsa"))...)
		if !strings.Contains(stdout, `"ok":false`) || strings.Contains(stdout, "SECRET") {
			t.Fatalf("read a secret through the nested sandbox: %s\n%s", stdout, stderr)
		}
	})
	t.Run("strict refuses", func(t *testing.T) {
		_, stderr, code := b.run([]string{"--audit-log", "-"}, append(b.inner("--strict", "--"), "true")...)
		if code != 125 || !strings.Contains(stderr, "cannot create user namespaces") || !strings.Contains(stderr, "--strict refuses") {
			t.Fatalf("inner --strict: exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// TestNestedPTY: a shell under sbshim in PTY mode starts another sbshim,
// which gets a terminal of the outer sandbox's devpts for its command.
func TestNestedPTY(t *testing.T) {
	b := newBox(t)
	o := b.startPTY([]string{"--audit-log", "-"}, bash()...)
	o.expect("sbx$ ")
	o.send(strings.Join(b.inner("--"), " ") + " sh -c 'test -t 0 && echo inner-tty-$((2*3)); exit 4'\r")
	o.expect("inner-tty-6")
	// Keys typed before the inner sbshim has exited would go to its
	// command's terminal; wait for the shell's prompt.
	o.expect("sbx$ ")
	o.send("echo code-$?\r")
	o.expect("code-4")
	o.send("exit\r")
	if code := o.wait(); code != 0 {
		t.Fatalf("exit status %d; the terminal shows:\n%s", code, o.tail())
	}
	o.checkRestored()
}
