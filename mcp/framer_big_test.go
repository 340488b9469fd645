package mcp

import (
	"io"
	"runtime"
	"testing"
)

// patternReader yields n bytes of 'x' followed by "\n" and then "tail\n",
// without holding the line in memory.
type patternReader struct {
	left int
	tail []byte
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left > 0 {
		n := min(len(b), p.left)
		for i := range n {
			b[i] = 'x'
		}
		p.left -= n
		return n, nil
	}
	if len(p.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.tail)
	p.tail = p.tail[n:]
	return n, nil
}

func TestFramerHugeLineBoundedMemory(t *testing.T) {
	const lineLen = 100 << 20
	for _, tc := range []struct {
		name     string
		maxLine  int
		maxAlloc uint64
	}{
		{"default cap", 0, 36 << 20},
		{"1MiB cap", 1 << 20, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)

			f := NewFramer(&patternReader{left: lineLen, tail: []byte("\ntail\n")}, FramerOptions{MaxLine: tc.maxLine})
			var relayed, chunks int
			var lines []string
			maxHeap := before.HeapInuse
			for {
				seg, err := f.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				relayed += len(seg.Bytes)
				if seg.Oversize {
					chunks++
					if chunks%8 == 0 {
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						maxHeap = max(maxHeap, ms.HeapInuse)
					}
				}
				if seg.End {
					if seg.Oversize {
						lines = append(lines, "oversize")
					} else {
						lines = append(lines, string(seg.Bytes))
					}
				}
			}
			runtime.ReadMemStats(&after)
			if want := lineLen + len("\ntail\n"); relayed != want {
				t.Fatalf("relayed %d bytes, want %d", relayed, want)
			}
			if len(lines) != 2 || lines[0] != "oversize" || lines[1] != "tail\n" {
				t.Fatalf("lines = %q", lines)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			growth := maxHeap - before.HeapInuse
			t.Logf("chunks=%d TotalAlloc=+%d KiB HeapInuse peak=+%d KiB", chunks, alloc>>10, growth>>10)
			if alloc > tc.maxAlloc {
				t.Fatalf("TotalAlloc grew by %d bytes relaying a %d-byte line, limit %d", alloc, lineLen, tc.maxAlloc)
			}
			if maxHeap > before.HeapInuse && growth > tc.maxAlloc {
				t.Fatalf("HeapInuse grew by %d bytes, limit %d", growth, tc.maxAlloc)
			}
		})
	}
}
