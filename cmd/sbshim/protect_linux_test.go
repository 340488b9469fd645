package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// in returns a copy of the box that reports to the subtest t.
func (b *box) in(t *testing.T) *box {
	c := *b
	c.t = t
	return &c
}

// gitHost runs git on the host (outside any sandbox) in dir.
func gitHost(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(filteredEnviron(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGitCannotBeMadeToRunCode: nothing that makes the user's own git run
// code can be planted from inside — not in the repository's git
// directory, its worktrees' or submodules', not where core.hooksPath
// points (husky), not in a worktree's .git file, and no new .git where
// there is none — while git itself keeps working inside.
func TestGitCannotBeMadeToRunCode(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the tests need git: %v", err)
	}
	b := newBox(t)
	ws, wt := b.ws, b.path("wt")
	gitHost(t, ws, "init", "-q")
	gitHost(t, ws, "config", "core.hooksPath", ".husky/_")
	b.mkfile("proj/.husky/pre-commit", "npm test\n")
	b.mkfile("proj/.husky/_/h", "#!/bin/sh\n")
	gitHost(t, ws, "add", "README")
	gitHost(t, ws, "commit", "-qm", "init")
	gitHost(t, ws, "worktree", "add", "-q", wt)
	flags := []string{"--allow-write", wt, "--allow-write", ws}
	cases := []struct {
		name   string
		action []string
	}{
		{"create .git/commondir", []string{"write", ws + "/.git/commondir", b.path("evil") + "\n"}},
		{"create .git/config.worktree", []string{"write", ws + "/.git/config.worktree", "[core]\n\tfsmonitor = evil\n"}},
		{"change a worktree's commondir", []string{"append", ws + "/.git/worktrees/wt/commondir", "x"}},
		{"create a worktree's config.worktree", []string{"write", ws + "/.git/worktrees/wt/config.worktree", "[core]\n\tfsmonitor = evil\n"}},
		{"change a worktree's gitdir", []string{"append", ws + "/.git/worktrees/wt/gitdir", "x"}},
		{"change a worktree's .git file", []string{"append", wt + "/.git", "\ngitdir: /evil\n"}},
		{"replace a worktree's .git file", []string{"rename", wt + "/README", wt + "/.git"}},
		{"plant a husky hook", []string{"write", ws + "/.husky/_/pre-commit", "#!/bin/sh\nevil\n"}},
		{"change a husky script", []string{"append", ws + "/.husky/pre-commit", "evil\n"}},
		{"change husky's runner", []string{"append", ws + "/.husky/_/h", "evil\n"}},
		{"create .git/info/attributes", []string{"write", ws + "/.git/info/attributes", "* filter=evil\n"}},
	}
	before := snapshot(t, b.home)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { b.in(t).mustFail(flags, "", c.action...) })
	}
	t.Run("create a submodule's config", func(t *testing.T) {
		b := b.in(t)
		b.mustWork(flags, "mkdir", ws+"/.git/modules")
		b.mustWork(flags, "mkdir", ws+"/.git/modules/sub")
		b.mustFail(flags, "", "write", ws+"/.git/modules/sub/config", "[core]\n\tfsmonitor = evil\n")
	})
	after := snapshot(t, b.home)
	for p, v := range before {
		if after[p] != v && !strings.Contains(p, "/.git/") && !strings.HasPrefix(p, b.path(".cache")) {
			t.Errorf("%s changed: %q → %q", p, v, after[p])
		}
	}
	for _, p := range []string{ws + "/.git/commondir", ws + "/.git/config.worktree", ws + "/.husky/_/pre-commit", ws + "/.git/modules/sub/config"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	// git keeps working inside, in the repository and its worktree.
	for _, dir := range []string{ws, wt} {
		cmd := b.command(flags, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "inside")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("git commit inside the sandbox in %s: %v\n%s", dir, err, out)
		}
	}
}

