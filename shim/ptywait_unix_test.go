//go:build linux || darwin

package shim

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// waitInput and waitInputSelect (macOS's) agree: the input is to be read
// when it has data or hung up, and not once the wake-up pipe is readable
// or closed, even with input waiting; a descriptor select cannot hold
// ends the wait at once.
func TestWaitInput(t *testing.T) {
	type fds struct{ in, wake int }
	tests := []struct {
		name  string
		setup func(t *testing.T) fds
		want  bool
	}{
		{"data", func(t *testing.T) fds {
			r, w := pipe(t)
			writeString(t, w, "x")
			return fds{fdNum(r), -1}
		}, true},
		{"data, wake-up pipe open", func(t *testing.T) fds {
			r, w := pipe(t)
			writeString(t, w, "x")
			wr, _ := pipe(t)
			return fds{fdNum(r), fdNum(wr)}
		}, true},
		{"hang-up", func(t *testing.T) fds {
			r, w := pipe(t)
			w.Close()
			wr, _ := pipe(t)
			return fds{fdNum(r), fdNum(wr)}
		}, true},
		{"woken", func(t *testing.T) fds {
			r, _ := pipe(t)
			wr, ww := pipe(t)
			ww.Close()
			return fds{fdNum(r), fdNum(wr)}
		}, false},
		{"woken with data waiting", func(t *testing.T) fds {
			r, w := pipe(t)
			writeString(t, w, "x")
			wr, ww := pipe(t)
			writeString(t, ww, "x")
			return fds{fdNum(r), fdNum(wr)}
		}, false},
	}
	for _, tt := range tests {
		for _, f := range []struct {
			name string
			wait func(fd, wake int) bool
		}{{"waitInput", waitInput}, {"waitInputSelect", waitInputSelect}} {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				d := tt.setup(t)
				if got := f.wait(d.in, d.wake); got != tt.want {
					t.Errorf("%s = %v, want %v", f.name, got, tt.want)
				}
			})
		}
	}
	if waitInputSelect(fdSetSize, -1) || waitInputSelect(0, fdSetSize) {
		t.Error("waitInputSelect waited on a descriptor beyond select's set")
	}
}

// Only a pid that can be a child's names the group to hang up: kill(2)
// would read the negation of 1 as every process, of 0 as sbshim's own
// group. (Checked on the predicate: a broken guard must not make the
// test signal every process.)
func TestChildPid(t *testing.T) {
	for _, c := range []struct {
		pid  int
		want bool
	}{{-4711, false}, {-1, false}, {0, false}, {1, false}, {2, true}, {4711, true}} {
		if got := childPid(c.pid); got != c.want {
			t.Errorf("childPid(%d) = %v, want %v", c.pid, got, c.want)
		}
	}
}

// macOS's hang-up signals the command's process group: every process of
// it.
func TestHangUpGroup(t *testing.T) {
	r, w := pipe(t)
	// The leader waits for a member of its group that reports its
	// SIGHUP; a member left unsignalled gives up after two minutes, so
	// that a failure ends rather than hangs.
	cmd := exec.Command("/bin/sh", "-c", `sh -c 'trap "echo member-hup; exit 0" HUP; echo ready; i=0; while [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done' & wait`)
	cmd.Stdout = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ready := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(r, ready); err != nil || string(ready) != "ready\n" {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("read %q, %v", ready, err)
	}
	if !hangUpGroup(cmd.Process.Pid) {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("hangUpGroup sent no signal")
	}
	rest, _ := io.ReadAll(r)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGHUP {
		t.Errorf("the leader ended with %v, want SIGHUP", err)
	}
	if !strings.Contains(string(rest), "member-hup") {
		t.Errorf("the group's member got no SIGHUP: %q", rest)
	}
}

// writeString writes s to f.
func writeString(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// fdNum is f's descriptor.
func fdNum(f *os.File) int {
	n, _ := fdOf(f)
	return n
}
