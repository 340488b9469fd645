package seatbelt

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// TestGenerateRefuses checks that Generate refuses, with an error naming
// the cause, what it cannot write safely, rather than drop a rule.
func TestGenerateRefuses(t *testing.T) {
	v := fakeVars()
	base := func() *policy.Policy {
		return &policy.Policy{Network: policy.NetworkPolicy{Mode: policy.NetNone}, Vars: v,
			Filesystem: policy.FilesystemPolicy{AllowWrite: []string{v.Workspace}}}
	}
	long := "/Users/u/" + strings.Repeat("x", maxString)
	for _, c := range []struct {
		name string
		edit func(p *policy.Policy, o *Options)
		want string
	}{
		{"no tag", func(p *policy.Policy, o *Options) { o.Tag = "" }, "session tag"},
		{"tag with a quote", func(p *policy.Policy, o *Options) { o.Tag = `a"b` }, "session tag"},
		{"tag with a #", func(p *policy.Policy, o *Options) { o.Tag = "a#1" }, "session tag"},
		{"proxy without port", func(p *policy.Policy, o *Options) { p.Network.Mode = policy.NetProxy }, "proxy's port"},
		{"proxy port too big", func(p *policy.Policy, o *Options) { p.Network.Mode = policy.NetProxy; o.ProxyPort = 70000 }, "proxy's port"},
		{"unknown mode", func(p *policy.Policy, o *Options) { p.Network.Mode = "bridge" }, "network.mode"},
		{"relative path", func(p *policy.Policy, o *Options) { p.Filesystem.DenyRead = []string{"secrets"} }, "not an absolute path"},
		{"newline in a path", func(p *policy.Policy, o *Options) { p.Filesystem.DenyWrite = []string{"/Users/u/a\nb"} }, "control byte"},
		{"NUL in a path", func(p *policy.Policy, o *Options) { p.Filesystem.DenyRead = []string{"/Users/u/a\x00b"} }, "control byte"},
		{"not UTF-8", func(p *policy.Policy, o *Options) { p.Filesystem.DenyRead = []string{"/Users/u/\xff"} }, "UTF-8"},
		{"control byte in a variable", func(p *policy.Policy, o *Options) { p.Vars.Home = "/Users/\tu" }, "control byte"},
		{"allowWrite too long", func(p *policy.Policy, o *Options) { p.Filesystem.AllowWrite = []string{long} }, "at most 1024"},
		{"allowRead too long", func(p *policy.Policy, o *Options) {
			p.Filesystem.DenyRead = []string{"/Users/u"}
			p.Filesystem.AllowRead = []string{long}
		}, "at most 1024"},
		{"unix socket too long", func(p *policy.Policy, o *Options) { p.Network.AllowUnixSockets = []string{long} }, "at most 1024"},
		{"terminal not a tty", func(p *policy.Policy, o *Options) { o.PTY, o.TTY = true, "/dev/disk0" }, "terminal"},
	} {
		p, o := base(), Options{Tag: testTag}
		c.edit(p, &o)
		prof, err := Generate(p, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Generate = %v, %v; want an error about %q", c.name, prof != nil, err, c.want)
		}
	}
	if _, err := Generate(nil, Options{Tag: testTag}); err == nil {
		t.Error("Generate(nil) gave no error")
	}
}

// TestOverTheLimit checks the paths too long for a Seatbelt string in
// deny rules: they become regexes of their start, which deny at least
// what the Policy denies (and may deny more), never less.
func TestOverTheLimit(t *testing.T) {
	v := fakeVars()
	v.Workspace = "/Users/u/" + strings.Repeat("w", maxString-len("/Users/u/")-20)
	deep := "/Users/u/" + strings.Repeat("d", maxString+100)
	p := &policy.Policy{Network: policy.NetworkPolicy{Mode: policy.NetNone}, Vars: v,
		Filesystem: policy.FilesystemPolicy{
			AllowWrite: []string{v.Workspace},
			DenyRead:   []string{deep, v.Workspace + "/" + strings.Repeat("s", 100)},
			DenyWrite:  []string{v.Workspace + "/" + strings.Repeat("k", 100)},
		}}
	prof, sp := generate(t, p, Options{})
	rng := rand.New(rand.NewPCG(3, 3))
	for _, path := range candidates(p, rng, 1000) {
		for _, op := range fileOps() {
			_, wantOK, skip := op.want(p, path)
			if skip || wantOK {
				continue
			}
			if got, msg := sp.decide(op.req(path)); got {
				t.Errorf("%s %s: the policy denies it, the profile allows it (%q)", op.name, path, ruleOf(prof, msg))
			}
		}
	}
}

