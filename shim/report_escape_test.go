package shim

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
)

// syncBuffer is a bytes.Buffer safe for the reporter's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// reportSession is a Session whose stderr (and stdout) go to buffers, with
// the given report settings.
func reportSession(t *testing.T, rep policy.ReportPolicy) (s *Session, stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	s = &Session{
		pol:     &policy.Policy{Report: rep},
		id:      "S",
		tracker: mcp.NewTracker(mcp.TrackerOptions{}),
		proto:   mcp.NewProtocol(),
		out:     newLineMux(stdout, 0),
		errw:    newLineMux(stderr, 0),
	}
	s.rep = newReporter(s)
	t.Cleanup(func() { s.rep.close() })
	return s, stdout, stderr
}

// unprintable returns the first character of s that a terminal would not
// just print, or -1.
func unprintable(s string) rune {
	if !utf8.ValidString(s) {
		return utf8.RuneError
	}
	for _, r := range s {
		if r != ' ' && !unicode.IsPrint(r) {
			return r
		}
	}
	return -1
}

// A blocked attempt is one stderr line and one plain line of annotation,
// whatever the sandboxed program named its file and its executable: a
// newline cannot forge a second "sbshim:" line, nor an escape sequence
// reach the user's terminal.
func TestReportEscapesNames(t *testing.T) {
	hostile := []string{
		"/tmp/x\nsbshim: blocked nothing, all is well",
		"/tmp/x\rsbshim: ok",
		"/tmp/\x1b[1A\x1b[2K\x1b]52;c;Zm9v\a",
		"/tmp/\xff\xfe",
		"/tmp/\u202egnp.sh",
		"/tmp/a\u2028sbshim: b\u2029c\u0085d",
	}
	for _, h := range hostile {
		s, _, stderr := reportSession(t, policy.ReportPolicy{Stderr: true, Annotate: true})
		tool := "to\x1bol\nsbshim: x"
		req := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"to\u001bol\nsbshim: x"}}`))
		s.tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)
		s.rep.event(isolation.Event{Kind: "file", Op: "read", Target: h, PID: 7, Exe: "/bin/" + h, Rule: "filesystem.denyRead " + h})
		resp := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`))
		ended := s.tracker.Observe(mcp.ServerToClient, &resp, time.Now(), nil)
		if len(ended) != 1 || ended[0].Tool != tool {
			t.Fatalf("ended %+v", ended)
		}
		_, note := s.rep.callEnded(ended[0])
		s.rep.close()
		out := stderr.String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "sbshim: blocked read ") {
			t.Errorf("target %q: stderr is %d lines:\n%s", h, len(lines), out)
		}
		if r := unprintable(lines[0]); r != -1 {
			t.Errorf("target %q: %U on stderr: %q", h, r, out)
		}
		for i, l := range strings.Split(note, "\n") {
			if r := unprintable(l); r != -1 {
				t.Errorf("target %q: annotation line %d has %U: %q", h, i, r, note)
			}
		}
		if n := strings.Count(note, "\n"); n != 1 {
			t.Errorf("target %q: annotation of one attempt has %d line breaks: %q", h, n, note)
		}
	}
}
