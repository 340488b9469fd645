package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAgentStateParseErrors(t *testing.T) {
	const src = "p.json"
	wantTo := `expected a path under $CACHE/, like "$CACHE/agent/claude"`
	wantRel := `expected a path relative to the folder, like ".credentials.json" (no leading /, no .., no *)`
	tests := []struct{ name, in, want string }{
		{"unknown key", `{"agent":{"stat":[]}}`,
			`key "agent.stat": unknown key; did you mean "agent.state"? (valid keys in "agent": state)`},
		{"state not a list", `{"agent":{"state":{}}}`,
			`key "agent.state": got an object, expected a list of objects like {"from": "~/.claude", "to": "$CACHE/agent/claude"}`},
		{"entry not an object", `{"agent":{"state":["~/.claude"]}}`,
			`key "agent.state[0]": got "~/.claude", expected an object`},
		{"null entry", `{"agent":{"state":[null]}}`,
			`key "agent.state[0]": got null, expected an object`},
		{"unknown entry key", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","credential":[]}]}}`,
			`key "agent.state[0].credential": unknown key; did you mean "agent.state[0].credentials"? (valid keys in "agent.state[0]": from, to, credentials, skip)`},
		{"missing from", `{"agent":{"state":[{"to":"$CACHE/a"}]}}`,
			`key "agent.state[0].from": missing, expected the real folder or file to copy, like "~/.claude"`},
		{"missing to", `{"agent":{"state":[{"from":"~/.a"}]}}`,
			`key "agent.state[0].to": missing, expected the private copy's path under $CACHE/, like "$CACHE/agent/claude"`},
		{"from type", `{"agent":{"state":[{"from":1,"to":"$CACHE/a"}]}}`,
			`key "agent.state[0].from": got 1, expected a string`},
		{"relative from", `{"agent":{"state":[{"from":".claude","to":"$CACHE/a"}]}}`,
			`key "agent.state[0].from": got ".claude", a relative path, expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"from in cache", `{"agent":{"state":[{"from":"$CACHE/x","to":"$CACHE/a"}]}}`,
			`key "agent.state[0].from": got "$CACHE/x", expected a real folder or file starting with ~/, / or $WORKSPACE`},
		{"from glob", `{"agent":{"state":[{"from":"~/.a*","to":"$CACHE/a"}]}}`,
			`key "agent.state[0].from": got "~/.a*", expected a path without *`},
		{"to outside cache", `{"agent":{"state":[{"from":"~/.a","to":"~/.a-copy"}]}}`,
			`key "agent.state[0].to": got "~/.a-copy", ` + wantTo},
		{"to is cache", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/."}]}}`,
			`key "agent.state[0].to": got "$CACHE/.", ` + wantTo},
		{"to escapes", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/../x"}]}}`,
			`key "agent.state[0].to": got "$CACHE/../x", expected a path without .. components`},
		{"to twice", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a"},{"from":"~/.b","to":"$CACHE/a/"}]}}`,
			`key "agent.state[1].to": got "$CACHE/a/", the same as agent.state[0].to; expected each copy in a place of its own`},
		{"credential absolute", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","credentials":["/etc/shadow"]}]}}`,
			`key "agent.state[0].credentials[0]": got "/etc/shadow", ` + wantRel},
		{"credential escapes", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","credentials":["x/../../y"]}]}}`,
			`key "agent.state[0].credentials[0]": got "x/../../y", ` + wantRel},
		{"skip dot", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","skip":["./"]}]}}`,
			`key "agent.state[0].skip[0]": got "./", ` + wantRel},
		{"skip empty", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","skip":[""]}]}}`,
			`key "agent.state[0].skip[0]": got "", ` + wantRel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile(src, []byte(tt.in))
			var ce *ConfigError
			if err == nil || !errors.As(err, &ce) || ce.Source != src {
				t.Fatalf("got %v, want a *ConfigError from %s", err, src)
			}
			if got, want := err.Error(), src+": "+tt.want; got != want {
				t.Errorf("error\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestAgentStateParseAccepts(t *testing.T) {
	p, err := ParseProfile("p.json", []byte(`{"agent":{"state":[
	  {"from":"~/.claude","to":"$CACHE/agent/claude","credentials":[".credentials.json","sub/x"],"skip":["debug"]},
	  {"from":"/etc/x.json","to":"$CACHE/agent/claude/x.json","credentials":null}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{Agent: &AgentProfile{State: []AgentStateProfile{
		{From: "~/.claude", To: "$CACHE/agent/claude", Credentials: []string{".credentials.json", "sub/x"}, Skip: []string{"debug"}},
		{From: "/etc/x.json", To: "$CACHE/agent/claude/x.json"},
	}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %s\nwant %s", mustJSON(t, p), mustJSON(t, want))
	}
	roundTrip(t, p)
}

// TestAgentStateMergeAndLoad: the last layer that sets agent.state
// replaces it; paths are expanded; a credential with a real file is
// read-only (denyWrite) at its private place, one without is not.
func TestAgentStateMergeAndLoad(t *testing.T) {
	e := newTestEnv(t)
	e.write(t, "home/.a/cred", "secret")
	e.write(t, "cfg/profiles/one.json", `{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","credentials":["cred","missing"]}]}}`)
	p := e.load(t, LoadOptions{Profile: "one"})
	want := []AgentState{{
		From: filepath.Join(e.vars.Home, ".a"), To: filepath.Join(e.vars.Cache, "a"),
		Credentials: []string{"cred", "missing"}, Skip: []string{},
	}}
	if !reflect.DeepEqual(p.Agent.State, want) {
		t.Errorf("state %+v, want %+v", p.Agent.State, want)
	}
	if !slices.Contains(p.Filesystem.DenyWrite, filepath.Join(e.vars.Cache, "a", "cred")) {
		t.Errorf("denyWrite %v lacks the credential", p.Filesystem.DenyWrite)
	}
	if slices.Contains(p.Filesystem.DenyWrite, filepath.Join(e.vars.Cache, "a", "missing")) {
		t.Errorf("denyWrite %v holds a credential with no real file", p.Filesystem.DenyWrite)
	}

	// A user config with an empty list turns the built-in agent copies off.
	e.write(t, "cfg/config.json", `{"agent":{"state":[]}}`)
	if p := e.load(t, LoadOptions{}); len(p.Agent.State) != 0 {
		t.Errorf("empty list in the user config: %+v", p.Agent.State)
	}
	if p := e.load(t, LoadOptions{Profile: "agent"}); len(p.Agent.State) != 4 {
		t.Errorf("the agent profile after it: %+v", p.Agent.State)
	}
	if p := e.load(t, LoadOptions{Profile: "one"}); len(p.Agent.State) != 1 {
		t.Errorf("profile one: %+v", p.Agent.State)
	}
}

// stateTree is a fake home with an agent folder, a credential, a config
// file outside it, links and a hidden file, and a policy copying them.
type stateTree struct {
	e    testEnv
	pol  *Policy
	real string // the real agent folder
	to   string // its private copy
}

func newStateTree(t *testing.T) stateTree {
	t.Helper()
	e := newTestEnv(t)
	real := filepath.Join(e.vars.Home, ".agent")
	e.write(t, "home/.agent/settings.json", `{"theme":"dark"}`)
	e.write(t, "home/.agent/projects/p1/log.jsonl", "line\n")
	e.write(t, "home/.agent/cred.json", "token-1")
	e.write(t, "home/.agent/debug/huge.txt", "xxx")
	e.write(t, "home/.agent/hidden.key", "do not copy")
	e.write(t, "home/.agent.json", `{"userID":"u"}`)
	e.write(t, "home/outside.txt", "outside")
	must(t, os.Chmod(filepath.Join(real, "cred.json"), 0o600))
	must(t, os.Chmod(filepath.Join(real, "settings.json"), 0o640))
	must(t, os.WriteFile(filepath.Join(real, "run.sh"), []byte("#!/bin/sh\n"), 0o750))
	must(t, os.Chmod(filepath.Join(real, "projects"), 0o711))
	must(t, os.Symlink("../outside.txt", filepath.Join(real, "rel-out")))
	must(t, os.Symlink(filepath.Join(e.vars.Home, "outside.txt"), filepath.Join(real, "abs-out")))
	must(t, os.Symlink("settings.json", filepath.Join(real, "in-link")))
	must(t, os.Symlink("/", filepath.Join(real, "root-link")))
	e.write(t, "cfg/profiles/st.json", `{
	  "filesystem": {"denyRead": ["~/.agent/hidden.key"]},
	  "agent": {"state": [
	    {"from": "~/.agent.json", "to": "$CACHE/agent/x/.agent.json"},
	    {"from": "~/.agent", "to": "$CACHE/agent/x", "credentials": ["cred.json", "absent.json"], "skip": ["debug"]},
	    {"from": "~/.nothing", "to": "$CACHE/agent/none"}
	  ]}}`)
	pol := e.load(t, LoadOptions{Profile: "st"})
	must(t, os.MkdirAll(e.vars.Cache, 0o700))
	return stateTree{e: e, pol: pol, real: real, to: filepath.Join(e.vars.Cache, "agent", "x")}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot records every path under dir with its type, mode, link target
// or contents, to prove a folder unchanged.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String() + " " + info.ModTime().String()
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += " -> " + l
		case d.Type().IsRegular():
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		out[p] = v
		return nil
	})
	must(t, err)
	return out
}

func TestPrepareAgentState(t *testing.T) {
	st := newStateTree(t)
	home := st.e.vars.Home
	before := snapshot(t, home)

	// First run: the copy is made.
	must(t, st.pol.PrepareAgentState())
	type want struct {
		rel  string
		mode fs.FileMode // type and permission bits
		body string      // contents, or the link target
	}
	files := []want{
		{"settings.json", 0o640, `{"theme":"dark"}`},
		{"run.sh", 0o750, "#!/bin/sh\n"},
		{"projects", fs.ModeDir | 0o711, ""},
		{"projects/p1/log.jsonl", 0o644, "line\n"},
		{"cred.json", 0o600, "token-1"},
		{".agent.json", 0o644, `{"userID":"u"}`},
		{"rel-out", fs.ModeSymlink, "../outside.txt"},
		{"abs-out", fs.ModeSymlink, filepath.Join(home, "outside.txt")},
		{"in-link", fs.ModeSymlink, "settings.json"},
		{"root-link", fs.ModeSymlink, "/"},
	}
	check := func(t *testing.T) {
		t.Helper()
		for _, w := range files {
			p := filepath.Join(st.to, w.rel)
			info, err := os.Lstat(p)
			if err != nil {
				t.Errorf("%s: %v", w.rel, err)
				continue
			}
			if got := info.Mode() &^ fs.ModeType; info.Mode().Type() != w.mode.Type() || w.mode.Type() != fs.ModeSymlink && got != w.mode.Perm() {
				t.Errorf("%s: mode %v, want %v", w.rel, info.Mode(), w.mode)
			}
			switch {
			case w.mode.Type() == fs.ModeSymlink:
				if l, _ := os.Readlink(p); l != w.body {
					t.Errorf("%s: link to %q, want %q", w.rel, l, w.body)
				}
			case w.mode.IsRegular():
				if b, _ := os.ReadFile(p); string(b) != w.body {
					t.Errorf("%s: %q, want %q", w.rel, b, w.body)
				}
			}
		}
		for _, rel := range []string{"debug", "hidden.key", "absent.json"} {
			if _, err := os.Lstat(filepath.Join(st.to, rel)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was copied (%v)", rel, err)
			}
		}
		if _, err := os.Lstat(filepath.Join(st.e.vars.Cache, "agent", "none")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a missing source made a copy (%v)", err)
		}
		leftovers, _ := filepath.Glob(filepath.Join(st.e.vars.Cache, "agent", "*", "*.sbshim-*"))
		if more, _ := filepath.Glob(filepath.Join(st.e.vars.Cache, "agent", "*.sbshim-*")); len(leftovers)+len(more) > 0 {
			t.Errorf("temporary files left: %v %v", leftovers, more)
		}
	}
	check(t)
	if after := snapshot(t, home); !reflect.DeepEqual(before, after) {
		t.Errorf("the first copy changed the real home:\nbefore %v\nafter  %v", before, after)
	}
	if info, err := os.Stat(st.to); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("top folder: %v %v, want mode 0755 like the real one", info.Mode(), err)
	}

	// The agent works in its copy; outside, the user logs in again.
	must(t, os.WriteFile(filepath.Join(st.to, "settings.json"), []byte(`{"theme":"light"}`), 0o640))
	must(t, os.WriteFile(filepath.Join(st.to, "history.jsonl"), []byte("h\n"), 0o600))
	must(t, os.Remove(filepath.Join(st.to, "run.sh")))
	must(t, os.WriteFile(filepath.Join(st.real, "cred.json"), []byte("token-2"), 0o600))
	before = snapshot(t, home)

	// Second run: the copy is kept, the credential refreshed.
	must(t, st.pol.PrepareAgentState())
	files[0].body = `{"theme":"light"}`
	files[1] = want{"history.jsonl", 0o600, "h\n"}
	files[4].body = "token-2"
	check(t)
	if _, err := os.Lstat(filepath.Join(st.to, "run.sh")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file the agent removed came back (%v)", err)
	}
	if after := snapshot(t, home); !reflect.DeepEqual(before, after) {
		t.Errorf("the real home changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestPrepareAgentStateStaysInCache: links the sandboxed program left in
// its copy never make sbshim write outside $CACHE.
func TestPrepareAgentStateStaysInCache(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, st stateTree, victim string)
	}{
		{"credential is a link out", func(t *testing.T, st stateTree, victim string) {
			must(t, os.Remove(filepath.Join(st.to, "cred.json")))
			must(t, os.Symlink(victim, filepath.Join(st.to, "cred.json")))
		}},
		{"temporary name is a link out", func(t *testing.T, st stateTree, victim string) {
			must(t, os.Symlink(victim, filepath.Join(st.to, "cred.json"+newSuffix)))
		}},
		{"private folder is a link out", func(t *testing.T, st stateTree, victim string) {
			must(t, os.RemoveAll(st.to))
			must(t, os.Symlink(filepath.Dir(victim), st.to))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStateTree(t)
			must(t, st.pol.PrepareAgentState())
			victim := filepath.Join(st.e.dir, "victim", "cred.json")
			st.e.write(t, "victim/cred.json", "mine")
			tt.plant(t, st, victim)
			st.pol.PrepareAgentState() // may fail; must not write outside
			if b, err := os.ReadFile(victim); err != nil || string(b) != "mine" {
				t.Errorf("the file outside $CACHE is now %q (%v)", b, err)
			}
			if m, _ := filepath.Glob(filepath.Join(st.e.dir, "victim", "*")); len(m) != 1 {
				t.Errorf("files outside $CACHE: %v", m)
			}
		})
	}
}

// TestPrepareAgentStateNamesFailures: a failing entry is named in the error.

func TestPrepareAgentStateNamesFailures(t *testing.T) {
	st := newStateTree(t)
	// A regular file where the private folder's parent should be.
	st.e.write(t, "cache/agent", "not a folder")
	err := st.pol.PrepareAgentState()
	if err == nil || !strings.Contains(err.Error(), "agent state $CACHE/agent/x") {
		t.Fatalf("got %v", err)
	}
}
