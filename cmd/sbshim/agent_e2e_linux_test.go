package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// End-to-end with a real coding agent from the npm registry, under the
// agent profile, in PTY mode: its version, then its interactive start-up
// screen, as far as it gets without a network login.

// agentPackage pins the agent CLI: the newest Claude Code release that
// still runs on Node 20.
const agentPackage = "@anthropic-ai/claude-code@2.1.100"

var agentOnce struct {
	sync.Once
	dir string
	err error
}

// agentCLI returns the agent's entry script, installing it on first use
// into $SBSHIM_TEST_NPM_DIR/agent (or a folder under the test root) from
// the registry npm is configured for.
func agentCLI(t *testing.T) string {
	t.Helper()
	agentOnce.Do(func() {
		base := os.Getenv("SBSHIM_TEST_NPM_DIR")
		if base == "" {
			base = filepath.Join(testRoot(), fmt.Sprintf("sbshim-test-npm-%d", os.Getuid()))
		}
		dir := filepath.Join(base, "agent")
		agentOnce.dir = dir
		name := agentPackage[:strings.LastIndex(agentPackage, "@")]
		if _, err := os.Stat(filepath.Join(dir, "node_modules", name, "cli.js")); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			agentOnce.err = fmt.Errorf("%s is not installed in %s and npm is not on PATH to install it: %v", agentPackage, dir, err)
			return
		}
		args := []string{"install", "--no-audit", "--no-fund", "--prefix", dir, agentPackage}
		if out, err := exec.Command(npm, args...).CombinedOutput(); err != nil {
			agentOnce.err = fmt.Errorf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if agentOnce.err != nil {
		t.Fatal(agentOnce.err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run the agent: %v", err)
	}
	name := agentPackage[:strings.LastIndex(agentPackage, "@")]
	return filepath.Join(agentOnce.dir, "node_modules", name, "cli.js")
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
