package mcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its data in pieces whose sizes cycle through sizes.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = c.sizes[c.i%len(c.sizes)]
		c.i++
	}
	n = max(n, 0)
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// framedLine is one line as reassembled from a Framer's segments.
type framedLine struct {
	data     string
	oversize bool
}

// countingReader counts the reads it passes on.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// collectLines runs a Framer to the end, checking segment invariants, and
// returns the reassembled lines.
func collectLines(t testing.TB, r io.Reader, opts FramerOptions) []framedLine {
	t.Helper()
	cr := &countingReader{r: r}
	asked := 0    // CutThrough calls during the current line
	held := false // CutThrough said no for the current line
	if cut := opts.CutThrough; cut != nil {
		opts.CutThrough = func() bool {
			asked++
			yes := cut()
			held = !yes
			return yes
		}
	}
	f := NewFramer(cr, opts)
	var lines []framedLine
	var cur []byte
	inOversize := false
	for i := 0; ; i++ {
		ready := i%3 == 1 && f.Ready()
		readsBefore := cr.reads
		seg, err := f.Next()
		if ready && cr.reads != readsBefore {
			t.Fatalf("Ready said Next would not read, but it did")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if asked > 1 {
			t.Fatalf("CutThrough asked %d times about one line", asked)
		}
		if seg.Partial() {
			if opts.CutThrough == nil || held {
				t.Fatalf("Partial segment %q without cut-through", seg.Bytes)
			}
			if inOversize {
				t.Fatalf("oversize line continued by a Partial segment")
			}
		}
		if inOversize && !seg.Oversize {
			t.Fatalf("oversize line interrupted by a normal segment")
		}
		wantLine := seg.End && !seg.Oversize
		if (seg.Line != nil) != wantLine {
			t.Fatalf("segment %+v: Line set = %v, want %v", seg, seg.Line != nil, wantLine)
		}
		if len(seg.Bytes) == 0 && !(seg.End && (seg.Oversize || len(cur) > 0)) {
			t.Fatalf("empty segment %+v", seg)
		}
		if i := bytes.IndexByte(seg.Bytes, '\n'); i >= 0 && i != len(seg.Bytes)-1 {
			t.Fatalf("segment holds a newline before its end: %q", seg.Bytes)
		}
		if bytes.HasSuffix(seg.Bytes, []byte("\n")) && !seg.End {
			t.Fatalf("segment ends in newline but End is false")
		}
		cur = append(cur, seg.Bytes...)
		if wantLine && !bytes.Equal(seg.Line, cur) {
			t.Fatalf("Line %q, want the whole line %q", seg.Line, cur)
		}
		if seg.Whole() != (wantLine && len(seg.Bytes) == len(cur)) {
			t.Fatalf("Whole() = %v for %+v", seg.Whole(), seg)
		}
		inOversize = seg.Oversize && !seg.End
		if seg.End {
			lines = append(lines, framedLine{string(cur), seg.Oversize})
			cur = cur[:0]
			asked, held = 0, false
		}
	}
	if len(cur) != 0 || inOversize {
		t.Fatalf("stream ended inside a line: %q", cur)
	}
	return lines
}

// referenceLines splits s after every newline; a non-empty tail is a line.
func referenceLines(s string, maxLine int) []framedLine {
	var out []framedLine
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line = s[:i+1]
		}
		content := strings.TrimSuffix(line, "\n")
		out = append(out, framedLine{line, len(content) > maxLine})
		s = s[len(line):]
	}
	return out
}

func checkFramer(t testing.TB, input string, maxLine, initial int, sizes []int) {
	t.Helper()
	n := 0
	for _, cut := range []func() bool{
		nil,
		func() bool { return true },
		func() bool { return false },
		func() bool { n++; return n%2 == 0 },
	} {
		checkFramerCut(t, input, maxLine, initial, sizes, cut)
	}
}

