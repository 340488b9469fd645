package seatbelt

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// runPolicy is a hand-built policy: home /home/u, workspace /home/u/proj.
// It is the same as the policy package's test fixture matchPolicy.
func runPolicy() *policy.Policy {
	return &policy.Policy{
		Filesystem: policy.FilesystemPolicy{
			DenyRead:   []string{"/home/u/.ssh", "/home/u/proj/secrets", "/etc/shadow"},
			AllowWrite: []string{"/home/u/proj", "/tmp", "/home/u/.cache/sbshim/srv"},
			DenyWrite:  []string{"/home/u/proj/.env", "/home/u/proj/vendor/lock"},
		},
		Network: policy.NetworkPolicy{AllowUnixSockets: []string{"/run/user/1/app.sock", "/home/u/proj/sockets"}},
		Vars: policy.Vars{
			Home: "/home/u", Workspace: "/home/u/proj", Tmp: "/tmp",
			Cache: "/home/u/.cache/sbshim/srv", ConfigDir: "/home/u/.config/sbshim",
		},
	}
}

// The private $TMP of a session without a mount namespace: a fresh
// folder of its own, made 0700 by the backend and never reused.
func TestPrivateTmpSessionDir(t *testing.T) {
	base := t.TempDir()
	tmp, err := PrivateTmp(base)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tmp) != "tmp" || filepath.Dir(filepath.Dir(tmp)) != base {
		t.Fatalf("PrivateTmp(%q) = %q", base, tmp)
	}
	if other, _ := PrivateTmp(base); other == tmp {
		t.Fatalf("two sessions share %q", tmp)
	}
	dir, err := makeSessionDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, tmp} {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 folder", p, fi.Mode(), err)
		}
	}
	if _, err := makeSessionDir(tmp); err == nil {
		t.Error("a session folder that exists already was reused")
	}
	profile, err := writeProfile(dir, "(version 1)")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(profile) != dir {
		t.Errorf("profile %s: %v %v, want 0600 in %s", profile, fi.Mode(), err, dir)
	}
	if _, err := writeProfile(dir, "(version 1)"); err == nil {
		t.Error("an existing profile file was overwritten")
	}
	// A planted folder is refused, not taken over.
	planted, _ := PrivateTmp(base)
	if err := os.MkdirAll(filepath.Dir(planted), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := makeSessionDir(planted); err == nil {
		t.Error("a planted session folder was taken over")
	}
	if _, err := PrivateTmp("relative"); err == nil {
		t.Error("a relative base was accepted")
	}
}

// Only a $TMP that PrivateTmp made is a session's own: the host's /tmp,
// or any other folder, would be shared with the rest of the host.
func TestSessionDirRefusesShared(t *testing.T) {
	for _, tmp := range []string{
		"/tmp", "/private/tmp", "/tmp/sbshim-0123456789abcdef", "/tmp/x/tmp",
		"/tmp/sbshim-0123/tmp", "/tmp/sbshim-0123456789abcdeg/tmp", "tmp/sbshim-0123456789abcdef/tmp",
		"/tmp/sbshim-0123456789abcdef/tmp/", "/tmp/sbshim-0123456789abcdef/../tmp",
	} {
		if dir, err := sessionDir(tmp); err == nil {
			t.Errorf("sessionDir(%q) = %q, want an error", tmp, dir)
		}
	}
	if dir, err := sessionDir("/var/folders/x/T/sbshim-0123456789abcdef/tmp"); err != nil || dir != "/var/folders/x/T/sbshim-0123456789abcdef" {
		t.Errorf("sessionDir = %q, %v", dir, err)
	}
}

// Without a mount namespace the user's temporary folder is the host's:
// the profile hides it but for this session's $TMP (and any other
// allowWrite tree in it), so that no session reads another's $TMP or
// other programs' temporary files. An odd $TMPDIR that holds the home,
// the workspace or the working directory is left visible, with a reason.
func TestHideTempFolder(t *testing.T) {
	base := "/private/var/folders/xx/T"
	session := base + "/sbshim-0123456789abcdef"
	own := session + "/tmp"
	pol := runPolicy()
	pol.Vars.Tmp = own
	pol.Filesystem.AllowWrite = []string{"/home/u/proj", own, base + "/shared-build"}
	before := slices.Clone(pol.Filesystem.DenyRead)
	hidden, why := hideTempFolder(pol, session, "/home/u/proj")
	if why != "" {
		t.Fatalf("not hidden: %s", why)
	}
	for path, want := range map[string]bool{
		own + "/x.json":                   true,
		own:                               true,
		session:                           true, // on the way to $TMP
		base:                              true, // idem
		base + "/shared-build/out":        true, // another allowWrite tree
		base + "/sbshim-aaaaaaaaaaaaaaaa": false,
		base + "/sbshim-aaaaaaaaaaaaaaaa/tmp/secret": false,
		session + "/profile.sb":                      false,
		base + "/com.apple.x/cache.db":               false,
		"/home/u/proj/a":                             true,
		"/home/u/.ssh/id_rsa":                        false,
	} {
		if _, ok := hidden.CanRead(path); ok != want {
			t.Errorf("CanRead(%s) = %v, want %v", path, ok, want)
		}
	}
	if !slices.Equal(pol.Filesystem.DenyRead, before) || slices.Contains(pol.Vars.PrivateDirs, base) {
		t.Error("the session's own policy was changed")
	}
	hidden.Network.Mode = policy.NetNone
	prof, err := Generate(hidden, Options{Tag: "sbshim-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(prof.Rules, "filesystem.denyRead "+base) {
		t.Errorf("no profile rule hides %s: %q", base, prof.Rules)
	}

	for _, tt := range []struct{ home, ws, wd, session string }{
		{"/private/var/folders/xx/T/home", "/w", "/w", session},
		{"/home/u", "/private/var/folders/xx/T/proj", "/w", session},
		{"/home/u", "/w", "/private/var/folders/xx/T/run", session},
		{"/home/u", "/w", "/w", "/sbshim-0123456789abcdef"},
	} {
		p := runPolicy()
		p.Vars.Home, p.Vars.Workspace = tt.home, tt.ws
		got, why := hideTempFolder(p, tt.session, tt.wd)
		if got != p || why == "" {
			t.Errorf("%+v: hidden (%q), want left visible with a reason", tt, why)
		}
	}
}
