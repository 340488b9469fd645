package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestAgentStateCopy: under the agent profile, the agent's state folder is
// a private copy of the real one. Inside the sandbox the copied settings
// are readable at the private path, the credential is readable but
// read-only, other files in the copy are writable and kept between runs,
// and the real ~/.claude stays unchanged and its credential hidden.
func TestAgentStateCopy(t *testing.T) {
	b := newBox(t)
	b.mkfile(".claude/settings.json", `{"theme":"dark"}`)
	cred := b.mkfile(".claude/.credentials.json", `{"token":"T1"}`)
	if err := os.Chmod(cred, 0o600); err != nil {
		t.Fatal(err)
	}
	b.mkfile(".claude.json", `{"userID":"u1"}`)
	before := readTree(t, b.path(".claude"))

	flags := []string{"--profile", "agent", "--name", "claude", "--audit-log", "-"}
	priv := b.path(".cache/sbshim/claude/agent/claude")
	// Each step's failures belong to the step: the box reports to it.
	step := func(name string, f func(t *testing.T)) {
		outer := b.t
		t.Run(name, func(t *testing.T) {
			b.t = t
			defer func() { b.t = outer }()
			f(t)
		})
	}

	step("copied settings readable", func(t *testing.T) {
		if o := b.mustWork(flags, "read", filepath.Join(priv, "settings.json")); o.Detail != `{"theme":"dark"}` {
			t.Errorf("settings.json in the copy: %q", o.Detail)
		}
		if o := b.mustWork(flags, "read", filepath.Join(priv, ".claude.json")); o.Detail != `{"userID":"u1"}` {
			t.Errorf(".claude.json in the copy: %q", o.Detail)
		}
	})
	step("CLAUDE_CONFIG_DIR points at the copy", func(t *testing.T) {
		o := b.mustWork(flags, "env")
		if !strings.Contains(o.Detail, "\nCLAUDE_CONFIG_DIR="+priv+"\n") && !strings.HasPrefix(o.Detail, "CLAUDE_CONFIG_DIR="+priv+"\n") {
			t.Errorf("CLAUDE_CONFIG_DIR=%s is not in the environment inside:\n%s", priv, o.Detail)
		}
	})
	step("credential readable, not writable", func(t *testing.T) {
		if o := b.mustWork(flags, "read", filepath.Join(priv, ".credentials.json")); o.Detail != `{"token":"T1"}` {
			t.Errorf("credential in the copy: %q", o.Detail)
		}
		b.mustFail(flags, "", "write", filepath.Join(priv, ".credentials.json"), "forged")
		b.mustFail(flags, "", "append", filepath.Join(priv, ".credentials.json"), "forged")
		b.mustFail(flags, "", "unlink", filepath.Join(priv, ".credentials.json"))
	})
	step("rest of the copy writable and kept", func(t *testing.T) {
		b.mustWork(flags, "write", filepath.Join(priv, "history.jsonl"), "h1")
		b.mustWork(flags, "write", filepath.Join(priv, "settings.json"), `{"theme":"light"}`)
		if o := b.mustWork(flags, "read", filepath.Join(priv, "history.jsonl")); o.Detail != "h1" {
			t.Errorf("history after a new run: %q", o.Detail)
		}
		if o := b.mustWork(flags, "read", filepath.Join(priv, "settings.json")); o.Detail != `{"theme":"light"}` {
			t.Errorf("settings after a new run: %q (the copy must be kept, not made again)", o.Detail)
		}
	})
	step("login outside is picked up", func(t *testing.T) {
		if err := os.WriteFile(cred, []byte(`{"token":"T2"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		before = readTree(t, b.path(".claude"))
		if o := b.mustWork(flags, "read", filepath.Join(priv, ".credentials.json")); o.Detail != `{"token":"T2"}` {
			t.Errorf("credential after a login outside: %q", o.Detail)
		}
	})
	step("real folder hidden and unchanged", func(t *testing.T) {
		if o := b.attempt(flags, "read", cred); o.OK || strings.Contains(o.Detail, "T2") {
			t.Errorf("the real credential is readable inside: %+v", o)
		}
		b.mustFail(flags, "", "write", b.path(".claude/settings.json"), "x")
		b.mustFail(flags, "", "write", b.path(".claude/new.txt"), "x")
		if after := readTree(t, b.path(".claude")); !reflect.DeepEqual(before, after) {
			t.Errorf("the real ~/.claude changed:\nbefore %v\nafter  %v", before, after)
		}
		if data, err := os.ReadFile(b.path(".claude.json")); err != nil || string(data) != `{"userID":"u1"}` {
			t.Errorf("the real ~/.claude.json is now %q (%v)", data, err)
		}
	})
}

// readTree maps every path under dir to its mode and contents.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		v := info.Mode().String() + " " + info.ModTime().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(data)
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
