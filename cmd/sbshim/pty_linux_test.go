package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// These tests drive sbshim the way a person does: through a real terminal
// (a pty made here with creack/pty), typing keys and reading the screen's
// byte stream. Every wait has a deadline and looks for output; nothing
// depends on how long something took.

// ptyWait bounds every wait for output or an exit.
const ptyWait = 30 * time.Second

// outerTerm is the user's terminal: sbshim runs on its slave side; the
// test types into and reads from its master.
type outerTerm struct {
	t      *testing.T
	master *os.File
	slave  *os.File // kept open to compare the terminal's mode before and after
	cmd    *exec.Cmd
	before *unix.Termios

	mu   sync.Mutex
	out  bytes.Buffer
	mark int // expect searches from here

	waitOnce sync.Once
	exited   chan struct{}
	code     int
}

// startPTY runs sbshim (flags, "--", argv) in the box, on a new terminal of
// 24 rows and 80 columns that is its controlling terminal.
func (b *box) startPTY(flags []string, argv ...string) *outerTerm {
	b.t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		b.t.Fatalf("open the outer pty: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		b.t.Fatalf("size the outer pty: %v", err)
	}
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		b.t.Fatalf("outer terminal mode: %v", err)
	}
	cmd := b.command(flags, argv...)
	cmd.Env = append(cmd.Env, "TERM=xterm", "PS1=sbx$ ")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start sbshim: %v", err)
	}
	o := &outerTerm{t: b.t, master: master, slave: slave, cmd: cmd, before: before, exited: make(chan struct{})}
	go o.read()
	go func() {
		err := cmd.Wait()
		o.code = exitCode(err)
		close(o.exited)
	}()
	b.t.Cleanup(func() {
		select {
		case <-o.exited:
		default:
			_ = cmd.Process.Kill()
			<-o.exited
		}
		master.Close()
		slave.Close()
	})
	return o
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func (o *outerTerm) read() {
	buf := make([]byte, 4096)
	for {
		n, err := o.master.Read(buf)
		o.mu.Lock()
		o.out.Write(buf[:n])
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// send types s.
func (o *outerTerm) send(s string) {
	o.t.Helper()
	if _, err := o.master.WriteString(s); err != nil {
		o.t.Fatalf("type %q: %v", s, err)
	}
}

// expect waits until want appears in the output after the previous
// expect's match, and moves past it.
func (o *outerTerm) expect(want string) {
	o.t.Helper()
	if !o.waitFor(want, ptyWait) {
		o.t.Fatalf("waited %v for %q; the terminal shows:\n%s", ptyWait, want, o.tail())
	}
}

func (o *outerTerm) waitFor(want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		o.mu.Lock()
		i := bytes.Index(o.out.Bytes()[o.mark:], []byte(want))
		if i >= 0 {
			o.mark += i + len(want)
		}
		o.mu.Unlock()
		if i >= 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// output is everything the terminal received so far.
func (o *outerTerm) output() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

func (o *outerTerm) tail() string {
	s := o.output()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// wait waits for sbshim to exit and returns its status.
func (o *outerTerm) wait() int {
	o.t.Helper()
	select {
	case <-o.exited:
		return o.code
	case <-time.After(ptyWait):
		o.t.Fatalf("sbshim did not exit within %v; the terminal shows:\n%s", ptyWait, o.tail())
		return -1
	}
}

// mode is the outer terminal's current mode (what stty -g prints).
func (o *outerTerm) mode() *unix.Termios {
	o.t.Helper()
	m, err := unix.IoctlGetTermios(int(o.slave.Fd()), unix.TCGETS)
	if err != nil {
		o.t.Fatalf("outer terminal mode: %v", err)
	}
	return m
}

// checkRestored fails unless the outer terminal's mode is what it was
// before sbshim started.
func (o *outerTerm) checkRestored() {
	o.t.Helper()
	if now := o.mode(); *now != *o.before {
		o.t.Fatalf("the outer terminal's mode changed:\nbefore %+v\nafter  %+v", *o.before, *now)
	}
}

// waitRaw waits until sbshim has put the outer terminal in raw mode, that
// is, until it is relaying.
func (o *outerTerm) waitRaw() {
	o.t.Helper()
	deadline := time.Now().Add(ptyWait)
	for o.mode().Lflag&unix.ICANON != 0 {
		if time.Now().After(deadline) {
			o.t.Fatalf("the outer terminal never went raw; it shows:\n%s", o.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descendant waits for a process below sbshim whose command line is argv
// and returns its host pid.
func (o *outerTerm) descendant(argv ...string) int {
	o.t.Helper()
	return waitDescendant(o.t, o.cmd.Process.Pid, argv...)
}

// waitDescendant waits for a process below root whose command line is
// argv and returns its host pid.
func waitDescendant(t *testing.T, root int, argv ...string) int {
	t.Helper()
	want := strings.Join(argv, "\x00") + "\x00"
	deadline := time.Now().Add(ptyWait)
	for {
		for _, pid := range descendants(root) {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == want {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process %q below pid %d", argv, root)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descendants lists the pids below root (host pids).
func descendants(root int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procStat(pid); err == nil {
			parent[pid] = st.ppid
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

type stat struct{ ppid, pgrp, tpgid int }

// procStat reads the fields of /proc/PID/stat that job control is about.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("bad stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 6 {
		return stat{}, fmt.Errorf("bad stat %q", b)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	// state ppid pgrp session tty_nr tpgid
	return stat{ppid: n(f[1]), pgrp: n(f[2]), tpgid: n(f[5])}, nil
}

// waitForeground waits until the process is in the foreground process
// group of its terminal.
func (o *outerTerm) waitForeground(pid int) {
	o.t.Helper()
	waitForeground(o.t, pid)
}

func waitForeground(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(ptyWait)
	for {
		st, err := procStat(pid)
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		if st.pgrp == st.tpgid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never reached the foreground (pgrp %d, terminal's %d)", pid, st.pgrp, st.tpgid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func bash() []string { return []string{"bash", "--norc", "--noprofile", "-i"} }

// TestPTYShell: an interactive shell shows its prompt, runs commands, and
// job control works; Ctrl-C interrupts the foreground job, not sbshim; the
// exit status passes through and the terminal is restored.
func TestPTYShell(t *testing.T) {
	b := newBox(t)
	o := b.startPTY([]string{"--audit-log", "-"}, bash()...)
	o.expect("sbx$ ")
	o.send("echo result-$((6*7))\r")
	o.expect("result-42")
	o.send("tty\r")
	o.expect("/dev/pts/")

	// Job control: a background job, brought to the foreground,
	// suspended with Ctrl-Z, listed, killed.
	o.send("sleep 100 &\r")
	o.expect("[1] ")
	o.send("jobs\r")
	o.expect("Running")
	sleep := o.descendant("sleep", "100")
	o.send("fg\r")
	o.waitForeground(sleep)
	o.send("\x1a") // Ctrl-Z
	o.expect("Stopped")
	o.send("jobs\r")
	o.expect("Stopped")
	o.send("kill -9 %1; wait; echo killed-$((2+2))\r")
	o.expect("killed-4")

	// Ctrl-C ends the foreground command; the shell and sbshim go on.
	o.send("sleep 101\r")
	fg := o.descendant("sleep", "101")
	o.waitForeground(fg)
	o.send("\x03")
	o.send("echo alive-$((3+4))\r")
	o.expect("alive-7")

	// Ctrl-\ reaches the foreground command as SIGQUIT.
	o.send("sleep 102\r")
	fg = o.descendant("sleep", "102")
	o.waitForeground(fg)
	o.send("\x1c")
	o.expect("Quit")

	o.send("exit 7\r")
	if code := o.wait(); code != 7 {
		t.Fatalf("exit status %d, want 7; the terminal shows:\n%s", code, o.tail())
	}
	o.checkRestored()
}

// TestPTYResize: the command's terminal follows the size of the outer one.
func TestPTYResize(t *testing.T) {
	b := newBox(t)
	o := b.startPTY([]string{"--audit-log", "-"}, bash()...)
	o.expect("sbx$ ")
	o.send("echo size-$(stty size | tr ' ' x)\r")
	o.expect("size-24x80")
	if err := pty.Setsize(o.master, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	// The resize reaches the inner terminal through a signal to sbshim;
	// ask until it has arrived.
	deadline := time.Now().Add(ptyWait)
	for {
		o.send("echo size-$(stty size | tr ' ' x)\r")
		if o.waitFor("size-33x101", time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the inner terminal never became 33x101; it shows:\n%s", o.tail())
		}
	}
	o.send("exit\r")
	if code := o.wait(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	o.checkRestored()
}

// TestPTYFullScreen: vi and less draw on the terminal and exit cleanly.
func TestPTYFullScreen(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		show string // text that is on the screen once it is drawn
		quit string
	}{
		{"vi", []string{"vi", "-u", "NONE", "-i", "NONE", "notes.txt"}, "line-one-of-notes", ":q!\r"},
		{"less", []string{"less", "notes.txt"}, "line-one-of-notes", "q"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.argv[0]); err != nil {
				t.Fatalf("%s is not installed (.ci/run installs it): %v", c.argv[0], err)
			}
			b := newBox(t)
			b.mkfile("proj/notes.txt", "line-one-of-notes\nline-two\n")
			o := b.startPTY([]string{"--audit-log", "-"}, c.argv...)
			o.expect(c.show)
			o.waitRaw()
			o.send(c.quit)
			if code := o.wait(); code != 0 {
				t.Fatalf("%s exited %d; the terminal shows:\n%s", c.name, code, o.tail())
			}
			o.checkRestored()
		})
	}
}

// TestPTYExitStatus: the command's status passes through PTY mode.
func TestPTYExitStatus(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		want int
	}{
		{"zero", []string{"true"}, 0},
		{"code", []string{"sh", "-c", "exit 3"}, 3},
		{"signal", []string{"sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM)},
		{"not found", []string{"no-such-command-sbshim"}, 127},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t)
			o := b.startPTY([]string{"--audit-log", "-"}, c.argv...)
			if code := o.wait(); code != c.want {
				t.Fatalf("exit status %d, want %d; the terminal shows:\n%s", code, c.want, o.tail())
			}
			o.checkRestored()
		})
	}
}

// TestPTYSignals: sbshim stopped by SIGTERM or SIGHUP gives the user
// their terminal back as it was, and the command's session is hung up as
// a closed terminal would hang it up.
func TestPTYSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			b := newBox(t)
			o := b.startPTY([]string{"--audit-log", "-", "--term-grace", "300ms"}, bash()...)
			o.expect("sbx$ ")
			o.waitRaw()
			if err := o.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// An interactive bash ignores SIGTERM; the hang-up ends it.
			if code := o.wait(); code != 128+int(syscall.SIGHUP) {
				t.Fatalf("exit status %d, want %d; the terminal shows:\n%s", code, 128+int(syscall.SIGHUP), o.tail())
			}
			o.checkRestored()
			if left := descendants(o.cmd.Process.Pid); len(left) > 0 {
				t.Fatalf("processes left behind: %v", left)
			}
		})
	}
}

// TestPTYOutputAndSummary: the command's last output arrives whole; what
// the sandbox blocked is not printed while the command runs, only one
// summary line after it, and the audit log has the session as "pty".
func TestPTYOutputAndSummary(t *testing.T) {
	b := newBox(t)
	log := filepath.Join(b.root, "audit.jsonl")
	o := b.startPTY([]string{"--audit-log", log}, "sh", "-c",
		"cat ~/.ssh/id_rsa; cat ~/.aws/credentials; seq 1 2000; printf 'last-%s' line")
	if code := o.wait(); code != 0 {
		t.Fatalf("exit status %d; the terminal shows:\n%s", code, o.tail())
	}
	// The outer terminal may deliver the last bytes after sbshim exited.
	o.expect("\r\n2000\r\n")
	o.expect("last-line\r\nsbshim: 2 blocked attempts — sbshim audit --session ")
	o.expect(" --events --dir " + b.root + "\r\n")
	if out := o.output(); strings.Contains(out, "sbshim: blocked") || strings.Contains(out, "SECRET") {
		t.Fatalf("sbshim printed over the command's screen, or a secret leaked:\n%s", o.tail())
	}
	o.checkRestored()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	blocked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct{ Type, Mode string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		switch r.Type {
		case "session_start":
			mode = r.Mode
		case "blocked":
			blocked++
		}
	}
	if mode != "pty" || blocked != 2 {
		t.Fatalf("audit log: mode %q, %d blocked records, want pty and 2:\n%s", mode, blocked, data)
	}
}

// TestPTYNoInjection: TIOCSTI from inside is refused, and nothing reaches
// the input of the user's terminal.
func TestPTYNoInjection(t *testing.T) {
	b := newBox(t)
	o := b.startPTY([]string{"--audit-log", "-"}, filepath.Join(binDir, "attempt"), "tiocsti-stdin", "echo INJECTED\n")
	o.expect(`"ok":false`)
	o.wait()
	if !strings.Contains(o.output(), `"errno":"EPERM"`) {
		t.Fatalf("TIOCSTI was not refused with EPERM:\n%s", o.tail())
	}
	n, err := unix.IoctlGetInt(int(o.slave.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d bytes wait in the outer terminal's input", n)
	}
	o.checkRestored()
}

// TestPTYFlags: --no-pty on a terminal hands the command sbshim's own
// terminal; --pty gives the command a terminal even on pipes; pipes alone
// do not.
func TestPTYFlags(t *testing.T) {
	b := newBox(t)
	o := b.startPTY([]string{"--audit-log", "-", "--no-pty"}, "sh", "-c", "test -t 0 && echo inherited-$((1+1))")
	o.expect("inherited-2")
	if code := o.wait(); code != 0 {
		t.Fatalf("--no-pty: exit %d; the terminal shows:\n%s", code, o.tail())
	}
	o.checkRestored()
	stdout, stderr, code := b.run([]string{"--audit-log", "-", "--pty"}, "sh", "-c", "test -t 0 && test -t 1 && tty")
	if code != 0 || !strings.Contains(stdout, "/dev/pts/") {
		t.Fatalf("--pty with pipes: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = b.run([]string{"--audit-log", "-"}, "sh", "-c", "test -t 0 || echo not-a-terminal")
	if code != 0 || !strings.Contains(stdout, "not-a-terminal") {
		t.Fatalf("pipes without --pty: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Outside PTY mode the command has no controlling terminal: an MCP server
// started by a client that runs in a terminal cannot open /dev/tty to read
// the user's keys or write to their screen.
func TestNoControllingTerminalOutsidePTYMode(t *testing.T) {
	b := newBox(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	go func() { _, _ = io.Copy(io.Discard, master) }()
	cmd := b.command([]string{"--no-pty", "--audit-log", "-"}, "/bin/sh", "-c",
		// <> opens with O_CREAT (sbshim's supervisor performs that open),
		// < without (the kernel's).
		`for how in rw r; do
		   if [ $how = rw ]; then (exec 3<>/dev/tty) 2>/dev/null; else (exec 3</dev/tty) 2>/dev/null; fi && echo opened || echo refused
		 done`)
	cmd.Stdin = strings.NewReader("")
	cmd.ExtraFiles = []*os.File{slave} // fd 3 in sbshim: its controlling terminal
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sbshim: %v", err)
	}
	if string(out) != "refused\nrefused\n" {
		t.Fatalf("the command opened sbshim's terminal through /dev/tty: %q", out)
	}
}

// TestPTYTerminalFilter: in PTY mode the sandbox's colours, text and
// title reach the user's terminal, and what reads or changes state
// outside the screen does not: OSC 52 clipboard sets and queries (also
// one cut in two writes), a title report, a DECRQSS query.
func TestPTYTerminalFilter(t *testing.T) {
	b := newBox(t)
	script := `printf '\033[31mred-text\033[0m\n'
printf '\033]52;c;Y2xpcGJvYXJkLXNldA==\007'
printf '\033]5'; sleep 0.2; printf '2;c;c3BsaXQ=\033\\'
printf '\033]52;c;?\007\033[21t\033P$qm\033\\\033]0;filter-title\007'
printf 'after-%s\n' marker`
	o := b.startPTY([]string{"--audit-log", "-"}, "sh", "-c", script)
	if code := o.wait(); code != 0 {
		t.Fatalf("exit status %d; the terminal shows:\n%q", code, o.tail())
	}
	o.expect("after-marker")
	out := o.output()
	for _, want := range []string{"\x1b[31mred-text\x1b[0m", "\x1b]0;filter-title\a"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q did not reach the terminal:\n%q", want, out)
		}
	}
	for _, bad := range []string{"]52", "Y2xpcGJvYXJk", "c3BsaXQ", "\x1b[21t", "\x1bP", "$qm"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q reached the terminal:\n%q", bad, out)
		}
	}
	o.checkRestored()
}
