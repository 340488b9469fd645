package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run sbshim in a tmux pane, type with send-keys and read the
// screen with capture-pane, as a person at a terminal emulator would.
// Every wait polls the screen until the expected text is there, within a
// deadline.

// tmuxPane is a tmux server of its own with one pane running sbshim.
type tmuxPane struct {
	t    *testing.T
	sock string
	dir  string
}

// startTmux runs sbshim (flags, "--", argv) in the box, in a fresh tmux
// server's 80×24 pane. A wrapper records the pane terminal's mode (stty
// -g) before and after sbshim and sbshim's exit status, then keeps the
// pane open.
func (b *box) startTmux(flags []string, argv ...string) *tmuxPane {
	b.t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		b.t.Fatalf("tmux is not installed (.ci/run installs it): %v", err)
	}
	p := &tmuxPane{t: b.t, sock: filepath.Join(b.root, "tmux.sock"), dir: b.root}
	cmd := b.command(flags, argv...)
	var env strings.Builder
	for _, kv := range append(cmd.Env, "PS1=sbx$ ") {
		k, _, _ := strings.Cut(kv, "=")
		if k == "TERM" || k == "TMUX" || k == "TMUX_PANE" {
			continue
		}
		env.WriteString(shellQuote(kv) + " ")
	}
	var args strings.Builder
	for _, a := range cmd.Args {
		args.WriteString(shellQuote(a) + " ")
	}
	inner := fmt.Sprintf("echo $$ > %s/pid\nexec env %s %s\n", b.root, env.String(), args.String())
	if err := os.WriteFile(filepath.Join(b.root, "sbshim.sh"), []byte(inner), 0o755); err != nil {
		b.t.Fatal(err)
	}
	script := fmt.Sprintf(`cd %s || exit 1
stty -g > %s/mode-before
sh %s/sbshim.sh
echo $? > %s/status.tmp && mv %s/status.tmp %s/status
stty -g > %s/mode-after
exec sleep 100000
`, shellQuote(b.ws), b.root, b.root, b.root, b.root, b.root, b.root)
	run := filepath.Join(b.root, "run.sh")
	if err := os.WriteFile(run, []byte(script), 0o755); err != nil {
		b.t.Fatal(err)
	}
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "sbx", "-x", "80", "-y", "24", "sh "+run)
	b.t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types with send-keys: plain text and tmux key names (Enter, C-z).
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys", "-t", "sbx"}, keys...)...)
}

func (p *tmuxPane) screen() string {
	p.t.Helper()
	return p.tmux("capture-pane", "-p", "-t", "sbx")
}

