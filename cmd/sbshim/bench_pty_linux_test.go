package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// echoTerm is a terminal with a raw-mode echo program on it: every byte
// typed comes straight back, written by the program, not the kernel.
type echoTerm struct {
	master *os.File
	cmd    *exec.Cmd
}

// rawEcho is the echo program: cat on a terminal in raw mode without
// the kernel's echo.
func rawEcho() []string { return []string{"sh", "-c", "stty raw -echo && echo ready && exec cat"} }

func startEchoTerm(tb testing.TB, argv []string, dir string, env []string) *echoTerm {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		tb.Fatalf("start %v: %v", argv, err)
	}
	e := &echoTerm{master: master, cmd: cmd}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		master.Close()
		_ = cmd.Wait()
	})
	// Wait for "ready", then until the echo of a byte comes back.
	var seen []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(ptyWait)
	for !bytes.Contains(seen, []byte("ready")) {
		if time.Now().After(deadline) {
			tb.Fatalf("%v never became ready: %q", argv, seen)
		}
		n, err := master.Read(buf)
		if err != nil {
			tb.Fatalf("%v: %v (%q)", argv, err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
	e.roundTrip(tb)
	return e
}

// roundTrip types one byte and waits for its echo.
func (e *echoTerm) roundTrip(tb testing.TB) time.Duration {
	var buf [64]byte
	start := time.Now()
	if _, err := e.master.Write([]byte{'x'}); err != nil {
		tb.Fatalf("type: %v", err)
	}
	for {
		n, err := e.master.Read(buf[:])
		if err != nil {
			tb.Fatalf("read the echo: %v", err)
		}
		if bytes.IndexByte(buf[:n], 'x') >= 0 {
			return time.Since(start)
		}
	}
}

// BenchmarkPTYEcho measures a keystroke's echo round trip — one byte typed
// into the user's terminal until the program's echo of it is back — with
// the program behind sbshim's PTY relay and, interleaved with it, on a
// plain pty. It reports both medians and sbshim's added latency at the
// median and the 99th percentile (target: added p50 ≤ 1 ms).
// bench/pty.sh prints the figures with a PASS/FAIL verdict.
func BenchmarkPTYEcho(b *testing.B) {
	root, err := os.MkdirTemp(testRoot(), "sbshim-bench-pty-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	env := append(filteredEnviron(), "HOME="+root, "XDG_STATE_HOME="+filepath.Join(root, "state"),
		"XDG_CACHE_HOME="+filepath.Join(root, "cache"), "XDG_CONFIG_HOME="+filepath.Join(root, "config"))
	plain := startEchoTerm(b, rawEcho(), root, env)
	sb := startEchoTerm(b, append([]string{filepath.Join(binDir, "sbshim"), "--audit-log", "-", "--"}, rawEcho()...), root, env)
	var p, s []time.Duration
	for b.Loop() {
		p = append(p, plain.roundTrip(b))
		s = append(s, sb.roundTrip(b))
	}
	pp50, pp99 := percentiles(p)
	sp50, sp99 := percentiles(s)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(pp50), "plain-p50-µs")
	b.ReportMetric(us(sp50), "sbshim-p50-µs")
	b.ReportMetric(us(sp50-pp50), "added-p50-µs")
	b.ReportMetric(us(sp99-pp99), "added-p99-µs")
	b.ReportMetric(0, "ns/op")
}

// percentiles returns the median and the 99th percentile of d.
func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// TestPTYEchoRoundTrip checks that the echo benchmark's machinery works
// (it is not a timing assertion).
func TestPTYEchoRoundTrip(t *testing.T) {
	b := newBox(t)
	e := startEchoTerm(t, append([]string{filepath.Join(binDir, "sbshim"), "--audit-log", "-", "--"}, rawEcho()...), b.ws, b.command(nil).Env)
	for range 10 {
		e.roundTrip(t)
	}
}
