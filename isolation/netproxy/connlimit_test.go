package netproxy

import (
	"sync"
	"testing"
)

// TestConnLimit: connections are served up to the limit; the first
// refusal of a run is the one reported; a run ends once a quarter of the
// connections have gone.
func TestConnLimit(t *testing.T) {
	l := &connLimit{max: 4}
	type step struct {
		release   bool
		ok, first bool
	}
	for i, s := range []step{
		{ok: true}, {ok: true}, {ok: true}, {ok: true},
		{ok: false, first: true}, {ok: false, first: false},
		{release: true}, // 3 open: a quarter gone, the run is over
		{ok: true},
		{ok: false, first: true},
		{release: true}, {release: true}, {release: true}, {release: true},
		{ok: true},
	} {
		if s.release {
			l.release()
			continue
		}
		ok, first := l.take()
		if ok != s.ok || first != s.first {
			t.Fatalf("step %d: take() = %v, %v; want %v, %v", i, ok, first, s.ok, s.first)
		}
	}
}

// TestConnLimitTeardown: connections ending while more arrive (a program
// exiting with all its connections open) never start a second run: a
// refusal is only ever against a count that is at the limit then.
func TestConnLimitTeardown(t *testing.T) {
	for round := 0; round < 200; round++ {
		l := &connLimit{max: 64}
		for range 64 {
			l.take()
		}
		if ok, first := l.take(); ok || !first {
			t.Fatalf("at the limit: take() = %v, %v", ok, first)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 64 {
				l.release()
			}
		}()
		reported := 0
		for range 64 {
			ok, first := l.take()
			if !ok && first {
				reported++
			}
			if ok {
				l.release()
			}
		}
		wg.Wait()
		if reported != 0 {
			t.Fatalf("round %d: %d new runs reported while the connections ended", round, reported)
		}
	}
}
