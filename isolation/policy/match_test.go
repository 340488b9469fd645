package policy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// matchPolicy is a hand-built policy: home /home/u, workspace /home/u/proj.
func matchPolicy() *Policy {
	return &Policy{
		Filesystem: FilesystemPolicy{
			DenyRead:   []string{"/home/u/.ssh", "/home/u/proj/secrets", "/etc/shadow"},
			AllowWrite: []string{"/home/u/proj", "/tmp", "/home/u/.cache/sbshim/srv"},
			DenyWrite:  []string{"/home/u/proj/.env", "/home/u/proj/vendor/lock"},
		},
		Network: NetworkPolicy{AllowUnixSockets: []string{"/run/user/1/app.sock", "/home/u/proj/sockets"}},
		Vars: Vars{
			Home: "/home/u", Workspace: "/home/u/proj", Tmp: "/tmp",
			Cache: "/home/u/.cache/sbshim/srv", ConfigDir: "/home/u/.config/sbshim",
		},
	}
}

func TestCanRead(t *testing.T) {
	p := matchPolicy()
	tests := []struct {
		path, rule string
		ok         bool
	}{
		{"/home/u/.ssh", "filesystem.denyRead ~/.ssh", false},
		{"/home/u/.ssh/id_rsa", "filesystem.denyRead ~/.ssh", false},
		{"/home/u/.ssh/", "filesystem.denyRead ~/.ssh", false},
		{"/home/u/./.ssh/../.ssh/config", "filesystem.denyRead ~/.ssh", false},
		{"/home/u/.sshd", "", true},
		{"/home/u/.ss", "", true},
		{"/home/u", "", true},
		{"/home/u/proj/secrets/k", "filesystem.denyRead $WORKSPACE/secrets", false},
		{"/home/u/proj/secrets.txt", "", true},
		{"/etc/shadow", "filesystem.denyRead /etc/shadow", false},
		{"/etc/shadow-", "", true},
		{"/", "", true},
		{"relative/.ssh", "path is not absolute", false},
		{"", "path is not absolute", false},
	}
	for _, tt := range tests {
		rule, ok := p.CanRead(tt.path)
		if rule != tt.rule || ok != tt.ok {
			t.Errorf("CanRead(%q) = %q, %v; want %q, %v", tt.path, rule, ok, tt.rule, tt.ok)
		}
	}
}

