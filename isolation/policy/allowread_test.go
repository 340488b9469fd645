package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// allowReadPolicy is privatePolicy with filesystem.allowRead entries:
// one file inside ~/.ssh, a folder inside the workspace's secrets, and
// entries that must lift nothing (/, ~, ~/.ssh itself, a path outside
// every denyRead entry, another server's cache, the audit logs).
func allowReadPolicy() *Policy {
	p := privatePolicy()
	p.Filesystem.DenyRead = append(p.Filesystem.DenyRead, "/home/u/proj/secrets/pub/private")
	p.Filesystem.AllowRead = []string{
		"/home/u/.ssh/known_hosts", "/home/u/proj/secrets/pub",
		"/", "/home/u", "/home/u/.ssh", "/etc/shadow", "/home/u/notes",
		"/home/u/.cache/sbshim/other", "/home/u/.local/state/sbshim/audit",
	}
	return p
}

func TestAllowRead(t *testing.T) {
	p := allowReadPolicy()
	for _, c := range []struct {
		path        string
		read, write bool
	}{
		{"/home/u/.ssh/known_hosts", true, false},
		{"/home/u/.ssh/known_hosts/x", true, false},
		{"/home/u/.ssh", true, false}, // the way to known_hosts: the mask shows nothing else
		{"/home/u/.ssh/id_rsa", false, false},
		{"/home/u/.ssh/known_hosts.old", false, false},
		{"/home/u/.ssh/config", false, false},
		{"/etc/shadow", false, false},
		{"/home/u/proj/secrets/pub/key.pem", true, false},
		{"/home/u/proj/secrets/pub/private/k", false, false},
		{"/home/u/proj/secrets/other", false, false},
		{"/home/u/.cache/sbshim/other/x", false, false},
		{"/home/u/.local/state/sbshim/audit/srv.jsonl", false, false},
		{"/home/u/notes", true, false},
		{"/home/u/proj/README", true, true},
	} {
		if _, ok := p.CanRead(c.path); ok != c.read {
			t.Errorf("CanRead(%s) = %v, want %v", c.path, ok, c.read)
		}
		if _, ok := p.CanWrite(c.path); ok != c.write {
			t.Errorf("CanWrite(%s) = %v, want %v", c.path, ok, c.write)
		}
	}
	want := []string{"/home/u/.ssh/known_hosts", "/home/u/proj/secrets/pub"}
	if got := p.ReadExemptions(); !slices.Equal(got, want) {
		t.Errorf("ReadExemptions = %v, want %v", got, want)
	}
	// Without allowRead, the same paths are what they were.
	q := privatePolicy()
	for _, path := range []string{"/home/u/.ssh", "/home/u/.ssh/known_hosts"} {
		if _, ok := q.CanRead(path); ok {
			t.Errorf("without allowRead, CanRead(%s) = true", path)
		}
	}
}

func TestAllowReadProfile(t *testing.T) {
	const src = "p.json"
	for _, c := range []struct{ in, want string }{
		{`{"filesystem":{"allowRead":["~/.ssh/*"]}}`, `key "filesystem.allowRead[0]": got "~/.ssh/*", expected an exact path (no *)`},
		{`{"filesystem":{"allowRead":["known_hosts"]}}`, `key "filesystem.allowRead[0]": got "known_hosts", a relative path`},
		{`{"filesystem":{"allowRead":"~/.ssh/known_hosts"}}`, `key "filesystem.allowRead": got "~/.ssh/known_hosts", expected a list of strings`},
	} {
		_, err := ParseProfile(src, []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ParseProfile(src, []byte(`{"filesystem":{"allowRead":["~/.ssh/known_hosts", "$WORKSPACE/secrets/pub"]}}`)); err != nil {
		t.Errorf("valid allowRead: %v", err)
	}
}

// TestLoadAllowReadExact: Load expands an allowRead entry's variables
// but never its symlink: known_hosts -> id_rsa must not make id_rsa
// readable.
func TestLoadAllowReadExact(t *testing.T) {
	home := t.TempDir()
	ssh := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ssh, "id_rsa"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("id_rsa", filepath.Join(ssh, "known_hosts")); err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	prof := filepath.Join(cfg, "p.json")
	if err := os.WriteFile(prof, []byte(`{"filesystem":{"allowRead":["~/.ssh/known_hosts"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(LoadOptions{Profile: prof, UserConfigDir: cfg, Vars: Vars{Home: home, Workspace: filepath.Join(home, "proj"), Cache: filepath.Join(home, ".cache/sbshim/s")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(ssh, "known_hosts")}; !slices.Equal(p.Filesystem.AllowRead, want) {
		t.Errorf("allowRead %v, want %v", p.Filesystem.AllowRead, want)
	}
	if _, ok := p.CanRead(filepath.Join(ssh, "id_rsa")); ok {
		t.Errorf("allowRead of a symlink to id_rsa makes id_rsa readable")
	}
}

// TestAllowReadProperty: for random allowRead lists, allowRead never
// changes what may be written, never lifts anything of a denyRead entry
// it equals or lies above, nor sbshim's private folders, and what it
// lifts lies within (or on the way to) one of its entries.
func TestAllowReadProperty(t *testing.T) {
	parts := []string{"/", "/home", "/home/u", "/home/u/.ssh", "/home/u/.ssh/known_hosts", "/home/u/.ssh/known_hosts/x",
		"/home/u/.ssh/id_rsa", "/home/u/proj", "/home/u/proj/secrets", "/home/u/proj/secrets/pub", "/home/u/proj/secrets/pub/private",
		"/home/u/proj/secrets/pub/private/k", "/etc/shadow", "/home/u/.cache/sbshim", "/home/u/.cache/sbshim/srv",
		"/home/u/.cache/sbshim/other", "/home/u/.cache/sbshim/other/x", "/home/u/.local/state/sbshim/audit", "/home/u/.sshx"}
	base := allowReadPolicy()
	base.Filesystem.AllowRead = nil
	for seed := range 2000 {
		p := allowReadPolicy()
		p.Filesystem.AllowRead = nil
		for i, s := 0, seed; i < 4; i, s = i+1, s/len(parts) {
			p.Filesystem.AllowRead = append(p.Filesystem.AllowRead, parts[(s+i*7)%len(parts)])
		}
		for _, path := range parts {
			if _, ok := p.CanWrite(path); ok != func() bool { _, ok := base.CanWrite(path); return ok }() {
				t.Fatalf("allowRead %v changes CanWrite(%s)", p.Filesystem.AllowRead, path)
			}
			_, was := base.CanRead(path)
			_, now := p.CanRead(path)
			if was && !now {
				t.Fatalf("allowRead %v hides %s", p.Filesystem.AllowRead, path)
			}
			if was || !now {
				continue
			}
			for _, e := range p.Filesystem.DenyRead {
				if !Within(path, e) {
					continue
				}
				if slices.Contains(p.Vars.PrivateDirs, e) && !p.privateCarveOut(path, e) {
					t.Fatalf("allowRead %v lifts %s out of sbshim's private %s", p.Filesystem.AllowRead, path, e)
				}
				lifted := false
				for _, a := range p.Filesystem.AllowRead {
					lifted = lifted || Inside(a, e) && (Within(path, a) || Within(a, path))
				}
				if !lifted && !p.privateCarveOut(path, e) {
					t.Fatalf("allowRead %v lifts %s out of %s, with no entry strictly inside it", p.Filesystem.AllowRead, path, e)
				}
			}
		}
	}
}
