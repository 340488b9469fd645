package audit

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// startFollow runs a Follower on dir in the background; entries arrive on
// the returned channel. The follower stops at the end of the test.
func startFollow(t *testing.T, fl *Follower) (<-chan Entry, *[]BadLine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Entry, 100)
	var mu sync.Mutex
	var bad []BadLine
	fl.Interval = 10 * time.Millisecond
	fl.OnBad = func(b BadLine) { mu.Lock(); bad = append(bad, b); mu.Unlock() }
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx, func(e Entry) error { ch <- e; return nil }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ch, &bad
}

// next waits (at most 10s: a bound, not a measure of speed) for an entry.
func next(t *testing.T, ch <-chan Entry) Entry {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no entry within 10s")
		return Entry{}
	}
}

// none checks that nothing arrives during a few polls.
func none(t *testing.T, ch <-chan Entry) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("unexpected entry %s", e.Raw)
	case <-time.After(100 * time.Millisecond):
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFollowAppend(t *testing.T) {
	dir := t.TempDir()
	p := writeLog(t, dir, "filesystem.jsonl", lnStart, lnCall1, "garbage")
	ch, bad := startFollow(t, &Follower{Dir: dir, Filter: Filter{Types: []string{TypeToolCall, TypeBlocked}}})
	if e := next(t, ch); string(e.Raw) != lnCall1 || e.Line != 2 {
		t.Fatalf("existing entry %s line %d", e.Raw, e.Line)
	}
	none(t, ch)
	// A line written in two pieces comes out once, whole.
	appendTo(t, p, lnBlk1[:40])
	none(t, ch)
	appendTo(t, p, lnBlk1[40:]+"\n")
	if e := next(t, ch); string(e.Raw) != lnBlk1 || e.Line != 4 {
		t.Fatalf("appended entry %s line %d", e.Raw, e.Line)
	}
	// Through a Writer too.
	w, err := Open(p, "filesystem", "Z")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(Record{Type: TypeToolCall, Tool: Tools{"x"}, Outcome: OutcomeOK})
	w.Write(Record{Type: TypeSessionEnd})
	w.Close()
	if e := next(t, ch); e.Record.Session != "Z" || !e.Record.Tool.Has("x") {
		t.Fatalf("written entry %s", e.Raw)
	}
	none(t, ch)
	if len(*bad) != 1 || (*bad)[0].Line != 3 {
		t.Errorf("bad lines %v", *bad)
	}
}

func TestFollowNewFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit") // does not exist yet
	ch, _ := startFollow(t, &Follower{Dir: dir})
	none(t, ch)
	writeLog(t, dir, "fetch.jsonl", lnBlk2)
	if e := next(t, ch); string(e.Raw) != lnBlk2 {
		t.Fatalf("entry %s", e.Raw)
	}
	writeLog(t, dir, "other.txt", lnCall1)
	none(t, ch)
	// Replaced by a new file (rotation): read from its start.
	os.Remove(filepath.Join(dir, "fetch.jsonl"))
	writeLog(t, dir, "fetch.jsonl", lnCall2)
	if e := next(t, ch); string(e.Raw) != lnCall2 {
		t.Fatalf("entry after replacement %s", e.Raw)
	}
}

func TestFollowFromEnd(t *testing.T) {
	dir := t.TempDir()
	p := writeLog(t, dir, "fs.jsonl", lnCall1, lnBlk1)
	ch, _ := startFollow(t, &Follower{Dir: dir, FromEnd: true, Filter: Filter{Server: "fetch"}})
	none(t, ch)
	appendTo(t, p, lnCall1+"\n"+lnCall2+"\n")
	if e := next(t, ch); string(e.Raw) != lnCall2 {
		t.Fatalf("entry %s", e.Raw)
	}
}

func TestFollowStopsOnCallbackError(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "fs.jsonl", lnCall1)
	fl := &Follower{Dir: dir}
	errStop := os.ErrClosed
	if err := fl.Run(context.Background(), func(Entry) error { return errStop }); err != errStop {
		t.Errorf("Run = %v", err)
	}
}
