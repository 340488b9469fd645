package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/configs"
)

// testEnv is a fake home, workspace and config folder under a temp dir.
type testEnv struct {
	dir  string
	vars Vars
	cfg  string
}

func newTestEnv(t *testing.T) testEnv {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := testEnv{dir: dir, cfg: filepath.Join(dir, "cfg")}
	e.vars = Vars{
		Home:      filepath.Join(dir, "home"),
		Workspace: filepath.Join(dir, "home", "proj"),
		Tmp:       "/tmp",
		Cache:     filepath.Join(dir, "cache"),
	}
	for _, d := range []string{e.vars.Workspace, e.cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e testEnv) write(t *testing.T, rel, text string) string {
	t.Helper()
	p := filepath.Join(e.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e testEnv) load(t *testing.T, o LoadOptions) *Policy {
	t.Helper()
	o.UserConfigDir = e.cfg
	o.Vars = e.vars
	p, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShippedProfilesParseAndLoad(t *testing.T) {
	e := newTestEnv(t)
	for _, name := range configs.Names() {
		data, err := configs.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseProfile("built-in:"+name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Description == nil || *p.Description == "" {
			t.Errorf("%s: no description", name)
		}
		roundTrip(t, p)
		pol := e.load(t, LoadOptions{Profile: name})
		if pol.Description != *p.Description {
			t.Errorf("%s: description not taken from the last layer", name)
		}
	}
}

func TestDefaultProfileContract(t *testing.T) {
	e := newTestEnv(t)
	p := e.load(t, LoadOptions{})
	if p.Name != "default" || !slices.Equal(p.Sources, []string{"built-in:default"}) {
		t.Errorf("name %q sources %v", p.Name, p.Sources)
	}
	// Network only through the proxy, to the package registries and
	// nothing else.
	if p.Network.Mode != NetProxy || !p.Network.AllowPackageRegistries || len(p.Network.Allow) != 0 {
		t.Errorf("network %+v", p.Network)
	}
	if want := []string{e.vars.Workspace, "/tmp", e.vars.Cache}; !slices.Equal(p.Filesystem.AllowWrite, want) {
		t.Errorf("allowWrite %v, want %v", p.Filesystem.AllowWrite, want)
	}
	if (p.Limits != LimitsPolicy{TmpSizeMB: 512, Pids: 1024}) {
		t.Errorf("limits %+v", p.Limits)
	}
	if (p.Report != ReportPolicy{Stderr: true, Notify: true, Annotate: true}) || p.Audit.Arguments {
		t.Errorf("report %+v audit %+v", p.Report, p.Audit)
	}
	h := e.vars.Home
	for _, secret := range []string{
		h + "/.ssh/id_ed25519", h + "/.gnupg/private-keys-v1.d/x", h + "/.aws/credentials",
		h + "/.config/gcloud/credentials.db", h + "/.azure/msal_token_cache.json", h + "/.kube/config",
		h + "/.docker/config.json", h + "/.npmrc", h + "/.pypirc", h + "/.netrc", h + "/.git-credentials",
		h + "/.config/gh/hosts.yml", h + "/.cargo/credentials.toml", h + "/.gem/credentials",
		h + "/.password-store/x.gpg", h + "/.local/share/keyrings/login.keyring",
		h + "/.mozilla/firefox/a.default/cookies.sqlite", h + "/.config/google-chrome/Default/Cookies",
		h + "/.config/chromium/Default/Login Data", h + "/.config/BraveSoftware/x",
		h + "/.config/microsoft-edge/x", h + "/.bash_history", h + "/.zsh_history",
		h + "/.python_history", h + "/.node_repl_history", h + "/.psql_history",
		h + "/.claude/.credentials.json", h + "/.codex/auth.json", h + "/.terraform.d/credentials.tfrc.json",
		h + "/.vault-token", "/etc/shadow", "/etc/gshadow", "/etc/sudoers",
	} {
		if _, ok := p.CanRead(secret); ok {
			t.Errorf("default lets %s be read", secret)
		}
	}
	for _, fine := range []string{"/usr/bin/env", h + "/proj/main.go", h + "/.claude/settings.json", "/etc/passwd"} {
		if rule, ok := p.CanRead(fine); !ok {
			t.Errorf("default refuses %s (%s)", fine, rule)
		}
	}
	env := p.Environ([]string{
		"PATH=/bin", "HOME=/h", "GITHUB_TOKEN=x", "AWS_SECRET_ACCESS_KEY=x", "OPENAI_API_KEY=x",
		"DB_PASSWORD=x", "SSH_AUTH_SOCK=/s", "NPM_TOKEN=x", "GOOGLE_APPLICATION_CREDENTIALS=/c",
		"KEYMAP=us", "XKB_DEFAULT_LAYOUT=us", "TERM=xterm", "LANG=C", "PWD=/p", "OLDPWD=/o",
		"SUDO_ASKPASS=/a", "GIT_AUTHOR_NAME=me", "MY_SECRET_THING=x", "DOCKER_AUTH_CONFIG=x",
		"AZURE_CLIENT_SECRET=x", "GH_TOKEN_2=x", "STRIPE_KEY=x",
	})
	want := map[string]bool{"PATH": true, "HOME": true, "KEYMAP": true, "XKB_DEFAULT_LAYOUT": true,
		"TERM": true, "LANG": true, "PWD": true, "OLDPWD": true, "SUDO_ASKPASS": true, "GIT_AUTHOR_NAME": true}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, set := p.Env.Set[k]; set {
			if strings.Contains(v, "$") {
				t.Errorf("env.set %s not expanded: %q", k, v)
			}
			continue
		}
		if !want[k] {
			t.Errorf("default passes %s", k)
		}
		delete(want, k)
	}
	if len(want) > 0 {
		t.Errorf("default drops %v", want)
	}
	if got := p.Env.Set["npm_config_cache"]; got != e.vars.Cache+"/npm" {
		t.Errorf("npm_config_cache = %q", got)
	}
}

func TestLoadMerge(t *testing.T) {
	e := newTestEnv(t)
	e.write(t, "cfg/config.json", `{
	  "description": "mine",
	  "filesystem": {"denyRead": ["~/secret"], "allowWrite": ["$WORKSPACE", "/data"], "denyWrite": ["$WORKSPACE/.env"]},
	  "network": {"mode": "proxy", "allow": ["a.example.com"], "deny": ["bad.example.com"]},
	  "env": {"pass": ["PATH", "HOME"], "set": {"A": "1", "B": "2"}, "deny": ["X_*"]},
	  "limits": {"pids": 5}
	}`)
	e.write(t, "cfg/profiles/team.json", `{
	  "filesystem": {"denyRead": [], "allowWrite": ["$TMP"], "denyWrite": ["~/other"]},
	  "network": {"allow": ["b.example.com"], "deny": []},
	  "env": {"set": {"B": "3"}, "deny": ["Y"]},
	  "report": {"notify": false}
	}`)
	mode := NetHost
	flags := &Profile{
		Filesystem: &FilesystemProfile{AllowWrite: []string{"/flag"}, DenyRead: []string{"~/flagdeny"}},
		Network:    &NetworkProfile{Mode: &mode, Allow: []string{"C.example.com"}},
		Env:        &EnvProfile{Pass: []string{"TERM"}},
	}
	p := e.load(t, LoadOptions{Profile: "team", Flags: flags})
	h := e.vars.Home
	if p.Name != "default+team" {
		t.Errorf("name %q", p.Name)
	}
	wantSources := []string{"built-in:default", filepath.Join(e.cfg, "config.json"), filepath.Join(e.cfg, "profiles", "team.json"), "flags"}
	if !slices.Equal(p.Sources, wantSources) {
		t.Errorf("sources %v", p.Sources)
	}
	if p.Description != "mine" {
		t.Errorf("description %q", p.Description)
	}
	// Deny lists accumulate: the empty list in team.json removes nothing.
	for _, d := range []string{h + "/.ssh", h + "/secret", h + "/flagdeny"} {
		if !slices.Contains(p.Filesystem.DenyRead, d) {
			t.Errorf("denyRead lost %s", d)
		}
	}
	if want := []string{e.vars.Workspace + "/.env", h + "/other"}; !slices.Equal(p.Filesystem.DenyWrite, want) {
		t.Errorf("denyWrite %v, want %v", p.Filesystem.DenyWrite, want)
	}
	// Allow lists: team replaces config's, flags append.
	if want := []string{"/tmp", "/flag"}; !slices.Equal(p.Filesystem.AllowWrite, want) {
		t.Errorf("allowWrite %v, want %v", p.Filesystem.AllowWrite, want)
	}
	if want := []string{"b.example.com", "c.example.com"}; !slices.Equal(p.Network.Allow, want) {
		t.Errorf("network.allow %v, want %v", p.Network.Allow, want)
	}
	if want := []string{"bad.example.com"}; !slices.Equal(p.Network.Deny, want) {
		t.Errorf("network.deny %v", p.Network.Deny)
	}
	if want := []string{"PATH", "HOME", "TERM"}; !slices.Equal(p.Env.Pass, want) {
		t.Errorf("env.pass %v", p.Env.Pass)
	}
	if !slices.Contains(p.Env.Deny, "*TOKEN") || !slices.Contains(p.Env.Deny, "X_*") || !slices.Contains(p.Env.Deny, "Y") {
		t.Errorf("env.deny %v", p.Env.Deny)
	}
	if p.Env.Set["A"] != "1" || p.Env.Set["B"] != "3" || p.Env.Set["GOCACHE"] != e.vars.Cache+"/go-build" {
		t.Errorf("env.set %v", p.Env.Set)
	}
	if p.Network.Mode != NetHost || p.Limits.Pids != 5 || p.Limits.TmpSizeMB != 512 || p.Report.Notify || !p.Report.Stderr {
		t.Errorf("scalars: mode %q limits %+v report %+v", p.Network.Mode, p.Limits, p.Report)
	}
}

func TestLoadProfileResolution(t *testing.T) {
	e := newTestEnv(t)
	// A user profile wins over the built-in of the same name.
	e.write(t, "cfg/profiles/read-only.json", `{"description": "user read-only", "filesystem": {"allowWrite": []}}`)
	p := e.load(t, LoadOptions{Profile: "read-only"})
	if p.Description != "user read-only" || len(p.Filesystem.AllowWrite) != 0 || p.Name != "default+read-only" {
		t.Errorf("user profile not used: %q %v", p.Description, p.Filesystem.AllowWrite)
	}
	// A built-in modifier.
	p = e.load(t, LoadOptions{Profile: "host-network"})
	if p.Network.Mode != NetHost || p.Name != "default+host-network" {
		t.Errorf("host-network: %q %q", p.Network.Mode, p.Name)
	}
	// "default" is not layered twice.
	p = e.load(t, LoadOptions{Profile: "default"})
	if p.Name != "default" || len(p.Sources) != 1 {
		t.Errorf("default twice: %q %v", p.Name, p.Sources)
	}
	// A file path, relative or absolute.
	f := e.write(t, "elsewhere/strict.json", `{"network": {"mode": "proxy"}}`)
	p = e.load(t, LoadOptions{Profile: f})
	if p.Name != "default+strict" || p.Sources[1] != f || p.Network.Mode != NetProxy {
		t.Errorf("file profile: %q %v", p.Name, p.Sources)
	}
	// Unknown name lists what exists.
	e.write(t, "cfg/profiles/mine.json", `{}`)
	_, err := Load(LoadOptions{Profile: "nope", UserConfigDir: e.cfg, Vars: e.vars})
	want := `unknown profile "nope"; available: agent, default, host-network, mine, no-network, read-only, workspace-write`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// A missing file.
	_, err = Load(LoadOptions{Profile: "./missing.json", UserConfigDir: e.cfg, Vars: e.vars})
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	e := newTestEnv(t)
	e.write(t, "cfg/config.json", `{"network": {"mode": "nope"}}`)
	_, err := Load(LoadOptions{UserConfigDir: e.cfg, Vars: e.vars})
	want := filepath.Join(e.cfg, "config.json") + `: key "network.mode": got "nope", expected one of none, proxy, host`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	e2 := newTestEnv(t)
	bad := []string{"rel"}
	_, err = Load(LoadOptions{UserConfigDir: e2.cfg, Vars: e2.vars, Flags: &Profile{Filesystem: &FilesystemProfile{AllowWrite: bad}}})
	if err == nil || !strings.HasPrefix(err.Error(), `flags: key "filesystem.allowWrite[0]": got "rel", a relative path`) {
		t.Errorf("flags: %v", err)
	}
	v := e2.vars
	v.Workspace = "relative"
	_, err = Load(LoadOptions{UserConfigDir: e2.cfg, Vars: v})
	if err == nil || !strings.Contains(err.Error(), "$WORKSPACE") {
		t.Errorf("relative var: %v", err)
	}
}

func TestExpansionSymlinksGlobs(t *testing.T) {
	e := newTestEnv(t)
	h := e.vars.Home
	// ~/.aws is a symlink to a real folder elsewhere.
	real := filepath.Join(e.dir, "vault", "aws")
	if err := os.MkdirAll(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(h, ".aws")); err != nil {
		t.Fatal(err)
	}
	// The workspace is reached through a link.
	link := filepath.Join(e.dir, "ws-link")
	if err := os.Symlink(e.vars.Workspace, link); err != nil {
		t.Fatal(err)
	}
	for _, prof := range []string{"a.default", "b.dev"} {
		e.write(t, "home/.mozilla/firefox/"+prof+"/cookies.sqlite", "")
	}
	e.write(t, "cfg/config.json", `{"filesystem": {
	  "denyRead": ["~/.mozilla/firefox/*/cookies.sqlite", "~/nothing/*/x", "~/./a/../b//c/"],
	  "denyWrite": ["$WORKSPACE/.env", "$WORKSPACE/missing/deeper"]
	}, "env": {"set": {"P": "~/x:$WORKSPACE:${CACHE}/y:$TMPX:$OTHER", "Q": "~"}}}`)
	v := e.vars
	v.Workspace = link
	p, err := Load(LoadOptions{UserConfigDir: e.cfg, Vars: v})
	if err != nil {
		t.Fatal(err)
	}
	dr := p.Filesystem.DenyRead
	for _, want := range []string{h + "/.aws", real, h + "/.mozilla/firefox/a.default/cookies.sqlite", h + "/.mozilla/firefox/b.dev/cookies.sqlite", h + "/b/c"} {
		if !slices.Contains(dr, want) {
			t.Errorf("denyRead lacks %s", want)
		}
	}
	for _, d := range dr {
		if strings.Contains(d, "*") || strings.Contains(d, "nothing") || d != filepath.Clean(d) || !filepath.IsAbs(d) {
			t.Errorf("denyRead has unexpanded or unclean %q", d)
		}
	}
	// Both forms of the workspace, for allowWrite and for rules under it
	// that do not exist yet.
	ws := e.vars.Workspace
	if want := []string{link, ws, "/tmp", e.vars.Cache}; !slices.Equal(p.Filesystem.AllowWrite, want) {
		t.Errorf("allowWrite %v, want %v", p.Filesystem.AllowWrite, want)
	}
	if want := []string{link + "/.env", ws + "/.env", link + "/missing/deeper", ws + "/missing/deeper"}; !slices.Equal(p.Filesystem.DenyWrite, want) {
		t.Errorf("denyWrite %v, want %v", p.Filesystem.DenyWrite, want)
	}
	if got, want := p.Env.Set["P"], h+"/x:"+link+":"+e.vars.Cache+"/y:$TMPX:$OTHER"; got != want {
		t.Errorf("env P = %q, want %q", got, want)
	}
	if p.Env.Set["Q"] != h {
		t.Errorf("env Q = %q", p.Env.Set["Q"])
	}
	wantPrivate := []string{h + "/.cache/sbshim", h + "/.local/state/sbshim"}
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		wantPrivate[0] = filepath.Join(x, "sbshim")
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		wantPrivate[1] = filepath.Join(x, "sbshim")
	}
	if !reflect.DeepEqual(p.Vars, Vars{Home: h, Workspace: link, Tmp: "/tmp", Cache: e.vars.Cache, ConfigDir: e.cfg, PrivateDirs: wantPrivate}) {
		t.Errorf("vars %+v", p.Vars)
	}
	// The real path of a symlinked secret is denied too.
	if _, ok := p.CanRead(real + "/credentials"); ok {
		t.Error("real path of ~/.aws readable")
	}
}

func TestStarMatch(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true}, {"*", ".hidden", true}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "ac", true}, {"a*a", "a", false}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false},
		{"x", "x", true}, {"x", "y", false}, {"[a]*", "[a]b", true}, {"?*", "ab", false},
	}
	for _, tt := range tests {
		if got := starMatch(tt.pat, tt.name); got != tt.want {
			t.Errorf("starMatch(%q, %q) = %v", tt.pat, tt.name, got)
		}
	}
}