func TestCanWrite(t *testing.T) {
	p := matchPolicy()
	tests := []struct {
		path, rule string
		ok         bool
	}{
		{"/home/u/proj/main.go", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/project/x", "filesystem.allowWrite (not listed)", false},
		{"/home/u/pro", "filesystem.allowWrite (not listed)", false},
		{"/home/u/x", "filesystem.allowWrite (not listed)", false},
		{"/tmp/a/b", "filesystem.allowWrite $TMP", true},
		{"/tmpfoo", "filesystem.allowWrite (not listed)", false},
		{"/home/u/.cache/sbshim/srv/npm/x", "filesystem.allowWrite $CACHE", true},
		{"/home/u/proj/.env", "filesystem.denyWrite $WORKSPACE/.env", false},
		{"/home/u/proj/.envrc", "protected .envrc", false},
		{"/home/u/proj/.env.local", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj/vendor/lock/x", "filesystem.denyWrite $WORKSPACE/vendor/lock", false},
		{"/home/u/proj/.git/hooks/pre-commit", "protected .git/hooks", false},
		{"/home/u/proj/.git/hooks", "protected .git/hooks", false},
		{"/home/u/proj/.git/hooksx", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj/.git/config", "protected .git/config", false},
		{"/home/u/proj/.git/config.lock", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj/.git/objects/ab/cd", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj/.git", "filesystem.allowWrite $WORKSPACE", true},
		{"/home/u/proj/.mcp.json", "protected .mcp.json", false},
		{"/home/u/proj/.vscode/settings.json", "protected .vscode", false},
		{"/home/u/proj/.claude/settings.local.json", "protected .claude", false},
		{"/home/u/proj/.bashrc", "protected .bashrc", false},
		{"/home/u/proj/sub/.mcp.json", "filesystem.allowWrite $WORKSPACE", true},
		{"/tmp/.bashrc", "protected .bashrc", false},
		{"/home/u/proj/secrets/new", "filesystem.denyRead $WORKSPACE/secrets", false},
		{"/home/u/.config/sbshim/config.json", "protected ~/.config/sbshim", false},
		{"/home/u/.bashrc", "protected .bashrc", false},
		{"/home/u/.ssh/authorized_keys", "protected .ssh", false},
		{"rel", "path is not absolute", false},
	}
	for _, tt := range tests {
		rule, ok := p.CanWrite(tt.path)
		if rule != tt.rule || ok != tt.ok {
			t.Errorf("CanWrite(%q) = %q, %v; want %q, %v", tt.path, rule, ok, tt.rule, tt.ok)
		}
	}
}

func TestCanWriteConfigDirInsideWorkspace(t *testing.T) {
	p := matchPolicy()
	p.Vars.ConfigDir = "/home/u/proj/cfg"
	if rule, ok := p.CanWrite("/home/u/proj/cfg/profiles/x.json"); ok || rule != "protected $WORKSPACE/cfg" {
		t.Errorf("got %q %v", rule, ok)
	}
}

func TestCanWriteRootAllowed(t *testing.T) {
	p := &Policy{Filesystem: FilesystemPolicy{AllowWrite: []string{"/"}, DenyRead: []string{"/secret"}}, Vars: Vars{Home: "/h"}}
	for path, want := range map[string]bool{"/x": true, "/": true, "/secret/a": false, "/secretive": true, "/.git/hooks/x": false, "/h/.zshrc": false} {
		if _, ok := p.CanWrite(path); ok != want {
			t.Errorf("CanWrite(%q) = %v, want %v", path, ok, want)
		}
	}
}

func TestCheckCreate(t *testing.T) {
	p := matchPolicy()
	tests := []struct {
		path   string
		place  bool
		rule   string
		denied bool
	}{
		{"/home/u/proj/new.txt", false, "", false},
		{"/home/u/proj/new.txt", true, "", false},
		{"/home/u/proj/.git", false, "protected .git", true},
		{"/home/u/proj/sub/.git", false, "protected **/.git", true},
		{"/home/u/proj/a/b/c/.git", true, "protected **/.git", true},
		{"/home/u/proj/sub/.git/config", false, "protected **/.git/config", true},
		{"/home/u/proj/sub/.git/modules/m/hooks/x", false, "protected **/.git/modules/**/hooks", true},
		{"/home/u/proj/sub/.git/objects/ab", false, "", false},
		{"/home/u/proj/sub/.gitignore", false, "", false},
		{"/tmp/clone/.git", false, "", false},
		{"/home/u/proj/src/HEAD", false, "protected **/HEAD", true},
		{"/home/u/proj/HEAD", true, "protected **/HEAD", true},
		{"/home/u/proj/.git/HEAD", true, "", false},
		{"/home/u/proj/.git/worktrees/w/HEAD", true, "", false},
		{"/home/u/proj/.git/logs/HEAD", false, "", false},
		{"/home/u/proj/src/ORIG_HEAD", false, "", false},
		{"/tmp/bare.git/HEAD", false, "", false},
		{"/home/u/.cache/sbshim/srv/npm/git-clone/.git", false, "", false},
		{"/home/u/proj/.git/worktrees/w1", false, "", false},
		{"/home/u/proj/.git/worktrees/w1", true, "protected .git/worktrees/*/hooks", true},
		{"/home/u/proj/.git/worktrees/w1/commondir", false, "protected .git/worktrees/*/commondir", true},
		{"/home/u/proj/.git/worktrees/w1/gitdir", false, "protected .git/worktrees/*/gitdir", true},
		{"/home/u/proj/.git/worktrees/w1/HEAD", false, "", false},
		{"/home/u/proj/.git/commondir", false, "protected .git/commondir", true},
		{"/home/u/proj/.git/config.worktree", false, "protected .git/config.worktree", true},
		{"/home/u/proj/.git/modules/a/b/config", false, "protected .git/modules/**/config", true},
		{"/home/u/proj/.git/modules/a/modules/b/hooks/x", false, "protected .git/modules/**/hooks", true},
		{"/home/u/proj/.git/modules/a/objects/ab/cd", false, "", false},
		{"/home/u/proj/.git/modules/a", true, "protected .git/modules/**/hooks", true},
		{"/home/u/proj/.git", true, "protected .git", true},
		{"/home/u/proj/.git/info", true, "protected .git/info/attributes", true},
		{"/home/u/proj/.git/info", false, "", false},
		{"/home/u/proj/.git/hooks", false, "protected .git/hooks", true},
		{"/home/u/proj/.git/hooks/post-checkout", true, "protected .git/hooks", true},
		{"/home/u/proj/.git/objects", true, "", false},
		{"/home/u/proj/vendor", true, "filesystem.denyWrite $WORKSPACE/vendor/lock", true},
		{"/home/u/proj/vendor", false, "", false},
		{"/home/u/proj/.env", false, "filesystem.denyWrite $WORKSPACE/.env", true},
		{"/home/u/proj", true, "protected .git/hooks", true},
		{"/home/u/proj/.config", true, "protected .config/git", true},
		{"/home/u/proj/.config", false, "", false},
		{"/home/u/projects", false, "filesystem.allowWrite (not listed)", true},
		{"/tmp/x", true, "", false},
		{"/home/u/.cache/x", false, "filesystem.allowWrite (not listed)", true},
		{"/home/u/.config/sbshim", false, "protected ~/.config/sbshim", true},
		{"rel/x", true, "path is not absolute", true},
	}
	for _, tt := range tests {
		rule, denied := p.CheckCreate(tt.path, tt.place)
		if rule != tt.rule || denied != tt.denied {
			t.Errorf("CheckCreate(%q, %v) = %q, %v; want %q, %v", tt.path, tt.place, rule, denied, tt.rule, tt.denied)
		}
	}
}

func TestUnixSocketAllowed(t *testing.T) {
	p := matchPolicy()
	tests := []struct {
		path, rule string
		ok         bool
	}{
		{"/run/user/1/app.sock", "network.allowUnixSockets /run/user/1/app.sock", true},
		{"/run/user/1/app.sock2", "network.allowUnixSockets (not listed)", false},
		{"/run/user/1/bus", "network.allowUnixSockets (not listed)", false},
		{"/var/run/docker.sock", "network.allowUnixSockets (not listed)", false},
		{"/home/u/proj/sockets/a/b.sock", "network.allowUnixSockets $WORKSPACE/sockets", true},
		{"/home/u/proj/sockets", "network.allowUnixSockets $WORKSPACE/sockets", true},
		{"/home/u/proj/socketsx", "network.allowUnixSockets (not listed)", false},
		{"sock", "path is not absolute", false},
	}
	for _, tt := range tests {
		rule, ok := p.UnixSocketAllowed(tt.path)
		if rule != tt.rule || ok != tt.ok {
			t.Errorf("UnixSocketAllowed(%q) = %q, %v; want %q, %v", tt.path, rule, ok, tt.rule, tt.ok)
		}
	}
}

func TestProtectedPaths(t *testing.T) {
	p := matchPolicy()
	got := p.ProtectedPaths()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatal("not sorted and unique")
	}
	for _, want := range []string{
		"/home/u/proj/.git/hooks", "/home/u/proj/.git/config", "/home/u/proj/.mcp.json",
		"/home/u/proj/.vscode", "/home/u/proj/.idea", "/home/u/proj/.bashrc", "/home/u/proj/.zshrc",
		"/tmp/.git/hooks", "/home/u/.cache/sbshim/srv/.claude", "/home/u/.bashrc", "/home/u/.claude",
		"/home/u/.codex", "/home/u/.gemini", "/home/u/.cursor", "/home/u/.config/fish",
		"/home/u/.config/sbshim",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("ProtectedPaths lacks %s", want)
		}
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "/") {
			t.Errorf("not absolute: %s", g)
		}
		if _, ok := p.CanWrite(g); ok {
			t.Errorf("protected path %s is writable", g)
		}
	}
	names := ProtectedNames()
	names[0] = "changed"
	if ProtectedNames()[0] == "changed" {
		t.Error("ProtectedNames shares its slice")
	}
}

