package shim

import (
	"strings"
	"testing"
)

func TestPTYModeUsePTY(t *testing.T) {
	cases := []struct {
		mode     PTYMode
		terminal bool
		want     bool
	}{
		{PTYAuto, true, true}, {PTYAuto, false, false},
		{PTYOn, true, true}, {PTYOn, false, true},
		{PTYOff, true, false}, {PTYOff, false, false},
	}
	for _, c := range cases {
		if got := c.mode.usePTY(c.terminal); got != c.want {
			t.Errorf("mode %d, stdin terminal %v: usePTY = %v, want %v", c.mode, c.terminal, got, c.want)
		}
	}
}

func TestHeldWriter(t *testing.T) {
	cases := []struct {
		name   string
		max    int
		before string // written before hold
		held   []string
		want   string // everything after release
	}{
		{"passes through", 10, "a\n", nil, "a\n"},
		{"keeps until release", 64, "", []string{"x\n", "y\n"}, "x\ny\n"},
		{"bounded", 4, "", []string{"abc", "defg"}, "abcd" + "sbshim: (3 bytes of messages dropped)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			h := newHeldWriter(&out, c.max)
			h.Write([]byte(c.before))
			h.hold()
			for _, s := range c.held {
				h.Write([]byte(s))
			}
			if got := out.String(); got != c.before {
				t.Fatalf("while held the output is %q, want %q", got, c.before)
			}
			if err := h.release(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != c.before+strings.TrimPrefix(c.want, c.before) {
				t.Fatalf("after release %q, want %q", got, c.want)
			}
			h.Write([]byte("z"))
			if !strings.HasSuffix(out.String(), "z") {
				t.Fatalf("writes after release do not pass through: %q", out.String())
			}
		})
	}
}

func TestBlockedSummary(t *testing.T) {
	cases := []struct {
		blocked  int
		auditLog string
		want     string
	}{
		{0, "", ""},
		{1, "", "sbshim: 1 blocked attempt — sbshim audit --session S --events\n"},
		{3, "", "sbshim: 3 blocked attempts — sbshim audit --session S --events\n"},
		{2, "-", "sbshim: 2 blocked attempts (no audit log: --audit-log -)\n"},
		{2, "/x/y.jsonl", "sbshim: 2 blocked attempts — sbshim audit --session S --events --dir /x\n"},
	}
	for _, c := range cases {
		if got := blockedSummary(c.blocked, "S", c.auditLog); got != c.want {
			t.Errorf("blockedSummary(%d, %q) = %q, want %q", c.blocked, c.auditLog, got, c.want)
		}
	}
}
