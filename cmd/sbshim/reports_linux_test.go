package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Reports cannot be forged or garbled: what a sandboxed program writes or
// names can neither pass for one of sbshim's stderr lines nor break one.

// ownLines are the lines of stderr that are sbshim's own.
func ownLines(stderr string) []string {
	var own []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "sbshim: ") {
			own = append(own, l)
		}
	}
	return own
}

// A server's stderr line that imitates sbshim's — at a line start, after a
// carriage return, after an escape sequence — is relayed marked as the
// server's.
func TestStderrServerCannotForgeSbshim(t *testing.T) {
	b := newBox(t)
	script := `printf 'sbshim: blocked read /etc/shadow\nx\rSBSHIM: all clear\n\033[2Ksbshim: ok' >&2`
	_, stderr, code := b.run([]string{"--audit-log", "-"}, "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var own []string
	for _, l := range ownLines(stderr) {
		if !strings.HasPrefix(l, "sbshim: environment: held back ") { // sbshim's own, from this machine's environment
			own = append(own, l)
		}
	}
	if len(own) != 0 {
		t.Fatalf("the server's lines pass for sbshim's: %q", own)
	}
	for _, want := range []string{"sbshim(server): blocked read /etc/shadow\n", "x\rSBSHIM(server): all clear\n", "\x1b[2Ksbshim(server): ok"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%q", want, stderr)
		}
	}
}

// A blocked attempt on a file whose name holds a newline, a carriage
// return or escape sequences is one sbshim line, with the name escaped.
func TestStderrEscapesHostileNames(t *testing.T) {
	b := newBox(t)
	for _, name := range []string{"x\nsbshim: all clear", "y\rsbshim: ok", "z\x1b[1A\x1b[2K\x1b]52;c;Zm9v\a", "w\xff\u202e"} {
		target := b.mkfile(".ssh/"+name, "secret")
		_, stderr, _ := b.run([]string{"--audit-log", "-"}, "sh", "-c", `cat "$1" 2>/dev/null; true`, "sh", target)
		var blocked []string
		for _, l := range ownLines(stderr) {
			if strings.HasPrefix(l, "sbshim: blocked read "+filepath.Dir(target)) {
				blocked = append(blocked, l)
			}
		}
		if len(blocked) != 1 {
			t.Fatalf("%q: want one blocked line, stderr:\n%q", name, stderr)
		}
		if strings.Contains(stderr, "\nsbshim: all clear") || strings.Contains(stderr, "\rsbshim") || strings.ContainsAny(stderr, "\x1b\a\r") {
			t.Errorf("%q: the name broke out of sbshim's line:\n%q", name, stderr)
		}
		if !utf8.ValidString(blocked[0]) {
			t.Errorf("%q: invalid UTF-8 on stderr: %q", name, blocked[0])
		}
		for _, r := range blocked[0] {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Errorf("%q: %U on stderr: %q", name, r, blocked[0])
			}
		}
	}
}

// A flood of distinct blocked attempts inside the sandbox — 5,000 file
// names under a hidden directory, by one shell — leaves a bounded audit
// log and stderr, with the rest counted in blocked_summary records and
// session_end.
func TestFloodBoundedInSandbox(t *testing.T) {
	b := newBox(t)
	const n = 5000
	logPath := filepath.Join(b.root, "flood.jsonl")
	// The secrets exist on the host: reading them is what the sandbox
	// stops (a missing one would not be reported at all).
	for i := 0; i < n; i++ {
		b.mkfile(fmt.Sprintf(".ssh/%0200d", i), "SECRET")
	}
	script := `i=0; while [ $i -lt ` + strconv.Itoa(n) + ` ]; do true < "$1/$(printf %0200d $i)"; i=$((i+1)); done 2>/dev/null; true`
	_, stderr, code := b.run([]string{"--audit-log", logPath}, "sh", "-c", script, "sh", b.path(".ssh"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := auditRecords(t, logPath)
	listed, unlisted := 0, 0
	for _, r := range recs {
		switch r["type"] {
		case "blocked":
			listed += max(int(numOf(r["count"])), 1)
		case "blocked_summary":
			unlisted += int(numOf(r["count"]))
		}
	}
	end := ofType(recs, "session_end")
	if len(end) != 1 {
		t.Fatalf("no session_end: %v", recs)
	}
	blocked, dropped := int(numOf(end[0]["blocked"])), int(numOf(end[0]["dropped"]))
	if blocked < n || listed+unlisted != blocked || dropped != unlisted {
		t.Fatalf("%d attempts: session_end blocked %d dropped %d, listed %d, summarised %d", n, blocked, dropped, listed, unlisted)
	}
	if got := len(ofType(recs, "blocked")); got > 1000 {
		t.Errorf("%d blocked records", got)
	}
	if lines := strings.Count(stderr, "\n"); lines > 1003 || !strings.Contains(stderr, "more blocked attempts not listed one by one") {
		t.Errorf("%d stderr lines, ending %q", lines, stderr[max(0, len(stderr)-300):])
	}
}

func numOf(v any) float64 {
	f, _ := v.(float64)
	return f
}