// TestSpellings checks that a rule on a path under /tmp, /var or /etc
// holds for its /private twin (the path Seatbelt sees) and the other way
// round, also for a policy loaded where those are no symlinks.
func TestSpellings(t *testing.T) {
	p := loadBuiltin(t, "default")
	p.Filesystem.AllowWrite = append(p.Filesystem.AllowWrite, "/tmp/shared")
	p.Filesystem.DenyWrite = append(p.Filesystem.DenyWrite, "/private/tmp/shared/keep")
	prof, sp := generate(t, p, Options{})
	twin := func(s string) string {
		if isTwin(s) {
			return "/private" + s
		}
		return strings.TrimPrefix(s, "/private")
	}
	n := 0
	for _, e := range p.Filesystem.DenyRead {
		if !isTwin(e) && !strings.HasPrefix(e, "/private/") {
			continue
		}
		n++
		// Named as the Policy names the real path (Seatbelt sees no
		// other), else as it names e.
		rule, ok := p.CanRead(realPath(twin(e)))
		if ok {
			rule, _ = p.CanRead(e)
		}
		checkRequest(t, "read "+twin(e), prof, sp, request{op: "file-read-data", path: twin(e)}, rule, false)
	}
	if n == 0 {
		t.Fatal("the default profile names no path under /etc or /var: the test checks nothing")
	}
	checkRequest(t, "write /private/tmp/shared/x", prof, sp, request{op: "file-write-data", path: "/private/tmp/shared/x"}, "", true)
	checkRequest(t, "write /tmp/shared/keep", prof, sp, request{op: "file-write-data", path: "/tmp/shared/keep"}, "filesystem.denyWrite /private/tmp/shared/keep", false)
	tmp := p.Vars.Tmp
	checkRequest(t, "write $TMP's twin", prof, sp, request{op: "file-write-create", path: twin(tmp) + "/x"}, "", true)
}

// TestTerminal checks PTY mode: the terminal devices only then, and only
// the session's own terminal when the runtime names it.
func TestTerminal(t *testing.T) {
	p := loadBuiltin(t, "default")
	for _, c := range []struct {
		name string
		o    Options
		dev  map[string]bool
	}{
		{"stdio", Options{}, map[string]bool{"/dev/ttys004": false, "/dev/ttys005": false, "/dev/ptmx": false, "/dev/tty": false}},
		{"pty, terminal named", Options{PTY: true, TTY: "/dev/ttys004"}, map[string]bool{"/dev/ttys004": true, "/dev/ttys005": false, "/dev/ptmx": true, "/dev/tty": true}},
		{"pty, any terminal", Options{PTY: true}, map[string]bool{"/dev/ttys004": true, "/dev/ttys005": true, "/dev/ptmx": true, "/dev/tty": true, "/dev/ttys0x": false}},
	} {
		prof, sp := generate(t, p, c.o)
		for dev, want := range c.dev {
			for _, op := range []string{"file-write-data", "file-ioctl"} {
				got, _ := sp.decide(request{op: op, path: dev})
				if got != want {
					t.Errorf("%s: %s %s allowed=%v, want %v", c.name, op, dev, got, want)
				}
			}
			if got, _ := sp.decide(request{op: "file-write-unlink", path: dev}); got {
				t.Errorf("%s: removing %s allowed", c.name, dev)
			}
		}
		if got := strings.Contains(prof.Text, "(allow pseudo-tty)"); got != c.o.PTY {
			t.Errorf("%s: pseudo-tty allowed=%v", c.name, got)
		}
	}
}

