package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoWorkspaceOutsideAProject: a working directory that names no
// project (/, the home folder, a folder holding it, a link to one of
// them, the private /tmp, a hidden folder, sbshim's own folders) is no
// workspace: nothing of it is writable, every $WORKSPACE rule drops out,
// and the policy says why. A project folder, also under /tmp, stays one.
func TestNoWorkspaceOutsideAProject(t *testing.T) {
	e := newTestEnv(t)
	h := e.vars.Home
	for _, d := range []string{h + "/.ssh/keys", h + "/.cache/sbshim/other.1234", e.cfg + "/profiles"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	linkToHome := filepath.Join(e.dir, "link-to-home")
	if err := os.Symlink(h, linkToHome); err != nil {
		t.Fatal(err)
	}
	profile := e.write(t, "ws.json", `{
		"filesystem": {"allowWrite": ["$WORKSPACE", "$WORKSPACE/../sibling", "$TMP", "$CACHE"], "denyWrite": ["$WORKSPACE/locked"],
		               "denyRead": ["$WORKSPACE/.env"]},
		"network": {"allowUnixSockets": ["$WORKSPACE/sock"]},
		"env": {"set": {"AT_WS": "$WORKSPACE/memory.json", "BRACED": "${WORKSPACE}", "OTHER": "$WORKSPACEX", "PLAIN": "$TMP/x"}}
	}`)
	cases := []struct {
		name, ws string
		why      string // "" when it is a workspace
	}{
		{"root", "/", "is the root folder"},
		{"home", h, "is the home folder"},
		{"home with a trailing slash", h + "/", "is the home folder"},
		{"ancestor of home", filepath.Dir(h), "holds the home folder"},
		{"link to home", linkToHome, "is the home folder"},
		{"private tmp", "/tmp", "replaced by a private folder"},
		{"secret folder", h + "/.ssh", "filesystem.denyRead"},
		{"inside a secret folder", h + "/.ssh/keys", "filesystem.denyRead"},
		{"another server's cache", h + "/.cache/sbshim/other.1234", "filesystem.denyRead"},
		{"sbshim's config", e.cfg + "/profiles", "configuration folder"},
		{"project", e.vars.Workspace, ""},
		{"project under /tmp", "/tmp/some-project", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := LoadOptions{Profile: profile, UserConfigDir: e.cfg, Vars: e.vars}
			o.Vars.Workspace = c.ws
			o.Vars.Cache = filepath.Join(h, ".cache", "sbshim", "me.1234")
			p, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			ws := filepath.Clean(c.ws)
			if c.why == "" {
				if p.Vars.NoWorkspace != "" || p.Vars.Workspace != ws || !slices.Contains(p.Filesystem.AllowWrite, ws) {
					t.Fatalf("%s is a project, got workspace %q (%q), allowWrite %v", ws, p.Vars.Workspace, p.Vars.NoWorkspace, p.Filesystem.AllowWrite)
				}
				if p.Env.Set["AT_WS"] != ws+"/memory.json" {
					t.Errorf("AT_WS = %q", p.Env.Set["AT_WS"])
				}
				return
			}
			if p.Vars.Workspace != "" || !strings.HasPrefix(p.Vars.NoWorkspace, ws+" ") || !strings.Contains(p.Vars.NoWorkspace, c.why) {
				t.Fatalf("workspace %q, noWorkspace %q; want none, saying %q", p.Vars.Workspace, p.Vars.NoWorkspace, c.why)
			}
			if want := []string{"/tmp", o.Vars.Cache}; !slices.Equal(p.Filesystem.AllowWrite, want) {
				t.Errorf("allowWrite %v, want %v", p.Filesystem.AllowWrite, want)
			}
			if rule, ok := p.CanWrite(filepath.Join(ws, "new-file")); ok && !Within(ws, "/tmp") {
				t.Errorf("%s/new-file is writable (%s)", ws, rule)
			}
			if len(p.Network.AllowUnixSockets) != 0 {
				t.Errorf("allowUnixSockets %v", p.Network.AllowUnixSockets)
			}
			for _, l := range [][]string{p.Filesystem.DenyRead, p.Filesystem.DenyWrite} {
				for _, d := range l {
					if strings.HasSuffix(d, "/locked") || strings.HasSuffix(d, "/.env") || strings.HasPrefix(d, "$") {
						t.Errorf("a $WORKSPACE rule is left: %s", d)
					}
				}
			}
			for k, want := range map[string]string{"OTHER": "$WORKSPACEX", "PLAIN": "/tmp/x"} {
				if p.Env.Set[k] != want {
					t.Errorf("env.set %s = %q, want %q", k, p.Env.Set[k], want)
				}
			}
			for _, k := range []string{"AT_WS", "BRACED"} {
				if v, ok := p.Env.Set[k]; ok {
					t.Errorf("env.set %s = %q: it names the missing workspace", k, v)
				}
			}
		})
	}
}
