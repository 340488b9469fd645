package learn

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/shim/audit"
)

func TestGeneralise(t *testing.T) {
	pol := testPolicy(t, "")
	fsys := newFakeFS(
		"/srv/data/", "/srv/data/x.txt", "/srv/data/a", "/srv/data/b", "/srv/data/c",
		"/home/u/a", "/home/u/b", "/home/u/c", "/home/u/notes/",
		"/etc/a", "/etc/b", "/etc/c",
		"/srv/link -> /home/u/.ssh", "/srv/other/",
		"/home/u/.config/tool/", "/proc/self/", "/opt/tools/bin/", "/opt/tools/a", "/opt/tools/b", "/opt/tools/c",
		"/home/u/.config/autostart/", "/home/u/.local/bin/", "/home/u/.local/share/applications/",
		"/home/u/.ssh/known_hosts", "/home/u/.ssh/id_rsa", "/home/u/.ssh/keys/a", "/home/u/.ssh/keys/b", "/home/u/.ssh/keys/c",
		"/home/u/.ssh/kh -> /home/u/.ssh/id_rsa", "/home/u/.ssh/linked -> /home/u/.aws", "/home/u/.aws/config",
		"/home/u/.cache/sbshim/other/x",
	)
	r := func(target, deny string) *Attempt {
		return att("file", "read", target, "filesystem.denyRead "+deny, "read_file")
	}
	w := func(target string) *Attempt { return att("file", "write", target, notListed, "write_file") }
	c := func(target string) *Attempt { return att("file", "create", target, notListed, "write_file") }
	tests := []struct {
		name    string
		secrets []string
		in      []*Attempt
		grants  []string // KEY ENTRY
		refused []string // substrings of the reasons, in order
		allowed int
	}{
		{name: "a new file needs its folder", in: []*Attempt{c("/srv/data/new.txt")},
			grants: []string{"filesystem.allowWrite /srv/data"}},
		{name: "an existing file is granted alone", in: []*Attempt{w("/srv/data/x.txt")},
			grants: []string{"filesystem.allowWrite /srv/data/x.txt"}},
		{name: "two siblings stay files", in: []*Attempt{w("/srv/data/a"), w("/srv/data/b")},
			grants: []string{"filesystem.allowWrite /srv/data/a", "filesystem.allowWrite /srv/data/b"}},
		{name: "three siblings make their folder", in: []*Attempt{w("/srv/data/a"), w("/srv/data/b"), w("/srv/data/c")},
			grants: []string{"filesystem.allowWrite /srv/data"}},
		{name: "a folder grant covers the files in it", in: []*Attempt{w("/srv/data/x.txt"), c("/srv/data/new")},
			grants: []string{"filesystem.allowWrite /srv/data"}},
		{name: "never the home folder, however many siblings", in: []*Attempt{w("/home/u/a"), w("/home/u/b"), w("/home/u/c")},
			grants: []string{"filesystem.allowWrite ~/a", "filesystem.allowWrite ~/b", "filesystem.allowWrite ~/c"}},
		{name: "a new file in the home folder is refused", in: []*Attempt{c("/home/u/new")},
			refused: []string{"your home folder"}},
		{name: "a new tree at the top climbs to / and is refused", in: []*Attempt{c("/newtop/x/y")},
			refused: []string{"/, the whole host"}},
		{name: "a new file above the home folder", in: []*Attempt{c("/home/v")},
			refused: []string{"above your home folder"}},
		{name: "a folder holding secrets stays files", in: []*Attempt{w("/etc/a"), w("/etc/b"), w("/etc/c")},
			grants: []string{"filesystem.allowWrite /etc/a", "filesystem.allowWrite /etc/b", "filesystem.allowWrite /etc/c"}},
		{name: "a new file in ~/.config: the folder holds secrets", in: []*Attempt{c("/home/u/.config/new")},
			refused: []string{"holds the secret location"}},
		{name: "a new file in a folder of ~/.config", in: []*Attempt{c("/home/u/.config/tool/new")},
			grants: []string{"filesystem.allowWrite ~/.config/tool"}},
		{name: "a star in the target", in: []*Attempt{c("/srv/data/*")}, refused: []string{"pattern"}},
		{name: "a variable in the target", in: []*Attempt{c("/srv/data/$HOME")}, refused: []string{"pattern or variable"}},
		{name: "dot-dot in the target", in: []*Attempt{c("/srv/data/../../home/u/x")}, refused: []string{"not a clean path"}},
		{name: "a relative target", in: []*Attempt{c("srv/data/x")}, refused: []string{"not an absolute path"}},
		{name: "a control character", in: []*Attempt{c("/srv/data/a\nb")}, refused: []string{"control"}},
		{name: "not UTF-8", in: []*Attempt{c("/srv/data/\xff")}, refused: []string{"UTF-8"}},
		{name: "a symlink target", in: []*Attempt{w("/srv/link")}, refused: []string{"a symlink"}},
		{name: "through a symlinked folder", in: []*Attempt{c("/srv/link/new")}, refused: []string{"is not a folder"}},
		{name: "protected by the log's rule", in: []*Attempt{att("file", "write", "/srv/data/x.txt", "protected .bashrc", "t")},
			refused: []string{"protected path"}},
		{name: "protected in force", in: []*Attempt{w("/home/u/proj/.git/hooks/pre-commit")},
			refused: []string{"protected path"}},
		{name: "a write under a secret location", in: []*Attempt{w("/home/u/.kube/config")},
			refused: []string{"secret location", "unless --allow-secrets"}},
		{name: "a secret read without --allow-secrets", in: []*Attempt{r("/home/u/.ssh/known_hosts", "~/.ssh")},
			refused: []string{"never proposed unless --allow-secrets names it"}},
		{name: "a secret read that --allow-secrets names: the file", secrets: []string{"/home/u/.ssh/known_hosts"},
			in: []*Attempt{r("/home/u/.ssh/known_hosts", "~/.ssh")}, grants: []string{"filesystem.allowRead ~/.ssh/known_hosts"}},
		{name: "--allow-secrets names the location: still the file, not the location", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{r("/home/u/.ssh/known_hosts", "~/.ssh")}, grants: []string{"filesystem.allowRead ~/.ssh/known_hosts"}},
		{name: "--allow-secrets names another file", secrets: []string{"/home/u/.ssh/known_hosts"},
			in: []*Attempt{r("/home/u/.ssh/id_rsa", "~/.ssh")}, refused: []string{"never proposed unless --allow-secrets names it"}},
		{name: "three siblings make their folder inside the location", secrets: []string{"/home/u/.ssh"},
			in:     []*Attempt{r("/home/u/.ssh/keys/a", "~/.ssh"), r("/home/u/.ssh/keys/b", "~/.ssh"), r("/home/u/.ssh/keys/c", "~/.ssh")},
			grants: []string{"filesystem.allowRead ~/.ssh/keys"}},
		{name: "three siblings never make the location itself", secrets: []string{"/home/u/.ssh"},
			in:     []*Attempt{r("/home/u/.ssh/known_hosts", "~/.ssh"), r("/home/u/.ssh/id_rsa", "~/.ssh"), r("/home/u/.ssh/keys", "~/.ssh")},
			grants: []string{"filesystem.allowRead ~/.ssh/id_rsa", "filesystem.allowRead ~/.ssh/keys", "filesystem.allowRead ~/.ssh/known_hosts"}},
		{name: "a read of the location itself", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{r("/home/u/.ssh", "~/.ssh")}, refused: []string{"itself: filesystem.allowRead lifts only what lies strictly inside"}},
		{name: "a symlink in the location", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{r("/home/u/.ssh/kh", "~/.ssh")}, refused: []string{"a symlink"}},
		{name: "through a symlinked folder in the location", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{r("/home/u/.ssh/linked/config", "~/.ssh")}, refused: []string{"symlink"}},
		{name: "a secret that does not exist", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{r("/home/u/.ssh/gone", "~/.ssh")}, refused: []string{"does not exist"}},
		{name: "a write under a named secret stays refused", secrets: []string{"/home/u/.ssh"},
			in: []*Attempt{att("file", "write", "/home/u/.ssh/known_hosts", "filesystem.denyRead ~/.ssh", "t")}, refused: []string{"it stays read-only"}},
		{name: "another server's cache", secrets: []string{"/home/u/.cache/sbshim"},
			in: []*Attempt{r("/home/u/.cache/sbshim/other/x", "~/.cache/sbshim")}, refused: []string{"private state"}},
		{name: "the log lies about the rule: the policy decides", in: []*Attempt{att("file", "write", "/home/u/.aws/credentials", notListed, "t")},
			refused: []string{"secret location"}},
		{name: "a write the policy allows now", in: []*Attempt{w("/home/u/proj/x")}, allowed: 1},
		{name: "in /tmp", in: []*Attempt{att("file", "read", "/tmp/x", "private /tmp: the sandbox has its own /tmp", "t")}, refused: []string{"/tmp"}},
		{name: "in /proc", in: []*Attempt{c("/proc/self/x")}, refused: []string{"kernel or runtime"}},
		{name: "sbshim's config", in: []*Attempt{c("/home/u/.config/sbshim/profiles/x.json")}, refused: []string{"protected"}},
		{name: "a folder on PATH", in: []*Attempt{c("/opt/tools/bin/ls")}, refused: []string{"outside the sandbox"}},
		{name: "a folder holding one on PATH", in: []*Attempt{w("/opt/tools/a"), w("/opt/tools/b"), w("/opt/tools/c")},
			grants: []string{"filesystem.allowWrite /opt/tools/a", "filesystem.allowWrite /opt/tools/b", "filesystem.allowWrite /opt/tools/c"}},
		{name: "an autostart folder", in: []*Attempt{c("/home/u/.config/autostart/evil.desktop")}, refused: []string{"protected"}},
		{name: "a launcher folder", in: []*Attempt{c("/home/u/.local/share/applications/evil.desktop")}, refused: []string{"outside the sandbox"}},
		{name: "~/.local/bin", in: []*Attempt{c("/home/u/.local/bin/git")}, refused: []string{"outside the sandbox"}},
		{name: "a seccomp refusal", in: []*Attempt{att("syscall", "ptrace", "", "seccomp", "t")}, refused: []string{"seccomp"}},

		{name: "a host exactly", in: []*Attempt{att("net", "connect", "api.example.com:443", netNotListed, "fetch")},
			grants: []string{"network.allow api.example.com:443"}},
		{name: "two subdomains stay exact", in: []*Attempt{att("net", "connect", "a.example.com:443", netNotListed, "f"), att("net", "connect", "b.example.com:443", netNotListed, "f")},
			grants: []string{"network.allow a.example.com:443", "network.allow b.example.com:443"}},
		{name: "three subdomains make a wildcard", in: []*Attempt{
			att("net", "connect", "a.example.com:443", netNotListed, "f"), att("net", "connect", "b.example.com:443", netNotListed, "f"), att("net", "connect", "c.example.com:443", netNotListed, "f")},
			grants: []string{"network.allow *.example.com:443"}},
		{name: "no wildcard over a country's second level", in: []*Attempt{
			att("net", "connect", "a.co.uk:443", netNotListed, "f"), att("net", "connect", "b.co.uk:443", netNotListed, "f"), att("net", "connect", "c.co.uk:443", netNotListed, "f")},
			grants: []string{"network.allow a.co.uk:443", "network.allow b.co.uk:443", "network.allow c.co.uk:443"}},
		{name: "no wildcard over shared hosting", in: []*Attempt{
			att("net", "connect", "a.github.io:443", netNotListed, "f"), att("net", "connect", "b.github.io:443", netNotListed, "f"), att("net", "connect", "c.github.io:443", netNotListed, "f")},
			grants: []string{"network.allow a.github.io:443", "network.allow b.github.io:443", "network.allow c.github.io:443"}},
		{name: "no wildcard over a top-level domain", in: []*Attempt{
			att("net", "connect", "a.com:443", netNotListed, "f"), att("net", "connect", "b.com:443", netNotListed, "f"), att("net", "connect", "c.com:443", netNotListed, "f")},
			grants: []string{"network.allow a.com:443", "network.allow b.com:443", "network.allow c.com:443"}},
		{name: "a public address", in: []*Attempt{att("net", "connect", "93.184.216.34:80", netNotListed, "f")},
			grants: []string{"network.allow 93.184.216.34:80"}},
		{name: "a private address", in: []*Attempt{att("net", "connect", "10.0.0.5:80", netNotListed, "f")}, refused: []string{"private address"}},
		{name: "loopback", in: []*Attempt{att("net", "connect", "[::1]:80", netNotListed, "f")}, refused: []string{"loopback address"}},
		{name: "a host with a newline", in: []*Attempt{att("net", "connect", "a.com\n+  evil.com:443", netNotListed, "f")}, refused: []string{"not a valid host"}},
		{name: "a host with a path", in: []*Attempt{att("net", "connect", "a.com/x:443", netNotListed, "f")}, refused: []string{"host"}},
		{name: "a deny rule", in: []*Attempt{att("net", "connect", "evil.com:443", "network.deny evil.com", "f")}, refused: []string{"on purpose"}},
		{name: "rebinding guard", in: []*Attempt{att("net", "connect", "intranet.example.com:443", "rebinding guard: resolves to 10.0.0.1", "f")}, refused: []string{"private, loopback"}},
		{name: "a unix socket", in: []*Attempt{att("net", "connect", "/run/docker.sock", "network.allowUnixSockets (not listed)", "f")}, refused: []string{"unix socket"}},
		{name: "a direct connection", in: []*Attempt{att("net", "connect", "1.2.3.4:443", "direct connections go through the proxy", "f")}, refused: []string{"no network.allow entry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Generalise(Config{Policy: pol, AllowSecrets: tc.secrets, FS: fsys, CodeDirs: CodeDirs("/usr/bin:/opt/tools/bin:relative", tHome)}, &Attempts{List: tc.in})
			var got []string
			for _, g := range p.Grants {
				got = append(got, g.Key+" "+g.Entry)
			}
			if !slices.Equal(got, tc.grants) {
				t.Errorf("grants %q, want %q", got, tc.grants)
			}
			var reasons []string
			for _, r := range p.Refused {
				reasons = append(reasons, r.Reason)
			}
			if len(reasons) != len(tc.refused) && !(len(tc.refused) > 0 && len(reasons) == 1) {
				t.Errorf("refused %q, want %q", reasons, tc.refused)
			}
			for _, want := range tc.refused {
				if !strings.Contains(strings.Join(reasons, "|"), want) {
					t.Errorf("refusals %q do not say %q", reasons, want)
				}
			}
			if p.Allowed != tc.allowed {
				t.Errorf("allowed %d, want %d", p.Allowed, tc.allowed)
			}
		})
	}
}

