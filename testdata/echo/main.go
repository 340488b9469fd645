// Command echo is a minimal line-based MCP server for relay tests and
// benchmarks: it answers initialize, tools/list and every tools/call with a
// fixed text result, immediately — or, with -hold N, only once N calls are
// waiting, all at once and in reverse order (so that many calls are in
// flight together). It does no work, so what a benchmark measures is the
// relay in front of it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

func main() {
	hold := flag.Int("hold", 0, "answer tools/call only once `N` are waiting, in reverse order")
	flag.Parse()
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var held [][]byte
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			if reply := answer(line); reply != nil {
				if *hold > 0 && isCall(line) {
					held = append(held, reply)
					if len(held) == *hold {
						for i := len(held) - 1; i >= 0; i-- {
							out.Write(held[i])
						}
						held = held[:0]
					}
				} else {
					out.Write(reply)
				}
				if in.Buffered() == 0 {
					out.Flush()
				}
			}
		}
		if err != nil {
			out.Flush()
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "echo:", err)
				os.Exit(1)
			}
			return
		}
	}
}

func isCall(line []byte) bool {
	var r request
	return json.Unmarshal(line, &r) == nil && r.Method == "tools/call"
}

func answer(line []byte) []byte {
	var r request
	if json.Unmarshal(line, &r) != nil || r.ID == nil || r.Method == "" {
		return nil
	}
	var result string
	switch r.Method {
	case "initialize":
		result = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"echo","version":"1"}}`
	case "tools/list":
		result = `{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`
	case "tools/call":
		result = `{"content":[{"type":"text","text":"ok"}]}`
	default:
		result = `{}`
	}
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`+"\n", r.ID, result)
}
