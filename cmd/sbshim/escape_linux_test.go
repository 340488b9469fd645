package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// These tests attack the sandbox through sbshim itself — its init (PID 1),
// the supervisor that answers calls for the sandbox, what sbshim passes in
// — as a hostile server would. Each goes red on a sandbox where anything
// acting for the sandbox holds more privilege than the sandbox.

// TestEveryThreadOfPID1IsRestricted: every thread of the init, not only the
// one that forks the command, has no capabilities and runs under
// no_new_privs and seccomp.
func TestEveryThreadOfPID1IsRestricted(t *testing.T) {
	b := newBox(t)
	o := b.mustWork(nil, "status-all", "/proc/1/task/*/status")
	threads := 0
	for _, line := range strings.Split(o.Detail, "\n") {
		path, field, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("unexpected line %q", line)
		}
		name, value, _ := strings.Cut(field, " ")
		// The bounding set counts only across execve, which only the
		// thread that forks does: it is checked on the command below.
		want := map[string]string{"CapEff:": "0000000000000000", "CapPrm:": "0000000000000000",
			"Seccomp:": "2", "NoNewPrivs:": "1"}[name]
		if name != "CapBnd:" && value != want {
			t.Errorf("%s: %s %s, want %s", path, name, value, want)
		}
		if name == "Seccomp:" {
			threads++
		}
	}
	if threads < 2 {
		t.Fatalf("saw %d threads of PID 1; the Go init has several:\n%s", threads, o.Detail)
	}
	self := b.mustWork(nil, "status-all", "/proc/self/task/*/status")
	if n := strings.Count(self.Detail, "CapBnd:"); n == 0 || strings.Count(self.Detail, "CapBnd: 0000000000000000") != n {
		t.Fatalf("the command keeps a bounding set:\n%s", self.Detail)
	}
}

// TestNoProcessMemoryOutsideTheCommand: neither the init's memory nor the
// deputy's (the process that acts for the supervisor) can be opened from
// inside, with or without O_CREAT (which the supervisor answers).
func TestNoProcessMemoryOutsideTheCommand(t *testing.T) {
	b := newBox(t)
	if o := b.attempt(nil, "procs-mem"); o.OK {
		t.Fatalf("opened another process's memory inside the sandbox: %s", o.Detail)
	}
	b.mustFail(nil, "EACCES", "open-creat", "/proc/1/mem")
}

// TestCreatingOpensHaveNoMorePrivilegeThanPlainOnes: an open with O_CREAT
// of an existing file, which the supervisor answers through the deputy, is
// refused wherever a plain open is — a file whose mode forbids it, also
// through an O_PATH descriptor reopened with O_CREAT, a device node, and
// the kernel's settings.
func TestCreatingOpensHaveNoMorePrivilegeThanPlainOnes(t *testing.T) {
	b := newBox(t)
	locked := b.mkfile("proj/locked", "LOCKED-SECRET")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Run("mode 000 with O_CREAT", func(t *testing.T) { b.in(t).mustFail(nil, "EACCES", "open-creat", locked) })
	t.Run("O_PATH reopened with O_CREAT", func(t *testing.T) {
		if o := b.attempt(nil, "reopen-opath", locked); o.OK || strings.Contains(o.Detail, "SECRET") {
			t.Fatalf("read a mode-000 file through /proc/self/fd with O_CREAT: %+v", o)
		}
	})
	t.Run("device node", func(t *testing.T) {
		node := filepath.Join(b.ws, "zero")
		b.in(t).mustFail(nil, "", "mknod-char", node)
		if _, err := os.Lstat(node); err == nil {
			t.Fatalf("a device node was made on the host at %s", node)
		}
	})
	t.Run("kernel settings", func(t *testing.T) {
		// Written back unchanged if it got through.
		for _, p := range []string{"/proc/sys/kernel/core_pattern", "/proc/sys/vm/overcommit_ratio"} {
			if o := b.attempt(nil, "write-same", p); o.OK {
				t.Fatalf("wrote %s from inside the sandbox", p)
			}
		}
	})
}

