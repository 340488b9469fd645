package seatbelt

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// collect gathers Blocked reports.
type collect struct {
	mu  sync.Mutex
	evs []Blocked
}

func (c *collect) add(ev Blocked) { c.mu.Lock(); c.evs = append(c.evs, ev); c.mu.Unlock() }
func (c *collect) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.evs {
		out = append(out, fmt.Sprintf("%s %s %s pid=%d exe=%s rule=%s", ev.Kind, ev.Op, ev.Target, ev.PID, ev.Exe, ev.Rule))
	}
	return out
}

// The watcher reads a stream as `log stream` writes it: the banner, this
// session's denials (one report per attempt), another session's, a
// process's own forged line, a metadata read, and a line cut short.
func TestLogWatcherStream(t *testing.T) {
	f, err := os.Open("testdata/stream.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := make([]string, 16)
	for i := range rules {
		rules[i] = fmt.Sprintf("rule%d", i)
	}
	var c collect
	w := newLogWatcher("sbshim-5f0c2a9e41d7b386", rules, c.add)
	w.run(f)
	want := []string{
		"file read /Users/u/.ssh/id_rsa pid=4711 exe=cat rule=rule3",
		"file create /Users/u/proj/.git/hooks/pre-commit pid=4712 exe=node rule=rule7",
		"net connect /private/var/run/docker.sock pid=4712 exe=node rule=rule9",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file exec /Users/u/proj/.git/hooks/post-checkout pid=4730 exe=sh rule=rule15",
		"syscall mach-lookup com.apple.pasteboard.1 pid=4712 exe=node rule=rule0",
	}
	if got := c.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !c.evs[0].Time.Equal(time.Date(2026, 3, 2, 22, 5, 9, 123456000, time.UTC)) {
		t.Errorf("time %v, want the log's", c.evs[0].Time)
	}
}

// The same attempt logged again at once is one report; logged again
// later, or by another process, it is another attempt.
func TestLogWatcherDedup(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	line := func(ts, pid, op, path string) string {
		return fmt.Sprintf(`{"eventType":"logEvent","processID":0,"processImagePath":"/kernel","timestamp":"2026-03-02 14:05:%s-0800","eventMessage":"Sandbox: node(%s) deny(1) %s %s\n%s"}`,
			ts, pid, op, path, DenyMessage(tag, 1))
	}
	stream := strings.Join([]string{
		line("09.000000", "1", "file-read-data", "/u/.ssh/a"),
		line("09.000300", "1", "file-read-data", "/u/.ssh/a"), // realpath's readlink, then the open
		line("09.000400", "2", "file-read-data", "/u/.ssh/a"), // another process
		line("09.000500", "1", "file-write-data", "/u/.ssh/a"),
		line("10.000000", "1", "file-read-data", "/u/.ssh/a"), // a second later: again
	}, "\n") + "\n"
	var c collect
	w := newLogWatcher(tag, []string{"r0", "r1"}, c.add)
	w.run(strings.NewReader(stream))
	want := []string{
		"file read /u/.ssh/a pid=1 exe=node rule=r1",
		"file read /u/.ssh/a pid=2 exe=node rule=r1",
		"file write /u/.ssh/a pid=1 exe=node rule=r1",
		"file read /u/.ssh/a pid=1 exe=node rule=r1",
	}
	if got := c.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Readiness: a stream that writes its banner is live; one that ends
// without a line (`log` refused: "Must be admin") never is. The drain
// at exit returns once the stream has ended, with every line reported.
func TestLogWatcherReadyAndDrain(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	pr, pw := io.Pipe()
	var c collect
	w := newLogWatcher(tag, []string{"r0"}, c.add)
	go w.run(pr)
	go func() {
		fmt.Fprintf(pw, "Filtering the log data using \"%s\"\n", logPredicate(tag))
	}()
	if !w.waitReady(time.Hour) {
		t.Fatal("not ready after the banner")
	}
	fmt.Fprintf(pw, `{"eventType":"logEvent","processID":0,"eventMessage":"Sandbox: cat(7) deny(1) file-read-data /x\n%s"}`+"\n", DenyMessage(tag, 0))
	pw.Close()
	w.drain(time.Hour, time.Hour)
	if got := c.lines(); len(got) != 1 || got[0] != "file read /x pid=7 exe=cat rule=r0" {
		t.Errorf("after the drain: %q", got)
	}

	refused := newLogWatcher(tag, nil, nil)
	go refused.run(strings.NewReader(""))
	if refused.waitReady(time.Hour) {
		t.Error("a stream that ended without a line is ready")
	}
}

// A line over the bound is skipped whole, and the next one still read.
func TestReadLineLong(t *testing.T) {
	in := strings.Repeat("x", 100) + "\nshort\n" + strings.Repeat("y", 10) + "\nlast"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		line, err := readLine(br, 50)
		if line != nil {
			got = append(got, string(line))
		}
		if err != nil {
			break
		}
	}
	want := []string{"", "short", strings.Repeat("y", 10), "last"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A live stream that ends while the command runs is said (lost), never
// silent; one that sbshim ends itself, or one that never started, is not.
func TestLogWatcherLost(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		stopped  bool
		wantLost bool
	}{
		{"ended while running", "Filtering the log data\n", false, true},
		{"ended by sbshim", "Filtering the log data\n", true, false},
		{"never started", "", false, false},
	}
	for _, tt := range tests {
		lost := false
		w := newLogWatcher("sbshim-0123456789abcdef", nil, nil)
		w.lost = func() { lost = true }
		if tt.stopped {
			w.stop()
		}
		w.run(strings.NewReader(tt.stream))
		if lost != tt.wantLost {
			t.Errorf("%s: lost %v, want %v", tt.name, lost, tt.wantLost)
		}
	}
}

// sbshim's marker coming through shows the stream delivers the session's
// messages; a stream that ends first never marks, and the marker is no
// denial.
func TestLogWatcherMarker(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	marker := fmt.Sprintf(`{"eventType":"logEvent","processID":812,"processImagePath":"/usr/bin/logger","eventMessage":%q}`, readyMarker(tag))
	tests := []struct {
		name   string
		stream string
		want   bool
	}{
		{"marker", "Filtering the log data\n" + marker + "\n", true},
		{"banner only", "Filtering the log data\n", false},
		{"another session's marker", "Filtering\n" + strings.ReplaceAll(marker, tag, "sbshim-aaaaaaaaaaaaaaaa") + "\n", false},
	}
	for _, tt := range tests {
		var c collect
		w := newLogWatcher(tag, nil, c.add)
		w.run(strings.NewReader(tt.stream))
		if got := w.waitMarked(time.Hour); got != tt.want || len(c.evs) != 0 {
			t.Errorf("%s: marked %v (events %v), want %v and no event", tt.name, got, c.evs, tt.want)
		}
	}
}
