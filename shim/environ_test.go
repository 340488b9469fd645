package shim

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// TestHeldBackLine checks the stderr line that names the variables held
// back: one line, every name, the kind of credential for a value, never a
// value, and names that could break or forge a line escaped.
func TestHeldBackLine(t *testing.T) {
	for _, c := range []struct {
		held []policy.EnvHeld
		want string
	}{
		{nil, ""},
		{[]policy.EnvHeld{{Name: "GITHUB_PAT", Rule: "env.deny *_PAT"}},
			"sbshim: environment: held back GITHUB_PAT; pass one with --env-pass NAME\n"},
		{[]policy.EnvHeld{
			{Name: "BW_SESSION", Rule: "env.deny *SESSION*"},
			{Name: "REDIS_URL", Rule: "env.value a URL with a password"},
			{Name: "github_token", Rule: "env.deny *TOKEN"},
		}, "sbshim: environment: held back BW_SESSION, REDIS_URL (its value holds a URL with a password), github_token; pass one with --env-pass NAME\n"},
		{[]policy.EnvHeld{
			{Name: "X_TOKEN\nsbshim: blocked read /etc/passwd", Rule: "env.deny *TOKEN*"},
			{Name: "A,B", Rule: "env.deny A*"},
			{Name: "K\xff\u202e_KEY", Rule: "env.deny *_KEY"},
		}, `sbshim: environment: held back "X_TOKEN\nsbshim: blocked read /etc/passwd", "A,B", "K\xff\u202e_KEY"; pass one with --env-pass NAME` + "\n"},
	} {
		got := heldBackLine(c.held)
		if got != c.want {
			t.Errorf("heldBackLine(%v)\n got %q\nwant %q", c.held, got, c.want)
		}
		if strings.Count(got, "\n") > 1 {
			t.Errorf("heldBackLine wrote more than one line: %q", got)
		}
	}
}

// TestHeldBackLineIsBounded checks that a flood of held-back variables, or
// a huge name, still makes one short line that says what it left out.
func TestHeldBackLineIsBounded(t *testing.T) {
	var held []policy.EnvHeld
	for i := range 1000 {
		held = append(held, policy.EnvHeld{Name: fmt.Sprintf("T%04d_TOKEN", i), Rule: "env.deny *TOKEN"})
	}
	held = append(held, policy.EnvHeld{Name: strings.Repeat("K", 1<<17) + "_KEY", Rule: "env.deny *_KEY"})
	line := heldBackLine(held)
	if len(line) > 4096 || strings.Count(line, "\n") != 1 {
		t.Fatalf("line of %d bytes, %d newlines", len(line), strings.Count(line, "\n"))
	}
	for _, want := range []string{"T0000_TOKEN, ", "T0063_TOKEN, and 937 more;"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "T0064_TOKEN") {
		t.Errorf("line names more than %d variables", heldBackMaxNames)
	}
	if got := envName(strings.Repeat("K", 1<<17)); got != strings.Repeat("K", heldBackMaxName)+"..." {
		t.Errorf("envName of a long name = %q", got)
	}
	if got := envName(strings.Repeat("\n", 200)); got != strconv.QuoteToASCII(strings.Repeat("\n", heldBackMaxName))+"..." {
		t.Errorf("envName of a long odd name = %q", got)
	}
}
