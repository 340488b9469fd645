package mcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine is the default parse cap: lines longer than this many bytes
// (not counting the terminating newline) are streamed through as oversize
// segments instead of being handed out whole.
const DefaultMaxLine = 16 << 20

// defaultInitialBuffer is the size of a Framer's first buffer. It grows by
// doubling up to MaxLine+1 and is then kept for the Framer's lifetime.
const defaultInitialBuffer = 64 << 10

// maxEmptyReads bounds how many times in a row a Reader may return (0, nil)
// before the Framer gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// FramerOptions configures a Framer. The zero value selects the defaults.
type FramerOptions struct {
	// MaxLine is the parse cap in bytes (default DefaultMaxLine). A line whose
	// content, without its '\n', is longer is delivered as oversize chunks.
	MaxLine int
	// InitialBuffer is the size of the first read buffer (default 64 KiB,
	// never more than MaxLine+1).
	InitialBuffer int
	// CutThrough, when set, lets a line that does not arrive in one read be
	// handed out as it arrives, in Partial segments, instead of only once it
	// is complete; it is still delivered whole, in Segment.Line, with its
	// last piece (up to the cap, as before). CutThrough is called at most
	// once per line, the first time the Framer could hand out part of it;
	// false holds that line back until it is complete (or over the cap).
	CutThrough func() bool
}

// Segment is one piece of the stream handed out by Framer.Next.
//
// Bytes and Line alias the Framer's internal buffer: they are valid only
// until the next call to Next and must not be modified or retained; copy
// them to keep them. Concatenating the Bytes of every segment reproduces the
// input exactly.
//
// A line within the cap comes out as one segment with End set, Bytes and
// Line both the whole line — or, with FramerOptions.CutThrough, as Partial
// segments followed by one with End set whose Bytes is the rest of the line
// and whose Line is the whole line again. A line over the cap comes out as
// Oversize chunks (after Partial segments, if any), the last with End set.
type Segment struct {
	// Bytes holds the bytes not handed out before: a whole line including
	// its '\n' (absent only for a final line at EOF), the start or the rest
	// of a line (cut-through), or, when Oversize, one chunk of a line over
	// the cap. It may be empty only in a segment with End set that closes a
	// line whose bytes were all handed out before.
	Bytes []byte
	// Line is the whole line, including the bytes handed out before, in the
	// segment that ends a line within the cap (End && !Oversize); nil in
	// every other segment. It is what to decode.
	Line []byte
	// Oversize reports that the line exceeds the parse cap; Bytes is then a
	// chunk of it and must be relayed without parsing.
	Oversize bool
	// End reports that Bytes ends a line. When neither End nor Oversize is
	// set, the segment is Partial.
	End bool
}

// Partial reports whether s is the start of a line within the cap so far,
// handed out before the line is complete (FramerOptions.CutThrough).
func (s Segment) Partial() bool { return !s.End && !s.Oversize }

// Whole reports whether s holds a whole line within the cap, nothing of it
// handed out before: Bytes and Line are then the same.
func (s Segment) Whole() bool { return s.Line != nil && len(s.Line) == len(s.Bytes) }

// Framer splits a byte stream into newline-delimited lines without altering,
// adding or dropping a single byte. It is not safe for concurrent use; run one
// Framer per stream.
//
// In the steady state Next does not allocate: one buffer is reused, and it is
// grown (by doubling) only until the longest line seen fits, up to MaxLine+1
// bytes. A line over the cap is streamed in buffer-sized chunks, so memory
// stays bounded by MaxLine whatever the input.
type Framer struct {
	r        io.Reader
	maxLine  int
	cut      func() bool
	buf      []byte
	start    int   // first byte of the current line in buf
	sent     int   // buf[start:sent] was handed out in Partial segments
	end      int   // end of valid data in buf
	scanned  int   // buf[start:scanned] is known to hold no '\n'
	err      error // sticky read error, reported once the buffer is empty
	oversize bool  // inside an oversize line
	decided  bool  // cut was asked about the current line
	cutting  bool  // ... and said yes
}

// NewFramer returns a Framer reading from r.
func NewFramer(r io.Reader, opts FramerOptions) *Framer {
	maxLine := opts.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	initial := opts.InitialBuffer
	if initial <= 0 {
		initial = defaultInitialBuffer
	}
	if initial > maxLine+1 {
		initial = maxLine + 1
	}
	return &Framer{r: r, maxLine: maxLine, cut: opts.CutThrough, buf: make([]byte, initial)}
}

// MaxLine returns the parse cap in effect.
func (f *Framer) MaxLine() int { return f.maxLine }