// TestHostNetworkGivesNoMoreThanTheUser: with --net host the sandbox shares
// the host's network, but binds and connects are still the sandbox's own:
// no privileged ports for root, no abstract unix sockets of the host.
func TestHostNetworkGivesNoMoreThanTheUser(t *testing.T) {
	b := newBox(t)
	flags := []string{"--net", "host"}
	t.Run("privileged port", func(t *testing.T) {
		start := readInt(t, "/proc/sys/net/ipv4/ip_unprivileged_port_start")
		if start <= 1 {
			t.Logf("this host lets every user bind any port (ip_unprivileged_port_start=%d): nothing to refuse", start)
			return
		}
		port := start - 1
		if o := b.attempt(flags, "bind-tcp", "127.0.0.1:"+strconv.Itoa(port)); o.OK || o.Errno == "EADDRINUSE" {
			if o.OK {
				t.Fatalf("bound privileged port %d on the host from inside the sandbox", port)
			}
			t.Logf("port %d is in use; the bind reached the host's port table", port)
		}
	})
	t.Run("abstract socket", func(t *testing.T) {
		name := fmt.Sprintf("@sbshim-test-%d", time.Now().UnixNano())
		l, err := net.Listen("unix", name)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go serveBanner(l, "host-abstract")
		if o := b.attempt(flags, "connect-unix", name); o.OK {
			t.Fatalf("reached the host's abstract socket %s: %q", name, o.Detail)
		}
	})
}

// TestNoDatagramsToHostSockets: a datagram's address is read by the kernel
// at send time, after any check, so unix datagram sockets are refused by
// the kernel layer, and nothing reaches a host datagram socket by sendto or
// sendmsg. The refusal is reported.
func TestNoDatagramsToHostSockets(t *testing.T) {
	b := newBox(t)
	sock := filepath.Join(b.root, "host-dgram.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 8)
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	stdout, stderr, _ := b.run(nil, filepath.Join(binDir, "attempt"), "send-unixgram", sock)
	if strings.Contains(stdout, `"ok":true`) {
		t.Fatalf("sent a datagram to a host socket: %s", stdout)
	}
	select {
	case m := <-got:
		t.Fatalf("the host socket received %q from inside the sandbox", m)
	case <-time.After(100 * time.Millisecond):
	}
	if !strings.Contains(stderr, "AF_UNIX SOCK_DGRAM") {
		t.Fatalf("the refused datagram socket was not reported; stderr:\n%s", stderr)
	}
}

// TestNoFastOpenWithoutNetns: where user namespaces are unavailable there is
// no network namespace, and in none mode only loopback may be reached. A
// send with MSG_FASTOPEN connects a TCP socket without connect(2); it must
// not reach an address of the host beyond loopback.
func TestNoFastOpenWithoutNetns(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	var local string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			local = n.IP.String()
			break
		}
	}
	if local == "" {
		t.Skip("no non-loopback IPv4 address to listen on")
	}
	l, err := net.Listen("tcp4", net.JoinHostPort(local, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go serveBanner(l, "host-service")
	b := newBox(t)
	// A user namespace of its own that may make no more: sbshim inside
	// runs as where the distribution forbids them.
	cmd := b.command([]string{"--net", "none"}, filepath.Join(binDir, "attempt"), "send-fastopen", l.Addr().String())
	cmd.Args = append([]string{"sh", "-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`, "sh"}, cmd.Args...)
	cmd.Path = "/bin/sh"
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}}
	out, err := cmd.Output()
	if len(out) == 0 && err != nil {
		t.Skipf("no user namespace to run sbshim in without user namespaces: %v", err)
	}
	if strings.Contains(string(out), "host-service") {
		t.Fatalf("TCP Fast Open reached %s from a sandbox in none mode: %s", l.Addr(), out)
	}
	if !strings.Contains(string(out), `"ok":false`) {
		t.Fatalf("send-fastopen: %s (%v)", out, err)
	}
}

// TestOnlyStdioCrossesIn: a descriptor sbshim inherits beyond 0, 1 and 2
// (a shell's "7<~") does not reach the command, and a directory on stdin
// is not a way around the masks.
func TestOnlyStdioCrossesIn(t *testing.T) {
	b := newBox(t)
	home, err := os.Open(b.home)
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	script := `for fd in 0 3 4 5 6 7; do cat /proc/self/fd/$fd/.ssh/id_rsa 2>/dev/null; done; ls /proc/self/fd`
	cmd := b.command(nil, "sh", "-c", script)
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	cmd.ExtraFiles = []*os.File{null, null, null, null, home} // fd 7 is the home folder
	cmd.Stdin = home
	out, err := cmd.Output()
	if strings.Contains(string(out), "SECRET") {
		t.Fatalf("read ~/.ssh/id_rsa through an inherited descriptor:\n%s", out)
	}
	if err != nil {
		t.Fatalf("sbshim: %v\n%s", err, out)
	}
	for _, fd := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(fd); err == nil && n > 3 {
			t.Fatalf("descriptor %d crossed into the sandbox (open: %s)", n, strings.Join(strings.Fields(string(out)), " "))
		}
	}
}