// TestNoNewGitRepositoryAtTheTop: where the workspace has no .git, none
// can be made there (a folder, a gitdir: file or a link would become the
// repository the user's next git command uses); repositories further down
// can still be made.
func TestNoNewGitRepositoryAtTheTop(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the tests need git: %v", err)
	}
	b := newBox(t)
	if err := os.RemoveAll(filepath.Join(b.ws, ".git")); err != nil {
		t.Fatal(err)
	}
	b.mkfile("proj/evil.git/config", "[core]\n\tfsmonitor = evil\n")
	for _, c := range []struct {
		name   string
		action []string
	}{
		{"mkdir", []string{"mkdir", b.ws + "/.git"}},
		{"gitdir file", []string{"write", b.ws + "/.git", "gitdir: evil.git\n"}},
		{"symlink", []string{"symlink", "evil.git", b.ws + "/.git"}},
		{"rename into place", []string{"rename", b.ws + "/evil.git", b.ws + "/.git"}},
	} {
		t.Run(c.name, func(t *testing.T) { b.in(t).mustFail(nil, "", c.action...) })
	}
	if _, err := os.Lstat(filepath.Join(b.ws, ".git")); err == nil {
		t.Fatalf("a .git was made at the top of the workspace")
	}
}

// TestNoNestedRepositoryForAGitlink: a repository nested in the workspace
// is one gitlink away from the user's git status at the top, which runs
// git status inside it with its config; a bare repository's layout in a
// subfolder is what git uses when run there. So none can be made anywhere
// in the workspace, and the control files of those that exist are
// protected, while repositories in $TMP still work.
func TestNoNestedRepositoryForAGitlink(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the tests need git: %v", err)
	}
	b := newBox(t)
	gitHost(t, b.ws, "init", "-q")
	nested := filepath.Join(b.ws, "vendor", "lib")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	gitHost(t, nested, "init", "-q")
	for _, c := range []struct {
		name   string
		action []string
	}{
		{"mkdir a nested .git", []string{"mkdir", b.ws + "/evil/.git"}},
		{"a nested gitdir file", []string{"write", b.ws + "/README.git-dir/.git", "gitdir: /x\n"}},
		{"change a nested repository's config", []string{"append", nested + "/.git/config", "[core]\n\tfsmonitor = evil\n"}},
		{"plant a nested repository's hook", []string{"write", nested + "/.git/hooks/post-checkout", "#!/bin/sh\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := b.in(t)
			if c.name == "mkdir a nested .git" {
				b.mustWork(nil, "mkdir", b.ws+"/evil")
			}
			if c.name == "a nested gitdir file" {
				b.mustWork(nil, "mkdir", b.ws+"/README.git-dir")
			}
			b.mustFail(nil, "", c.action...)
		})
	}
	// A bare repository's layout in a subfolder: git run there would use
	// its config (core.pager at git log).
	t.Run("plant a bare repository", func(t *testing.T) {
		b := b.in(t)
		b.mustWork(nil, "mkdir", b.ws+"/src")
		b.mustWork(nil, "mkdir", b.ws+"/src/objects")
		b.mustWork(nil, "mkdir", b.ws+"/src/refs")
		b.mustWork(nil, "write", b.ws+"/src/config", "[core]\n\tpager = evil\n")
		b.mustFail(nil, "", "write", b.ws+"/src/HEAD", "ref: refs/heads/main\n")
	})
	// The same layout prepared inside .git, where HEAD may be made, and
	// moved, linked or pointed at from the work tree: git run in "docs"
	// would use it (core.fsmonitor at git status).
	t.Run("bring a bare repository out of .git", func(t *testing.T) {
		b := b.in(t)
		bare := b.ws + "/.git/prepared"
		for _, d := range []string{bare, bare + "/objects", bare + "/refs"} {
			b.mustWork(nil, "mkdir", d)
		}
		b.mustWork(nil, "write", bare+"/config", "[core]\n\tbare = false\n\tfsmonitor = evil\n")
		b.mustWork(nil, "write", bare+"/HEAD", "ref: refs/heads/main\n")
		b.mustWork(nil, "symlink", bare, bare+"/link")
		b.mustWork(nil, "mkdir", b.ws+"/docs2")
		for _, action := range [][]string{
			{"rename", bare, b.ws + "/docs"},
			{"exchange", b.ws + "/docs2", bare},
			{"symlink", ".git/prepared", b.ws + "/docs"},
			{"symlink", bare, b.ws + "/docs"},
			{"link", bare + "/link", b.ws + "/docs"},
			{"link-opath", bare + "/link", b.ws + "/docs"},
		} {
			b.mustFail(nil, "", action...)
		}
		if _, err := os.Lstat(b.ws + "/docs"); err == nil {
			t.Fatal("a way into the prepared repository was made in the work tree")
		}
	})
	// The same layout prepared in $CACHE, which is writable, outlives
	// the session and is no work tree (git clone works there), then
	// linked from the work tree: the user's git run in the link would
	// use it.
	t.Run("link a bare repository in $CACHE", func(t *testing.T) {
		b := b.in(t)
		name := []string{"--name", "barecache"}
		bare := b.path(".cache/sbshim/barecache/prepared")
		for _, d := range []string{bare, bare + "/objects", bare + "/refs"} {
			b.mustWork(name, "mkdir", d)
		}
		b.mustWork(name, "write", bare+"/config", "[core]\n\tbare = false\n\tfsmonitor = evil\n")
		b.mustWork(name, "write", bare+"/HEAD", "ref: refs/heads/main\n")
		for _, target := range []string{bare, bare + "/", filepath.Dir(bare), "../.cache/sbshim/barecache/prepared"} {
			b.mustFail(name, "", "symlink", target, b.ws+"/docs")
		}
		if _, err := os.Lstat(b.ws + "/docs"); err == nil {
			t.Fatal("a link to the prepared repository was made in the work tree")
		}
		// A link into $CACHE from outside any work tree stays possible.
		b.mustWork(name, "symlink", bare, b.path(".cache/sbshim/barecache/link"))
	})
	if _, stderr, code := b.run(nil, "git", "init", "-q", filepath.Join(b.ws, "sub")); code == 0 {
		t.Errorf("git init in a subfolder of the workspace worked: %s", stderr)
	}
	if _, stderr, code := b.run(nil, "git", "init", "-q", "/tmp/scratch"); code != 0 {
		t.Errorf("git init in $TMP: exit %d: %s", code, stderr)
	}
}