func TestEnviron(t *testing.T) {
	p := &Policy{Env: EnvPolicy{
		Pass: []string{"PATH", "LC_*", "GITHUB_TOKEN", "*_DIR"},
		Deny: []string{"*_TOKEN", "LC_SECRET", "SECRET_*"},
		Set:  map[string]string{"LANG": "C.UTF-8", "PATH": "/sandbox/bin"},
	}}
	host := []string{
		"PATH=/usr/bin", "LC_ALL=C", "LC_SECRET=x", "GITHUB_TOKEN=exact-wins", "NPM_TOKEN=no",
		"HOME=/home/u", "CACHE_DIR=/c", "SECRET_DIR=/s", "NOEQUALS", "=C:=x", "LC_ALL=last",
		"EMPTY_DIR=",
	}
	want := []string{"CACHE_DIR=/c", "EMPTY_DIR=", "GITHUB_TOKEN=exact-wins", "LANG=C.UTF-8", "LC_ALL=last", "PATH=/sandbox/bin"}
	if got := p.Environ(host); !slices.Equal(got, want) {
		t.Errorf("Environ\n got %v\nwant %v", got, want)
	}
	for name, want := range map[string]string{
		"GITHUB_TOKEN": "env.pass GITHUB_TOKEN", "NPM_TOKEN": "env.pass (not listed)",
		"LC_SECRET": "env.deny LC_SECRET", "LC_CTYPE": "env.pass LC_*", "SECRET_DIR": "env.deny SECRET_*",
	} {
		if rule, _ := p.EnvAllowed(name, "v"); rule != want {
			t.Errorf("EnvAllowed(%q) rule %q, want %q", name, rule, want)
		}
	}
	// Sorted by name, not by NAME=VALUE text.
	q := &Policy{Env: EnvPolicy{Pass: []string{"*"}}}
	if got := q.Environ([]string{"A1=x", "A=y"}); !slices.Equal(got, []string{"A=y", "A1=x"}) {
		t.Errorf("order %v", got)
	}
}

func TestIsClean(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/b", "/a/", "//a", "/a//b", "/./a", "/a/.", "/a/..", "/..", "/a/.b", "/a/b..", "/...", "a", "", "/a/b/c/d.e"} {
		want := strings.HasPrefix(p, "/") && filepath.Clean(p) == p
		if got := isClean(p); got != want {
			t.Errorf("isClean(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzIsClean(f *testing.F) {
	for _, p := range []string{"/", "/a/b", "/a/../b", "//", "/a/./"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := strings.HasPrefix(p, "/") && filepath.Clean(p) == p
		if got := isClean(p); got != want {
			t.Fatalf("isClean(%q) = %v, want %v", p, got, want)
		}
	})
}
