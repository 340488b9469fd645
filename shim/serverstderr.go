package shim

import (
	"io"
)

// serverMarker is what sbshim inserts into a server's stderr before the
// colon of every "sbshim:" in it (any case): "sbshim(server):".
const serverMarker = "(server)"

// ownPrefix is the word sbshim's own stderr lines start with, before
// their colon.
const ownPrefix = "sbshim"

// serverStderr relays the sandboxed command's stderr to w unchanged, except
// that "(server)" is inserted before the colon of every "sbshim:" in it,
// the letters in any case ("sbshim(server): blocked ..."). The text
// "sbshim:" on sbshim's stderr is then always sbshim's own, wherever it
// stands: at the start of a line, after a carriage return or an escape
// sequence that moves the cursor, or where a long line wraps on a
// terminal. The server cannot undo the insertion, since every byte it
// writes passes here.
//
// Nothing is held back: the six bytes before a colon are all the state
// needed, and a chunk is written with one Write, so a line end is seen
// where the chunk has one.
type serverStderr struct {
	w    io.Writer
	tail [len(ownPrefix)]byte // the last bytes passed on, lower-cased, right-aligned
	n    int                  // how many of tail are valid
	buf  []byte
}

// Write passes p on, marked.
func (f *serverStderr) Write(p []byte) (int, error) {
	out := p
	marked := false
	start := 0
	for i, c := range p {
		if c != ':' || !f.endsWithOwn(p[:i]) {
			continue
		}
		if !marked {
			f.buf = f.buf[:0]
			marked = true
		}
		f.buf = append(f.buf, p[start:i]...)
		f.buf = append(f.buf, serverMarker...)
		start = i
	}
	if marked {
		out = append(f.buf, p[start:]...)
		f.buf = out
	}
	f.remember(p)
	if _, err := f.w.Write(out); err != nil {
		return 0, err
	}
	if cap(f.buf) > 64<<10 {
		f.buf = nil
	}
	return len(p), nil
}

// endsWithOwn says whether the stream, up to the end of before (the start
// of the current chunk), ends with "sbshim" in any case.
func (f *serverStderr) endsWithOwn(before []byte) bool {
	const k = len(ownPrefix)
	for j := 1; j <= k; j++ {
		var c byte
		if j <= len(before) {
			c = before[len(before)-j]
		} else if jj := j - len(before); jj <= f.n {
			c = f.tail[k-jj]
		} else {
			return false
		}
		if lower(c) != ownPrefix[k-j] {
			return false
		}
	}
	return true
}

// remember keeps the last bytes of the stream after p.
func (f *serverStderr) remember(p []byte) {
	const k = len(ownPrefix)
	if len(p) >= k {
		for j := range k {
			f.tail[j] = lower(p[len(p)-k+j])
		}
		f.n = k
		return
	}
	copy(f.tail[:], f.tail[len(p):])
	for j, c := range p {
		f.tail[k-len(p)+j] = lower(c)
	}
	f.n = min(f.n+len(p), k)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