// TestServersCannotReadEachOthersState: two servers with different names
// each see their own $CACHE (and agent copies), and nothing of the
// other's cache, agent credentials or audit log; every attempt is
// reported.
func TestServersCannotReadEachOthersState(t *testing.T) {
	b := newBox(t)
	b.mkfile(".claude/.credentials.json", `{"token":"REAL-SECRET"}`)
	cacheRoot := b.path(".cache/sbshim")
	alpha, beta := filepath.Join(cacheRoot, "alpha"), filepath.Join(cacheRoot, "beta")
	audit := filepath.Join(b.root, "state", "sbshim", "audit")
	as := func(name string) []string { return []string{"--profile", "agent", "--name", name} }

	b.mustWork(as("alpha"), "write", alpha+"/secret.txt", "ALPHA-SECRET")
	b.mustWork(as("beta"), "write", beta+"/own.txt", "beta's own")
	for _, f := range []string{alpha + "/secret.txt", alpha + "/agent/claude/.credentials.json", audit + "/alpha.jsonl"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the first run did not leave %s: %v", f, err)
		}
	}
	for _, c := range []struct {
		name   string
		action []string
	}{
		{"read the other's cache", []string{"read", alpha + "/secret.txt"}},
		{"list the other's cache", []string{"list", alpha}},
		{"read the other's agent credential", []string{"read", alpha + "/agent/claude/.credentials.json"}},
		{"read the other's audit log", []string{"read", audit + "/alpha.jsonl"}},
		{"list the audit logs", []string{"list", audit}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, _ := b.in(t).run(as("beta"), append([]string{filepath.Join(binDir, "attempt")}, c.action...)...)
			if strings.Contains(stdout, `"ok":true`) || strings.Contains(stdout, "SECRET") || strings.Contains(stdout, "alpha.jsonl\n") {
				t.Fatalf("%v from beta: %s", c.action, stdout)
			}
			if !strings.Contains(stderr, "sbshim: blocked read "+c.action[1]) {
				t.Errorf("%v was not reported: %s", c.action, stderr)
			}
		})
	}
	t.Run("the cache folder shows only the own", func(t *testing.T) {
		b := b.in(t)
		if o := b.mustWork(as("beta"), "list", cacheRoot); o.Detail != "beta" {
			t.Errorf("beta lists %q in %s", o.Detail, cacheRoot)
		}
	})
	t.Run("the own state stays usable", func(t *testing.T) {
		b := b.in(t)
		if o := b.mustWork(as("beta"), "read", beta+"/own.txt"); o.Detail != "beta's own" {
			t.Errorf("own cache: %q", o.Detail)
		}
		if o := b.mustWork(as("beta"), "read", beta+"/agent/claude/.credentials.json"); !strings.Contains(o.Detail, "REAL-SECRET") {
			t.Errorf("own agent credential: %q", o.Detail)
		}
		b.mustFail(as("beta"), "", "append", beta+"/agent/claude/.credentials.json", "forged")
		b.mustWork([]string{"--name", "attempt"}, "write", filepath.Join(b.path(".cache/sbshim/attempt"), "x"), "own name")
	})
}

