package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowReadProfile writes a profile file holding filesystem.allowRead
// entries and returns the --profile flag naming it.
func (b *box) allowReadProfile(entries ...string) []string {
	b.t.Helper()
	quoted := make([]string, len(entries))
	for i, e := range entries {
		quoted[i] = `"` + e + `"`
	}
	p := filepath.Join(b.root, "allowread.json")
	body := `{"filesystem": {"allowRead": [` + strings.Join(quoted, ", ") + `]}}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		b.t.Fatal(err)
	}
	return []string{"--profile", p}
}

// TestAllowReadLiftsOneSecret: filesystem.allowRead ~/.ssh/known_hosts
// makes that file, and only it, readable inside ~/.ssh, which the
// default denyRead hides; the rest of ~/.ssh is still refused (EACCES)
// and reported, and the file stays read-only.
func TestAllowReadLiftsOneSecret(t *testing.T) {
	b := newBox(t)
	b.mkfile(".ssh/known_hosts", "github.com ssh-ed25519 AAAA\n")
	flags := b.allowReadProfile("~/.ssh/known_hosts")
	if o := b.mustWork(flags, "read", b.path(".ssh/known_hosts")); o.Detail != "github.com ssh-ed25519 AAAA\n" {
		t.Fatalf("read ~/.ssh/known_hosts: %q", o.Detail)
	}
	stdout, stderr, code := b.run(flags, filepath.Join(binDir, "attempt"), "read", b.path(".ssh/id_rsa"))
	if code != 0 || !strings.Contains(stdout, `"errno":"EACCES"`) || strings.Contains(stdout, "SECRET") {
		t.Fatalf("read ~/.ssh/id_rsa with allowRead known_hosts: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "blocked read "+b.path(".ssh/id_rsa")) || !strings.Contains(stderr, "filesystem.denyRead ~/.ssh") {
		t.Fatalf("the refused read of ~/.ssh/id_rsa is not reported: stderr %q", stderr)
	}
	if o := b.attempt(flags, "list", b.path(".ssh")); strings.Contains(o.Detail, "id_rsa") {
		t.Fatalf("listing ~/.ssh shows id_rsa: %+v", o)
	}
	for _, action := range [][]string{{"write", b.path(".ssh/known_hosts"), "x"}, {"append", b.path(".ssh/known_hosts"), "x"}} {
		b.mustFail(append(flags, "--allow-write", b.path(".ssh")), "", action...)
	}
	if got, _ := os.ReadFile(b.path(".ssh/known_hosts")); string(got) != "github.com ssh-ed25519 AAAA\n" {
		t.Fatalf("known_hosts changed from inside the sandbox: %q", got)
	}
	// Nested, the inner sbshim has no namespaces: its Landlock rules
	// alone must let known_hosts, and only it, through.
	sb := filepath.Join(binDir, "sbshim")
	inner := func(rel string) string {
		argv := append(append([]string{sb}, flags...), "--", filepath.Join(binDir, "attempt"), "read", b.path(rel))
		stdout, stderr, code := b.run(flags, argv...)
		if code != 0 {
			t.Fatalf("nested read %s: exit %d, stdout %q, stderr %q", rel, code, stdout, stderr)
		}
		return stdout
	}
	if out := inner(".ssh/known_hosts"); !strings.Contains(out, `"ok":true`) {
		t.Fatalf("nested read of ~/.ssh/known_hosts: %s", out)
	}
	if out := inner(".ssh/id_rsa"); !strings.Contains(out, `"ok":false`) || strings.Contains(out, "SECRET") {
		t.Fatalf("nested read of ~/.ssh/id_rsa: %s", out)
	}
}

// TestAllowReadOutsideASecretChangesNothing: an allowRead entry equal
// to or above a denyRead entry ("/", "~", "~/.ssh"), or outside every
// one, lifts nothing.
func TestAllowReadOutsideASecretChangesNothing(t *testing.T) {
	b := newBox(t)
	flags := b.allowReadProfile("/", "~", "~/.ssh", "~/.aws", "~/proj")
	for _, rel := range []string{".ssh/id_rsa", ".aws/credentials"} {
		o := b.attempt(flags, "read", b.path(rel))
		if o.OK || o.Errno != "EACCES" || strings.Contains(o.Detail, "SECRET") {
			t.Fatalf("read %s with allowRead /, ~ and its folder: %+v", rel, o)
		}
	}
}

// TestAllowReadFollowsNoSymlink: an allowRead entry that is a symlink,
// or has one on its way, would show what it points to: the sandbox
// refuses to start instead, saying why, and nothing leaks.
func TestAllowReadFollowsNoSymlink(t *testing.T) {
	for name, tc := range map[string]struct {
		link, target, entry string
	}{
		"file":   {".ssh/known_hosts", "id_rsa", "~/.ssh/known_hosts"},
		"folder": {".ssh/keys", "../.aws", "~/.ssh/keys/credentials"},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBox(t)
			if err := os.Symlink(tc.target, b.path(tc.link)); err != nil {
				t.Fatal(err)
			}
			flags := b.allowReadProfile(tc.entry)
			read := b.path(strings.TrimPrefix(tc.entry, "~/"))
			stdout, stderr, code := b.run(flags, filepath.Join(binDir, "attempt"), "read", read)
			if strings.Contains(stdout, "SECRET") || strings.Contains(stderr, "SECRET") {
				t.Fatalf("allowRead through a symlink leaked the secret: stdout %q, stderr %q", stdout, stderr)
			}
			if code != 125 || !strings.Contains(stderr, "is a symlink or has one on its way") {
				t.Fatalf("allowRead through a symlink: exit %d, stdout %q, stderr %q; want a refusal to start", code, stdout, stderr)
			}
		})
	}
}
