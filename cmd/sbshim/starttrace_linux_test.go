package main

import (
	"strings"
	"testing"
)

// TestStartTrace: SBSHIM_TRACE_START=1 makes sbshim write when each phase
// of the start was reached, its own and the init's; without it, nothing.
func TestStartTrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   []string
		want  []string // phases that must be traced
		trace bool
	}{
		{name: "on", env: []string{"SBSHIM_TRACE_START=1"}, trace: true,
			want: []string{"sbshim policy loaded", "sbshim init forked", "init   main entered", "init   mounts built", "init   command forked", "sbshim sandbox exited"}},
		{name: "off", trace: false},
		{name: "other value", env: []string{"SBSHIM_TRACE_START=yes"}, trace: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t)
			b.env = tc.env
			_, stderr, code := b.run(nil, "true")
			if code != 0 {
				t.Fatalf("sbshim -- true: exit %d: %s", code, stderr)
			}
			if got := strings.Contains(stderr, "sbshim: trace "); got != tc.trace {
				t.Fatalf("trace written: %v, want %v:\n%s", got, tc.trace, stderr)
			}
			for _, phase := range tc.want {
				if !strings.Contains(stderr, phase+"\n") {
					t.Errorf("no trace of %q in:\n%s", phase, stderr)
				}
			}
		})
	}
}