func checkFramerCut(t testing.TB, input string, maxLine, initial int, sizes []int, cut func() bool) {
	t.Helper()
	r := &chunkReader{data: []byte(input), sizes: sizes}
	got := collectLines(t, r, FramerOptions{MaxLine: maxLine, InitialBuffer: initial, CutThrough: cut})
	want := referenceLines(input, maxLine)
	var joined strings.Builder
	for _, l := range got {
		joined.WriteString(l.data)
	}
	if joined.String() != input {
		t.Fatalf("bytes altered:\n got %q\nwant %q", joined.String(), input)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		maxLine int
	}{
		{"empty", "", 16},
		{"one line", `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n", 100},
		{"no final newline", "a\nb", 16},
		{"only newlines", "\n\n\n", 16},
		{"crlf", "a\r\nb\r\n\r\n", 16},
		{"invalid utf8", "\xff\xfe\x00\n\xc3\x28\n", 16},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]` + "\n", 200},
		{"exactly at cap", "0123456789\n", 10},
		{"one over cap", "0123456789A\nok\n", 10},
		{"oversize at eof", "0123456789ABCDEF", 10},
		{"oversize then short", strings.Repeat("x", 100) + "\nshort\n" + strings.Repeat("y", 33), 10},
		{"cap one", "ab\n\nc\n", 1},
	}
	readers := map[string][]int{
		"bytewise": {1},
		"mixed":    {3, 1, 7, 64, 2},
		"big":      {1 << 20},
	}
	for _, tc := range tests {
		for rname, sizes := range readers {
			for _, initial := range []int{1, 4, 0} {
				t.Run(tc.name+"/"+rname, func(t *testing.T) {
					checkFramer(t, tc.input, tc.maxLine, initial, sizes)
				})
			}
		}
	}
}

func TestFramerDefaults(t *testing.T) {
	f := NewFramer(strings.NewReader(""), FramerOptions{})
	if f.MaxLine() != DefaultMaxLine {
		t.Fatalf("MaxLine = %d, want %d", f.MaxLine(), DefaultMaxLine)
	}
	if _, err := f.Next(); err != io.EOF {
		t.Fatalf("Next on empty input: %v, want io.EOF", err)
	}
	if _, err := f.Next(); err != io.EOF {
		t.Fatalf("Next after EOF: %v, want io.EOF", err)
	}
}

func TestFramerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\npartial"), iotest.ErrReader(boom))
	f := NewFramer(r, FramerOptions{})
	var got []string
	var err error
	for {
		var seg Segment
		seg, err = f.Next()
		if err != nil {
			break
		}
		got = append(got, string(seg.Bytes))
	}
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping boom", err)
	}
	if strings.Join(got, "|") != "a\n|partial" {
		t.Fatalf("delivered %q before the error", got)
	}
}

// zeroReader never makes progress.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestFramerNoProgress(t *testing.T) {
	_, err := NewFramer(zeroReader{}, FramerOptions{}).Next()
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

// loopReader returns data over and over, forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func TestFramerSteadyStateAllocs(t *testing.T) {
	line := []byte(strings.Repeat("x", 1000) + "\n")
	f := NewFramer(&loopReader{data: line}, FramerOptions{})
	for range 1000 { // warm up: let the buffer reach its final size
		if _, err := f.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		seg, err := f.Next()
		if err != nil || len(seg.Bytes) != len(line) {
			t.Fatalf("Next = %d bytes, %v", len(seg.Bytes), err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per line, want 0", allocs)
	}
}

func TestFramerCutThrough(t *testing.T) {
	r := &chunkReader{data: []byte("abc\ndefgh\nij"), sizes: []int{6, 3, 5}}
	f := NewFramer(r, FramerOptions{CutThrough: func() bool { return true }})
	var got []string
	for {
		seg, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%q/%q/%v", seg.Bytes, seg.Line, seg.End))
	}
	want := []string{
		`"abc\n"/"abc\n"/true`, // read 1: "abc\nde"
		`"de"/""/false`,        // partial, before read 2: "fgh"
		`"fgh"/""/false`,       // partial, before read 3: "\nij"
		`"\n"/"defgh\n"/true`,
		`"ij"/""/false`, // partial, before the read that ends in EOF
		`""/"ij"/true`,
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("segments\n got %v\nwant %v", got, want)
	}
}