// TestRenderEscapes: what the server chose (tool names, targets) cannot
// forge lines of the diff or reach the terminal raw.
func TestRenderEscapes(t *testing.T) {
	pol := testPolicy(t, "")
	a := att("file", "create", "/srv/data/new", notListed, "t\n+  /\x1b[2J")
	b := att("net", "connect", "evil.com:443", "network.deny x\n+  *.com", "t")
	p := Generalise(Config{Policy: pol, FS: newFakeFS("/srv/data/")}, Collect2(a, b))
	var out strings.Builder
	if err := Render(&out, p, Lists{AllowWrite: []string{"$WORKSPACE"}}, tHome, nil); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, bad := range []string{"\x1b", "\n+  /\n", "\n+  *.com"} {
		if strings.Contains(s, bad) {
			t.Errorf("output holds %q:\n%s", bad, s)
		}
	}
	var added []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "+  ") && !strings.HasPrefix(l, "+    #") {
			added = append(added, l)
		}
	}
	if fmt.Sprint(added) != "[+  /srv/data]" {
		t.Errorf("added lines %q, want only /srv/data:\n%s", added, s)
	}
}

// Collect2 wraps attempts as Collect's result.
func Collect2(as ...*Attempt) *Attempts { return &Attempts{List: as} }

// TestCollectBounds: a hostile log cannot make learn keep or print
// unbounded text, nor use a cut target.
func TestCollectBounds(t *testing.T) {
	long := "/srv/" + strings.Repeat("a", 10000)
	recs := []audit.Record{
		{Type: audit.TypeBlocked, Kind: "file", Op: "create", Target: long, Rule: notListed, Tool: audit.Tools{strings.Repeat("t", 5000)}, TS: t0},
	}
	for i := range 20 {
		recs = append(recs, audit.Record{Type: audit.TypeBlocked, Kind: "file", Op: "write", Target: "/srv/x", Rule: notListed, Tool: audit.Tools{fmt.Sprint("tool", i)}, TS: t0})
	}
	at := Collect(recs)
	if len(at.List) != 2 || len(at.List[0].Target) != MaxTargetLen+1 || len(at.List[1].Tools) > maxToolsKept+1 {
		t.Fatalf("collected %d attempts, target %d bytes, %d tools", len(at.List), len(at.List[0].Target), len(at.List[1].Tools))
	}
	p := Generalise(Config{Policy: testPolicy(t, ""), FS: newFakeFS("/srv/x")}, at)
	var out strings.Builder
	Render(&out, p, Lists{}, tHome, nil)
	if len(p.Grants) != 1 || p.Grants[0].Entry != "/srv/x" || !strings.Contains(out.String(), "longer than") {
		t.Fatalf("grants %+v\n%s", p.Grants, out.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if len(l) > 2000 {
			t.Fatalf("a line of %d bytes", len(l))
		}
	}
}