// TestServersStateWithoutUserNamespaces: where sbshim runs with Landlock
// alone (here: inside an outer sbshim with a home of its own), Landlock
// hides the other servers' state too, and the own $CACHE stays readable.
func TestServersStateWithoutUserNamespaces(t *testing.T) {
	b := newBox(t)
	outerHome := filepath.Join(b.root, "outer")
	if err := os.MkdirAll(outerHome, 0o755); err != nil {
		t.Fatal(err)
	}
	alpha := b.mkfile(".cache/sbshim/alpha/secret.txt", "ALPHA-SECRET")
	own := b.mkfile(".cache/sbshim/attempt/own.txt", "own")
	audit := filepath.Join(b.root, "state", "sbshim", "audit", "alpha.jsonl")
	if err := os.MkdirAll(filepath.Dir(audit), 0o700); err != nil || os.WriteFile(audit, []byte("{}\n"), 0o600) != nil {
		t.Fatal("audit log")
	}
	degraded := func(argv ...string) (string, string) {
		inner := b.command([]string{"--audit-log", "-", "--name", "attempt"}, argv...)
		outerArgv := append([]string{"env", "HOME=" + b.home,
			"XDG_CONFIG_HOME=" + filepath.Join(b.home, ".config"),
			"XDG_CACHE_HOME=" + filepath.Join(b.home, ".cache"),
			"XDG_STATE_HOME=" + filepath.Join(b.root, "state")}, inner.Args...)
		outer := b.command([]string{"--audit-log", "-"}, outerArgv...)
		for i, kv := range outer.Env {
			switch k := strings.SplitN(kv, "=", 2)[0]; k {
			case "HOME":
				outer.Env[i] = "HOME=" + outerHome
			case "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME":
				outer.Env[i] = k + "=" + filepath.Join(outerHome, "xdg")
			}
		}
		var stdout, stderr strings.Builder
		outer.Stdout, outer.Stderr = &stdout, &stderr
		_ = outer.Run()
		return stdout.String(), stderr.String()
	}
	attempt := filepath.Join(binDir, "attempt")
	// (The names in a hidden folder can be listed in this mode, as the
	// README's limits say; their contents cannot be read.)
	for _, target := range []string{alpha, audit} {
		stdout, stderr := degraded(attempt, "read", target)
		if !strings.Contains(stdout, `"ok":false`) || strings.Contains(stdout, "SECRET") {
			t.Errorf("degraded: read %s: %s %s", target, stdout, stderr)
		}
	}
	if stdout, stderr := degraded(attempt, "read", own); !strings.Contains(stdout, `"ok":true`) {
		t.Errorf("degraded: the own cache is not readable: %s %s", stdout, stderr)
	}
}

// TestDeepNestedRepositoryIsReadOnly: an existing repository nested deep
// in the workspace has its config and hooks bound read-only like the top
// one's, so the kernel refuses the write however it is made (an append,
// or a descriptor reopened for writing through /proc/self/fd).
func TestDeepNestedRepositoryIsReadOnly(t *testing.T) {
	b := newBox(t)
	deep := filepath.Join(b.ws, "a", "b", "c", "d", "e")
	cfg := b.mkfile("proj/a/b/c/d/e/.git/config", "[core]\n")
	b.mkfile("proj/a/b/c/d/e/.git/hooks/README.sample", "sample\n")
	b.mustFail(nil, "", "append", cfg, "[core]\nfsmonitor=evil\n")
	b.mustFail(nil, "", "write", cfg, "[core]\nfsmonitor=evil\n")
	b.mustFail(nil, "", "reopen-append", cfg, "[core]\nfsmonitor=evil\n")
	b.mustFail(nil, "", "write", filepath.Join(deep, ".git", "hooks", "pre-commit"), "#!/bin/sh\n")
	// Beyond the folders the start-up search reads (a large workspace),
	// the deputy's check holds it.
	far := b.farRepository()
	b.mustFail(nil, "", "append", far, "[core]\nfsmonitor=evil\n")
	b.mustFail(nil, "", "write", far, "[core]\nfsmonitor=evil\n")
	b.mustFail(nil, "", "reopen-append", far, "[core]\nfsmonitor=evil\n")
	if got, _ := os.ReadFile(far); string(got) != "[core]\n" {
		t.Fatalf("the far nested repository's config was changed: %q", got)
	}
	if got, _ := os.ReadFile(cfg); string(got) != "[core]\n" {
		t.Fatalf("the nested repository's config was changed: %q", got)
	}
}

