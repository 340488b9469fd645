package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
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

// TestLearnAllowSecrets: the real server-filesystem, serving the home
// folder, cannot read ~/.ssh/known_hosts (blocked and reported); sbshim
// learn without --allow-secrets proposes nothing and says why; with
// --allow-secrets ~/.ssh/known_hosts --write it saves that file, and only
// it, as filesystem.allowRead; rerun with the profile, the read works
// with zero blocks, id_rsa stays refused, and learn proposes nothing new.
func TestLearnAllowSecrets(t *testing.T) {
	b := newBox(t)
	b.mkfile(".ssh/known_hosts", "github.com ssh-ed25519 AAAA\n")
	argv := serverArgv(t, "server-filesystem", b.home)
	const name = "fs-secrets"
	logPath := filepath.Join(b.root, "state", "sbshim", "audit", name+".jsonl")
	read := func(flags []string, rel string) (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cl := sdk.NewClient(&sdk.Implementation{Name: "sbshim-e2e", Version: "1"}, nil)
		cs := b.sdkSession(ctx, cl, flags, argv)
		defer cs.Close()
		text, isErr := sdkCall(t, ctx, cs, "read_text_file", map[string]any{"path": b.path(rel)})
		return text, !isErr
	}

	if text, ok := read([]string{"--name", name}, ".ssh/known_hosts"); ok {
		t.Fatalf("known_hosts readable under the default profile: %s", text)
	}
	recs := waitSessions(t, logPath, 1)
	if len(ofType(recs, "blocked")) == 0 {
		t.Fatal("the first session reported no blocked attempt")
	}
	out, errOut, code := b.learnCmd("--server", name)
	if code != 0 || strings.Contains(out, "\n+  ") || !strings.Contains(out, "unless --allow-secrets names it") {
		t.Fatalf("learn without --allow-secrets: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := b.learnCmd("--server", name, "--allow-secrets", "~"); code == 0 || !strings.Contains(errOut, "holds your home folder") {
		t.Fatalf("learn --allow-secrets ~: exit %d, %s", code, errOut)
	}
	out, errOut, code = b.learnCmd("--server", name, "--allow-secrets", "~/.ssh/known_hosts", "--write")
	t.Logf("sbshim learn --allow-secrets ~/.ssh/known_hosts --write:\n%s", out)
	if code != 0 || !strings.Contains(out, " filesystem.allowRead:\n+  ~/.ssh/known_hosts\n") {
		t.Fatalf("learn --allow-secrets --write: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "+  ") && !strings.HasPrefix(l, "+    ") && l != "+  ~/.ssh/known_hosts" {
			t.Errorf("learn proposes more than the file: %q\n%s", l, out)
		}
	}

	flags := []string{"--name", name, "--profile", name}
	if text, ok := read(flags, ".ssh/known_hosts"); !ok || !strings.Contains(text, "github.com ssh-ed25519 AAAA") {
		t.Fatalf("with the learned profile, read_text_file ~/.ssh/known_hosts: %v %s", ok, text)
	}
	recs = waitSessions(t, logPath, 2)
	if blocked := ofType(recs, "blocked"); len(blocked) != 0 {
		t.Fatalf("with the learned profile, still blocked: %v", blocked)
	}
	if text, ok := read(flags, ".ssh/id_rsa"); ok || strings.Contains(text, "SECRET") {
		t.Fatalf("with the learned profile, id_rsa is readable: %s", text)
	}
	waitSessions(t, logPath, 3)
	out, errOut, code = b.learnCmd("--server", name, "--allow-secrets", "~/.ssh/known_hosts")
	if code != 0 || !strings.Contains(out, "Nothing new to propose") || strings.Contains(out, "\n+  ") ||
		!strings.Contains(out, "~/.ssh/id_rsa") || !strings.Contains(out, "unless --allow-secrets names it") {
		t.Fatalf("learn with the profile in force: exit %d\n%s\n%s", code, out, errOut)
	}
}