// waitScreen polls the pane until want is on the screen.
func (p *tmuxPane) waitScreen(want string) {
	p.t.Helper()
	deadline := time.Now().Add(ptyWait)
	for {
		s := p.screen()
		if strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %v for %q on the screen:\n%s", ptyWait, want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// retry types line until want is on the screen: for answers that depend
// on something arriving asynchronously (a resize).
func (p *tmuxPane) retry(line, want string) {
	p.t.Helper()
	deadline := time.Now().Add(ptyWait)
	for {
		p.keys(line, "Enter")
		time.Sleep(100 * time.Millisecond) // pacing the retries, not an assertion
		s := p.screen()
		if strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %v for %q on the screen:\n%s", ptyWait, want, s)
		}
	}
}

// file waits for a file the wrapper writes and returns its content.
func (p *tmuxPane) file(name string) string {
	p.t.Helper()
	deadline := time.Now().Add(ptyWait)
	for {
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %v for %s; the screen:\n%s", ptyWait, name, p.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *tmuxPane) sbshimPid() int {
	p.t.Helper()
	pid, err := strconv.Atoi(p.file("pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	return pid
}

// finish waits for sbshim's exit status and checks that the pane's
// terminal mode is what it was before sbshim.
func (p *tmuxPane) finish(want int) {
	p.t.Helper()
	if got := p.file("status"); got != strconv.Itoa(want) {
		p.t.Fatalf("exit status %s, want %d; the screen:\n%s", got, want, p.screen())
	}
	if before, after := p.file("mode-before"), p.file("mode-after"); before != after {
		p.t.Fatalf("stty -g before sbshim: %s\nafter: %s", before, after)
	}
}

// TestTmuxShell: in a tmux pane an interactive bash under sbshim shows a
// prompt, runs commands, does job control, takes Ctrl-C, follows a resize
// of the window, runs vi, and exits with its status; the pane's terminal
// mode is the same before and after.
func TestTmuxShell(t *testing.T) {
	b := newBox(t)
	b.mkfile("proj/notes.txt", "tmux-notes-line\n")
	p := b.startTmux([]string{"--audit-log", "-"}, bash()...)
	p.waitScreen("sbx$")
	p.keys("echo result-$((6*7))", "Enter")
	p.waitScreen("result-42")

	pid := p.sbshimPid()
	p.keys("sleep 100 &", "Enter")
	p.keys("jobs", "Enter")
	p.waitScreen("Running")
	sleep := waitDescendant(t, pid, "sleep", "100")
	p.keys("fg", "Enter")
	waitForeground(t, sleep)
	p.keys("C-z")
	p.waitScreen("Stopped")
	p.keys("clear; jobs", "Enter")
	p.waitScreen("Stopped")
	p.keys("kill -9 %1; wait; echo killed-$((2+2))", "Enter")
	p.waitScreen("killed-4")

	p.keys("clear; sleep 101", "Enter")
	waitForeground(t, waitDescendant(t, pid, "sleep", "101"))
	p.keys("C-c")
	p.keys("echo alive-$((3+4))", "Enter")
	p.waitScreen("alive-7")

	p.keys("clear; echo size-$(stty size | tr ' ' x)", "Enter")
	p.waitScreen("size-24x80")
	p.tmux("resize-window", "-t", "sbx", "-x", "100", "-y", "30")
	p.retry("clear; echo size-$(stty size | tr ' ' x)", "size-30x100")

	p.keys("clear; vi -u NONE -i NONE notes.txt", "Enter")
	p.waitScreen("tmux-notes-line")
	p.waitScreen("~")
	p.keys(":q!", "Enter")
	// vi may discard what is typed while it quits; ask until the shell
	// answers.
	p.retry("clear; echo back-$((4+5))", "back-9")

	p.keys("exit 3", "Enter")
	p.finish(3)
}

// TestTmuxTerminated: sbshim ended by SIGTERM in a tmux pane leaves the
// terminal as it found it.
func TestTmuxTerminated(t *testing.T) {
	b := newBox(t)
	p := b.startTmux([]string{"--audit-log", "-", "--term-grace", "300ms"}, bash()...)
	p.waitScreen("sbx$")
	if err := syscall.Kill(p.sbshimPid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.finish(128 + int(syscall.SIGHUP))
}

// TestTmuxClipboard: tmux, told to take OSC 52 from its programs into its
// paste buffers (set-clipboard on), gets the sandbox's colours but never
// its clipboard write; the same write from a program outside sbshim does
// make a buffer, so the test can see one.
func TestTmuxClipboard(t *testing.T) {
	b := newBox(t)
	p := b.startTmux([]string{"--audit-log", "-"}, bash()...)
	p.waitScreen("sbx$")
	p.tmux("set-option", "-g", "set-clipboard", "on")
	p.keys(`printf '\033[31mred-text\033[0m\n\033]52;c;c2FuZGJveA==\007'; echo done-$((2+3))`, "Enter")
	p.waitScreen("done-5")
	if screen := p.tmux("capture-pane", "-p", "-e", "-t", "sbx"); !strings.Contains(screen, "\x1b[31mred-text") {
		t.Errorf("the sandbox's red text is not red on the screen:\n%q", screen)
	}
	// A program outside sbshim, in a window of its own.
	p.tmux("new-window", "-d", `printf '\033]52;c;Y29udHJvbA==\007'; exec sleep 100000`)
	deadline := time.Now().Add(ptyWait)
	for !strings.Contains(p.tmux("list-buffers"), "control") {
		if time.Now().After(deadline) {
			t.Fatalf("tmux took no OSC 52 from outside sbshim either; the test shows nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if buffers := p.tmux("list-buffers"); strings.Contains(buffers, "sandbox") {
		t.Fatalf("the sandbox set tmux's clipboard:\n%s", buffers)
	}
	p.keys("exit", "Enter")
	p.finish(0)
}