// farRepository makes a repository beyond the folders the start-up search
// reads (2,100 folders before it), so that the mount tree does not bind
// its protected files read-only and only the deputy's checks hold them.
// It returns the path of its .git/config.
func (b *box) farRepository() string {
	b.t.Helper()
	for i := 0; i < 2100; i++ {
		if err := os.Mkdir(filepath.Join(b.ws, fmt.Sprintf("wide%04d", i)), 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	return b.mkfile("proj/wide2099/r/.git/config", "[core]\n")
}

// TestProtectedFilesKeepTheirNamesAndAttributes: deletes and attribute
// changes (mode, owner, times, size, extended attributes) of protected
// files that only the deputy's checks hold are refused however the file
// is named — by path, through a descriptor, through /proc/self/fd, and
// through a symlink swapped while the change is made — and reported.
func TestProtectedFilesKeepTheirNamesAndAttributes(t *testing.T) {
	b := newBox(t)
	far := b.farRepository()
	gitDir := filepath.Dir(far)
	sample := b.mkfile("proj/wide2099/r/.git/hooks/README.sample", "sample\n")
	if err := os.Chmod(far, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		action []string
	}{
		{"chmod", []string{"chmod", far, "600"}},
		{"truncate", []string{"truncate", far}},
		{"utimes", []string{"utimes", far}},
		{"setxattr", []string{"setxattr", far}},
		{"unlink", []string{"unlink", far}},
		{"unlink hook", []string{"unlink", sample}},
		{"fchmod", []string{"fchmod", far}},
		{"fchown", []string{"fchown", far}},
		{"fsetxattr", []string{"fsetxattr", far}},
		{"futimens", []string{"futimens", far}},
		{"truncate through /proc/self/fd", []string{"procfd-truncate", far}},
		{"chmod through /proc/self/fd", []string{"procfd-chmod", far}},
		{"unlink through /proc/self/fd", []string{"procfd-unlink-dir", filepath.Join(gitDir, "hooks"), "README.sample"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := b.in(t)
			stdout, stderr, _ := b.run(nil, append([]string{filepath.Join(binDir, "attempt")}, c.action...)...)
			var o outcome
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &o); err != nil || o.OK {
				t.Fatalf("%v on a protected file: %q (it must fail)", c.action, stdout)
			}
			if !strings.Contains(stderr, "sbshim: blocked ") || !strings.Contains(stderr, "protected") {
				t.Fatalf("%v: no report of the refusal:\n%s", c.action, stderr)
			}
		})
	}
	intact := func(t *testing.T) {
		t.Helper()
		if got, err := os.ReadFile(far); err != nil || string(got) != "[core]\n" {
			t.Fatalf("the protected config was changed: %q %v", got, err)
		}
		if st, err := os.Stat(far); err != nil || st.Mode().Perm() != 0o644 {
			t.Fatalf("the protected config's mode was changed: %v %v", st.Mode(), err)
		}
		if _, err := os.Stat(sample); err != nil {
			t.Fatalf("the protected hook folder lost a file: %v", err)
		}
	}
	intact(t)
	allowed := filepath.Join(b.ws, "allowed")
	b.mkfile("proj/allowed/config", "x\n")
	for _, op := range []string{"truncate", "chmod", "unlink"} {
		t.Run("swapped symlink "+op, func(t *testing.T) {
			if err := os.WriteFile(far, []byte("[core]\n"), 0o644); err != nil || os.Chmod(far, 0o644) != nil {
				t.Fatal("restore the protected config")
			}
			// The link lives in the private /tmp, where links into a
			// .git may be made.
			o := b.in(t).mustWork(nil, "race-attr", "/tmp/swap", allowed, gitDir, op, "3000")
			t.Log(o.Detail)
			intact(t)
		})
	}
}
