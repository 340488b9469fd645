package mcp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func benchFramer(b *testing.B, lineLen int) {
	line := append(bytes.Repeat([]byte("x"), lineLen-1), '\n')
	f := NewFramer(&loopReader{data: line}, FramerOptions{})
	b.SetBytes(int64(lineLen))
	b.ReportAllocs()
	for b.Loop() {
		for {
			seg, err := f.Next()
			if err != nil {
				b.Fatal(err)
			}
			if seg.End {
				break
			}
		}
	}
}

func BenchmarkFramer(b *testing.B) {
	b.Run("1KiB", func(b *testing.B) { benchFramer(b, 1<<10) })
	b.Run("1MiB", func(b *testing.B) { benchFramer(b, 1<<20) })
}

const (
	benchRequest  = `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/home/me/proj/README.md","head":100},"_meta":{"progressToken":"tok-42"}}}` + "\n"
	benchResponse = `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"# Project\n\nSome readme text that goes on for a while, as tool results do.\n"}],"isError":false}}` + "\n"
)

func BenchmarkEnvelope(b *testing.B) {
	big := `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"` + strings.Repeat("lorem ipsum ", 90000) + `"}]}}` + "\n"
	for _, tc := range []struct{ name, line string }{
		{"request", benchRequest},
		{"response", benchResponse},
		{"response1MB", big},
	} {
		b.Run(tc.name, func(b *testing.B) {
			line := []byte(tc.line)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if Decode(line).Kind == KindInvalid {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func BenchmarkTracker(b *testing.B) {
	req := Decode([]byte(benchRequest))
	resp := Decode([]byte(benchResponse))
	tr := NewTracker(TrackerOptions{})
	// A realistic background of other calls in flight.
	for i := range 100 {
		e := Decode(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":"bg%d","method":"tools/call","params":{"name":"x"}}`, i))
		tr.Observe(ClientToServer, &e, time.Now(), nil)
	}
	ended := make([]Call, 0, 4)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(ClientToServer, &req, now, nil)
		ended = tr.Observe(ServerToClient, &resp, now, ended[:0])
		if len(ended) != 1 {
			b.Fatal("no match")
		}
	}
}

func BenchmarkEnvelopeEscaped(b *testing.B) {
	// Source code as a tool result: an escape every few dozen bytes.
	text := strings.Repeat(`\tif err != nil {\n\t\treturn fmt.Errorf(\"read %s: %w\", path, err)\n\t}\n`, 15000)
	line := []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"` + text + `"}]}}` + "\n")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if Decode(line).Kind == KindInvalid {
			b.Fatal("invalid")
		}
	}
}
