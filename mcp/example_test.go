package mcp_test

import (
	"fmt"
	"io"
	"time"

	"github.com/sbshim/sbshim/mcp"
)

// reads hands out one string per Read: how the bytes arrive through a pipe.
type reads []string

func (r *reads) Read(p []byte) (int, error) {
	if len(*r) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*r)[0])
	if n == len((*r)[0]) {
		*r = (*r)[1:]
	} else {
		(*r)[0] = (*r)[0][n:]
	}
	return n, nil
}

// The server→client half of the relay. Bytes are passed on as they
// arrive, except while a call in flight saw a block: then lines are held
// whole, so that the one answering that call can be annotated.
func Example_relay() {
	childStdout := &reads{
		`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"done"}]}}` + "\n" + "not json, ",
		"relayed as is\n",
	}
	tracker := mcp.NewTracker(mcp.TrackerOptions{})
	req := mcp.Decode([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file"}}`))
	tracker.Observe(mcp.ClientToServer, &req, time.Now(), nil)
	// A blocked attempt during the call (sbshim learns of it from the
	// sandbox while the call is in flight).
	blocked := map[uint64]string{}
	for _, c := range tracker.InFlight(nil) {
		blocked[c.Seq] = "sbshim: blocked read of ~/.ssh/id_rsa during " + c.Tool
	}

	fr := mcp.NewFramer(childStdout, mcp.FramerOptions{
		CutThrough: func() bool { return len(blocked) == 0 },
	})
	var ended []mcp.Call
	for {
		seg, err := fr.Next()
		if err == io.EOF {
			break
		}
		out := seg.Bytes
		if seg.Line != nil {
			env := mcp.Decode(seg.Line)
			ended = tracker.Observe(mcp.ServerToClient, &env, time.Now(), ended[:0])
			for _, c := range ended {
				note, ok := blocked[c.Seq]
				delete(blocked, c.Seq)
				if ok && seg.Whole() {
					if a, err := mcp.Annotate(seg.Line, note); err == nil {
						out = a
					}
				}
			}
		}
		fmt.Printf("%q\n", out) // to the client
	}
	// Output:
	// "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"},{\"type\":\"text\",\"text\":\"sbshim: blocked read of ~/.ssh/id_rsa during read_file\"}]}}\n"
	// "not json, "
	// "relayed as is\n"
}
