package shim

import (
	"bufio"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
)

// pipe returns a pipe whose ends the test closes at its end.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// readUntil reads from r until it has seen want, and returns what it read.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var got strings.Builder
	for !strings.HasSuffix(got.String(), want) {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		got.WriteByte(c)
	}
	return got.String()
}

// The client's line goes on as it arrives, but its end only once the
// tracker knows the request: the server cannot answer a call not yet
// tracked.
func TestClientToServerCutThrough(t *testing.T) {
	s := testSession(t)
	s.mcpStarted = make(chan struct{})
	clientR, clientW := pipe(t)
	childR, childW := pipe(t)
	done := make(chan struct{})
	go func() { s.clientToServer(clientR, childW); close(done) }()
	child := bufio.NewReader(childR)

	head := `{"jsonrpc":"2.0","id":1,"method":"tools/call",`
	clientW.WriteString(head)
	if got := readUntil(t, child, head); got != head {
		t.Fatalf("child got %q", got)
	}
	if n := len(s.tracker.InFlight(nil)); n != 0 {
		t.Fatalf("%d calls in flight before the request is complete", n)
	}
	tail := `"params":{"name":"read"}}` + "\n"
	clientW.WriteString(tail)
	readUntil(t, child, "\n")
	calls := s.tracker.InFlight(nil)
	if len(calls) != 1 || calls[0].Tool != "read" {
		t.Fatalf("when the child had the whole request, in flight: %+v", calls)
	}
	clientW.Close()
	<-done
	if _, err := child.ReadByte(); err != io.EOF {
		t.Fatalf("the child's stdin is not closed after the client's: %v", err)
	}
}

// A server line goes on as it arrives when nothing may need annotating;
// while a call in flight saw a block, lines are held whole and the result
// of that call gets its annotation.
func TestServerToClientHoldsForAnnotation(t *testing.T) {
	s := testSession(t)
	s.pol = &policy.Policy{Report: policy.ReportPolicy{Annotate: true}}
	childR, childW := pipe(t)
	clientR, clientW := pipe(t)
	s.out = newLineMux(clientW, 0)
	done := make(chan struct{})
	go func() { s.serverToClient(childR); close(done) }()
	client := bufio.NewReader(clientR)

	// No block: the start of a line is passed on at once.
	head := `{"jsonrpc":"2.0","method":"notifications/progress",`
	childW.WriteString(head)
	readUntil(t, client, head)
	childW.WriteString(`"params":{"progressToken":1,"progress":1}}` + "\n")
	readUntil(t, client, "\n")

	// A call in flight that saw a block: its result, arriving in pieces,
	// comes out whole and annotated.
	req := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read"}}`))
	s.tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)
	s.rep.event(isolation.Event{Kind: "file", Op: "read", Target: "/home/me/.ssh/id_rsa", Rule: "filesystem.denyRead ~/.ssh"})
	if !s.rep.blocksPending() {
		t.Fatal("the block was not attributed to the call")
	}
	childW.WriteString(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text",`)
	childW.WriteString(`"text":"done"}]}}` + "\n")
	line := readUntil(t, client, "\n")
	if !strings.Contains(line, `"text":"done"},{"type":"text","text":"sbshim blocked 1 attempt during this call:`) {
		t.Fatalf("the result is not annotated: %q", line)
	}
	if s.rep.blocksPending() {
		t.Fatal("blocks still pending after the call's result")
	}
	childW.Close()
	<-done
}
