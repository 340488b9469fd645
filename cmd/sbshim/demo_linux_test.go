package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDemoShowsEveryReport runs docs/demo.sh as the README says and checks
// that it shows what it promises: the three stderr lines, a log
// notification per attempt (the client set the log level only after the
// initialize answer, so the server accepts it), the annotated result, and
// the audit log.
func TestDemoShowsEveryReport(t *testing.T) {
	out, err := exec.Command("bash", "../../docs/demo.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("docs/demo.sh: %v\n%s", err, out)
	}
	text := string(out)
	for what, n := range map[string]int{
		"\n   sbshim: blocked ":                     3,
		`"method":"notifications/message"`:          3,
		`"id":3,"result"`:                           1,
		"sbshim blocked 3 atte":                     1,
		"try_escape  file read":                     1,
		"Nothing outside the workspace was written": 1,
	} {
		if got := strings.Count(text, what); got != n {
			t.Errorf("docs/demo.sh shows %q %d times, want %d:\n%s", what, got, n, text)
		}
	}
}