// TestEveryDenyNamesARule checks that every deny of every golden profile
// carries a message that names one of its rules, and that every rule is
// named by a deny.
func TestEveryDenyNamesARule(t *testing.T) {
	for _, c := range goldenCases(t) {
		prof, sp := generate(t, c.p, c.o)
		used := make([]bool, len(prof.Rules))
		for _, r := range sp.rules {
			if r.allow {
				if r.message != "" {
					t.Errorf("%s: an allow carries a message", c.name)
				}
				continue
			}
			i, ok := RuleIndex(testTag, r.message)
			if !ok || i >= len(prof.Rules) {
				t.Errorf("%s: deny %v has message %q, which names no rule", c.name, r.ops, r.message)
				continue
			}
			used[i] = true
		}
		for i, u := range used {
			if !u {
				t.Errorf("%s: rule %d %q is named by no deny", c.name, i, prof.Rules[i])
			}
		}
		if !strings.HasPrefix(prof.Text, "(version 1)\n(deny default (with message \""+DenyMessage(testTag, 0)+"\"))\n") {
			t.Errorf("%s: the profile does not start with (version 1) and the tagged (deny default)", c.name)
		}
	}
}

// TestHardLinks checks that no hard link can be made, not even inside a
// writable tree: Seatbelt decides by the name a file is reached by, so a
// second name of a protected or hidden file would escape its rule.
func TestHardLinks(t *testing.T) {
	p := loadBuiltin(t, "default")
	prof, sp := generate(t, p, Options{})
	for _, dst := range []string{p.Vars.Workspace + "/x", p.Vars.Tmp + "/x", "/Users/u/x"} {
		checkRequest(t, "hard link at "+dst, prof, sp, request{op: "file-link", path: dst}, ruleHardLink, false)
	}
}

// TestOtherSpellings checks the paths that name a denied or protected
// file on a Mac without being spelled as the Policy spells it: in another
// case (APFS is case insensitive by default; the Kelvin sign folds to k),
// and through the data volume's firmlinks. The profile denies them too,
// naming the same rule, and still allows what the Policy allows.
func TestOtherSpellings(t *testing.T) {
	p := loadBuiltin(t, "default")
	prof, sp := generate(t, p, Options{})
	ws, tmp := p.Vars.Workspace, p.Vars.Tmp
	for _, c := range []struct {
		op, path, rule string
		ok             bool
	}{
		{"file-read-data", "/Users/u/.SSH/id_rsa", "filesystem.denyRead ~/.ssh", false},
		{"file-read-data", "/users/U/.Ssh/id_rsa", "filesystem.denyRead ~/.ssh", false},
		{"file-read-data", "/System/Volumes/Data/Users/u/.ssh/id_rsa", "filesystem.denyRead ~/.ssh", false},
		{"file-read-data", "/system/volumes/data/users/u/.aws/credentials", "filesystem.denyRead ~/.aws", false},
		{"file-read-data", "/Users/u/.\u212Aube/config", "filesystem.denyRead ~/.kube", false},
		{"file-read-data", "/System/Volumes/Data/private/etc/master.passwd", "filesystem.denyRead /private/etc/master.passwd", false},
		{"file-write-data", "/Users/u/proj/.GIT/hooks/pre-commit", "protected .git/hooks", false},
		{"file-write-create", "/System/Volumes/Data/Users/u/proj/.git/hooks/post-checkout", "protected .git/hooks", false},
		{"file-write-data", "/USERS/u/PROJ/.Vscode/settings.json", "protected .vscode", false},
		{"file-write-data", "/Users/u/proj/sub/.GIT/config", "protected **/.git/config", false},
		{"file-write-create", "/Users/u/proj/sub/.Git", "protected **/.git", false},
		{"file-write-create", "/Users/u/proj/sub/Head", "protected **/HEAD", false},
		{"file-write-create", "/Users/u/proj/.Git/HEAD", "", true},
		{"file-write-create", ws + "/src/main.go", "", true},
		{"file-write-create", tmp + "/.GIT", "protected .git", false},
		{"file-write-unlink", "/Users/u/proj/.GIT", "protected .git/hooks", false},
		{"file-write-data", "/Users/u/Library/Application Support/SBSHIM/config.json", "protected ~/Library/Application Support/sbshim", false},
	} {
		checkRequest(t, c.op+" "+c.path, prof, sp, request{op: c.op, path: c.path, dir: c.op == "file-write-unlink"}, c.rule, c.ok)
	}
}