// TestNoSetIDFiles: the sandbox cannot make a file set-user-ID or
// set-group-ID (as root it would stay set-user-ID-root on the host).
func TestNoSetIDFiles(t *testing.T) {
	b := newBox(t)
	file := b.mkfile("proj/tool", "#!/bin/sh\n")
	for _, c := range []struct {
		name   string
		action []string
	}{
		{"chmod 4755", []string{"chmod", file, "4755"}},
		{"chmod 2755", []string{"chmod", file, "2755"}},
		{"open with mode 4755", []string{"creat-mode", filepath.Join(b.ws, "new-tool"), "4755"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, _ := b.run(nil, append([]string{filepath.Join(binDir, "attempt")}, c.action...)...)
			for _, p := range []string{file, filepath.Join(b.ws, "new-tool")} {
				if st, err := os.Stat(p); err == nil && st.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
					t.Fatalf("%s is %v on the host", p, st.Mode())
				}
			}
			if !strings.Contains(stderr, "set-user-ID") {
				t.Fatalf("the refusal was not reported; stderr:\n%s", stderr)
			}
		})
	}
	b.mustWork(nil, "chmod", file, "755") // ordinary modes still work
}

// TestArgumentsArriveByteForByte: arguments, environment and working
// directory reach the command exactly, invalid UTF-8 included.
func TestArgumentsArriveByteForByte(t *testing.T) {
	b := newBox(t)
	odd := "caf\xe9-\xff\xfe"
	dir := filepath.Join(b.ws, odd)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := b.command([]string{"--env-pass", "ATTEMPT_ODD"}, filepath.Join(binDir, "attempt"), "argv", odd, "plain")
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, "ATTEMPT_ODD="+odd)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("sbshim in a folder named %q: %v\n%s", dir, err, stderr)
	}
	want := hex.EncodeToString([]byte(odd)) + "," + hex.EncodeToString([]byte("plain")) + "|" +
		hex.EncodeToString([]byte("ATTEMPT_ODD="+odd)) + "|" + hex.EncodeToString([]byte(dir))
	if !strings.Contains(string(out), `"detail":"`+want+`"`) {
		t.Fatalf("inside the sandbox:\n%s\nwant detail %s", out, want)
	}
}

