package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// End-to-end with a real coding agent from the npm registry, under the
// agent profile, in PTY mode: its version, then its interactive start-up
// screen, as far as it gets without a network login.

// agentPackage pins the agent CLI: the newest Claude Code release that
// still runs on Node 20.
const agentPackage = "@anthropic-ai/claude-code@2.1.100"

// agent is the agent CLI, installed once into a folder of its own.
var agent = &npmSet{what: "the agent CLI", sub: "agent", pkgs: []string{agentPackage}}

// agentCLI returns the agent's entry script.
func agentCLI(t *testing.T) string {
	t.Helper()
	return filepath.Join(agent.install(t), "node_modules", packageName(agentPackage), "cli.js")
}

func TestAgentCLI(t *testing.T) {
	cli := agentCLI(t)
	node, _ := exec.LookPath("node")
	flags := []string{"--profile", "agent", "--name", "claude", "--audit-log", "-"}
	version := agentPackage[strings.LastIndex(agentPackage, "@")+1:]

	t.Run("version", func(t *testing.T) {
		b := newBox(t)
		o := b.startPTY(flags, node, cli, "--version")
		o.expect(version + " (Claude Code)")
		if code := o.wait(); code != 0 {
			t.Fatalf("--version: exit %d; the terminal shows:\n%s", code, o.tail())
		}
		o.checkRestored()
	})

	t.Run("interactive start", func(t *testing.T) {
		b := newBox(t) // a throw-away HOME
		o := b.startPTY(flags, node, cli)
		// Its welcome screen; it draws spaces as cursor moves.
		o.expect("Welcome")
		o.expect("Claude")
		o.waitRaw()
		// Without a network login it stops at its start-up screen (or
		// ends there); either way sbshim hands the terminal back intact.
		o.send("\x03")
		o.send("\x03")
		o.wait()
		o.checkRestored()
		// Its state went to the private folder, not the real home.
		for _, real := range []string{".claude", ".claude.json"} {
			if _, err := os.Stat(b.path(real)); err == nil {
				t.Errorf("the agent wrote ~/%s on the host", real)
			}
		}
		if _, err := os.Stat(b.path(".cache/sbshim/claude/agent/claude")); err != nil {
			t.Errorf("the agent's private state folder is missing: %v", err)
		}
	})
}