// Next returns the next segment of the stream. It returns either a segment or
// an error, never both: io.EOF once the input is exhausted and every byte has
// been delivered, or the underlying read error (wrapped, so errors.Is works)
// after the bytes read before it have been delivered.
func (f *Framer) Next() (Segment, error) {
	emptyReads := 0
	for {
		if seg, ok := f.take(); ok {
			return seg, nil
		}
		if f.err != nil {
			return f.flush()
		}
		if f.cutNow() {
			seg := Segment{Bytes: f.buf[f.sent:f.end:f.end]}
			f.sent = f.end
			return seg, nil
		}
		f.makeRoom()
		n, err := f.r.Read(f.buf[f.end:])
		if n < 0 || n > len(f.buf)-f.end {
			return Segment{}, fmt.Errorf("mcp: framer: reader returned invalid count %d", n)
		}
		f.end += n
		if err != nil {
			f.err = err
		} else if n == 0 {
			emptyReads++
			if emptyReads >= maxEmptyReads {
				f.err = io.ErrNoProgress
			}
		}
	}
}

// take hands out what the buffer already holds, if anything is ready.
func (f *Framer) take() (Segment, bool) {
	if f.end == f.sent {
		return Segment{}, false
	}
	if i := bytes.IndexByte(f.buf[f.scanned:f.end], '\n'); i >= 0 {
		stop := f.scanned + i + 1
		seg := Segment{Bytes: f.buf[f.sent:stop:stop], Oversize: f.oversize, End: true}
		if !f.oversize {
			seg.Line = f.buf[f.start:stop:stop]
		}
		f.nextLine(stop)
		return seg, true
	}
	f.scanned = f.end
	if f.oversize || f.end-f.start > f.maxLine {
		// Already inside an oversize line, or the buffer (MaxLine+1 bytes)
		// is full without a newline: stream what we have, buffer no further.
		seg := Segment{Bytes: f.buf[f.sent:f.end:f.end], Oversize: true}
		f.start, f.sent, f.end, f.scanned = 0, 0, 0, 0
		f.oversize = true
		return seg, true
	}
	return Segment{}, false
}

// nextLine moves past a line that ended just before stop.
func (f *Framer) nextLine(stop int) {
	f.start, f.sent, f.scanned = stop, stop, stop
	f.oversize, f.decided, f.cutting = false, false, false
}

// cutNow reports whether the unsent start of an incomplete line within the
// cap may be handed out now (take found nothing else to hand out).
func (f *Framer) cutNow() bool {
	if f.cut == nil || f.oversize || f.end == f.sent {
		return false
	}
	if !f.decided {
		f.decided, f.cutting = true, f.cut()
	}
	return f.cutting
}

// Ready reports whether Next would return without reading from the
// underlying reader — the moment to flush what was gathered from the
// segments handed out so far, before Next may block.
func (f *Framer) Ready() bool {
	if f.err != nil {
		return true
	}
	if f.end == f.sent {
		return false
	}
	if bytes.IndexByte(f.buf[f.scanned:f.end], '\n') >= 0 {
		return true
	}
	f.scanned = f.end
	return f.oversize || f.end-f.start > f.maxLine || f.cutNow()
}

// makeRoom ensures buf has free space after end, compacting and growing as
// needed. After it returns, len(buf) > end.
func (f *Framer) makeRoom() {
	if f.start > 0 {
		if f.start == f.end {
			f.start, f.sent, f.end, f.scanned = 0, 0, 0, 0
		} else if f.end == len(f.buf) || f.start >= len(f.buf)/2 {
			n := copy(f.buf, f.buf[f.start:f.end])
			f.scanned -= f.start
			f.sent -= f.start
			f.start, f.end = 0, n
		}
	}
	if f.end < len(f.buf) {
		return
	}
	size := 2 * len(f.buf)
	if size >= f.maxLine { // go straight to the cap, never to one byte short of it
		size = f.maxLine + 1
	}
	grown := make([]byte, size)
	copy(grown, f.buf[f.start:f.end])
	f.end -= f.start
	f.scanned -= f.start
	f.sent -= f.start
	f.start = 0
	f.buf = grown
}

// flush delivers the unterminated tail once the reader has failed or ended.
func (f *Framer) flush() (Segment, error) {
	if f.end > f.start {
		seg := Segment{Bytes: f.buf[f.sent:f.end:f.end], Oversize: f.oversize, End: true}
		if !f.oversize {
			seg.Line = f.buf[f.start:f.end:f.end]
		}
		f.nextLine(0)
		f.end = 0
		return seg, nil
	}
	if f.oversize {
		// The previous chunk was the last one; close the line explicitly.
		f.oversize = false
		return Segment{Bytes: f.buf[:0:0], Oversize: true, End: true}, nil
	}
	if errors.Is(f.err, io.EOF) {
		return Segment{}, io.EOF
	}
	return Segment{}, fmt.Errorf("mcp: framer read: %w", f.err)
}
