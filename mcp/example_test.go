package mcp_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sbshim/sbshim/mcp"
)

// The server→client half of the relay: every byte is passed on, a tool
// result during which something was blocked gets an annotation.
func Example_relay() {
	childStdout := strings.NewReader(
		`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"done"}]}}` + "\n" +
			"not json, relayed as is\n")
	tracker := mcp.NewTracker(mcp.TrackerOptions{})
	req := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file"}}`))
	tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)

	var clientStdout bytes.Buffer
	fr := mcp.NewFramer(childStdout, mcp.FramerOptions{})
	var ended []mcp.Call
	for {
		seg, err := fr.Next()
		if err == io.EOF {
			break
		}
		out := seg.Bytes
		if !seg.Oversize {
			env := mcp.Decode(seg.Bytes)
			ended = tracker.Observe(mcp.ServerToClient, &env, time.Now(), ended[:0])
			for _, c := range ended {
				if c.IsToolCall() {
					if a, err := mcp.Annotate(seg.Bytes, "sbshim: blocked read of ~/.ssh/id_rsa during "+c.Tool); err == nil {
						out = a
					}
				}
			}
		}
		clientStdout.Write(out)
	}
	fmt.Print(clientStdout.String())
	// Output:
	// {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"done"},{"type":"text","text":"sbshim: blocked read of ~/.ssh/id_rsa during read_file"}]}}
	// not json, relayed as is
}