// TestInotifyIsBoundedForTheHost: inotify instances are counted against the
// user's own limit too; the sandbox gets a share, never all of it.
func TestInotifyIsBoundedForTheHost(t *testing.T) {
	b := newBox(t)
	host := readInt(t, "/proc/sys/user/max_inotify_instances")
	o := b.mustWork(nil, "inotify-count")
	n, err := strconv.Atoi(o.Detail)
	if err != nil {
		t.Fatalf("inotify-count: %+v", o)
	}
	if n > host/4 {
		t.Fatalf("the sandbox made %d inotify instances of the user's %d", n, host)
	}
	if n < 1 {
		t.Fatalf("the sandbox cannot make any inotify instance (%s)", o.Errno)
	}
}

func readInt(t *testing.T, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return n
}

// TestPidsLimitBinds: limits.pids bounds the sandbox's processes whoever
// runs sbshim — for root (whom RLIMIT_NPROC does not bind) through a
// cgroup. Without one, root's run says so.
func TestPidsLimitBinds(t *testing.T) {
	b := newBox(t)
	profile := filepath.Join(b.root, "pids.json")
	// Threads count: sbshim's init and deputy and the attempt program
	// are Go programs with several each.
	if err := os.WriteFile(profile, []byte(`{"limits": {"pids": 40}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := b.run([]string{"--profile", profile}, filepath.Join(binDir, "attempt"), "fork-count", "100")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var n int
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, `"detail":"`)+len(`"detail":"`):], "%d", &n); err != nil {
		t.Fatalf("fork-count: %s", stdout)
	}
	if n >= 40 {
		if strings.Contains(stderr, "limits.pids does not bind") {
			t.Fatalf("this host gives root no pids cgroup, and sbshim says so: %s", stderr)
		}
		t.Fatalf("the sandbox ran %d processes at once under limits.pids 40", n)
	}
	if n < 5 {
		t.Fatalf("only %d processes under limits.pids 40: %s", n, stdout)
	}
}

// TestTerminalOnStdoutIsFiltered: outside PTY mode too, what the command
// writes to a terminal on sbshim's stdout or stderr passes the terminal
// filter: no clipboard (OSC 52), while text and colours arrive.
func TestTerminalOnStdoutIsFiltered(t *testing.T) {
	b := newBox(t)
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pty: %v", err)
	}
	defer ptm.Close()
	script := `printf '\033]52;c;c2FuZGJveA==\007\033[31mred-out\033[0m\n'; printf '\033]52;c;c3RkZXJy\007err-text\n' >&2`
	cmd := b.command([]string{"--audit-log", "-"}, "sh", "-c", script)
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout, cmd.Stderr = tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen []byte
	buf := make([]byte, 4096)
	for {
		n, err := ptm.Read(buf)
		screen = append(screen, buf[:n]...)
		if err != nil {
			break
		}
	}
	_ = cmd.Wait()
	got := string(screen)
	if strings.Contains(got, "]52") {
		t.Fatalf("OSC 52 reached the terminal: %q", got)
	}
	for _, want := range []string{"\x1b[31mred-out", "err-text"} {
		if !strings.Contains(got, want) {
			t.Fatalf("%q did not reach the terminal: %q", want, got)
		}
	}
}

// TestConcurrentCreatesGetTheirFiles: many threads creating files at once,
// each open answered by the supervisor through the deputy, all get a
// descriptor of the file they opened — never another number (a signal
// interrupting the supervisor's SECCOMP_IOCTL_NOTIF_ADDFD left the call
// answered with 0), and never EEXIST for a name another thread made
// first.
func TestConcurrentCreatesGetTheirFiles(t *testing.T) {
	b := newBox(t)
	for i := 0; i < 3; i++ {
		dir := filepath.Join(b.ws, fmt.Sprintf("storm%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if o := b.attempt(nil, "create-storm", dir); !o.OK {
			t.Fatalf("run %d: %s", i, o.Detail)
		}
	}
}

// serveBanner plays a host service until l is closed: every client gets
// banner.
func serveBanner(l net.Listener, banner string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte(banner))
		c.Close()
	}
}
