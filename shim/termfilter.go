package shim

import (
	"bytes"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// What a sandboxed program may send to the user's terminal in PTY mode.
//
// The command's output is the input of the user's terminal emulator,
// which also holds state outside its screen (the clipboard, the desktop's
// notifications and windows, user-defined keys, a log file) and answers
// queries by typing into its input. termFilter passes what a program
// needs to draw — text, the C0 controls that move the cursor, cursor and
// erase sequences, colours, scroll regions, the screen modes, the title,
// web hyperlinks — and drops everything else: every escape sequence that
// reads or changes state outside the screen, every query whose answer is
// more than a fixed-format number about the screen, and every sequence it
// does not know.
//
// The filter emits only whole sequences it has parsed from the ground
// state and approved, in a plain 7-bit form, and text as valid UTF-8 with
// no C1 controls; a sequence is held until its final byte, so a sequence
// split across reads is judged whole, and one that never ends is never
// emitted. What it drops the terminal never sees, so the terminal's
// parser is in its ground state wherever the filter's is.

// Bounds of the sequences the filter holds while it waits for their end.
const (
	// maxCSI bounds a control sequence (long SGR colour lists fit).
	maxCSI = 256
	// maxOSC bounds an operating system command (a title, a hyperlink).
	maxOSC = 4096
	// maxESC bounds an escape sequence's intermediate bytes.
	maxESC = 8
)

// Parser states, after the VT500-series parser that terminals follow.
const (
	stGround    = iota
	stEsc       // after ESC, seq holds ESC and intermediates
	stCSI       // in a control sequence, seq holds it
	stCSIIgnore // in a control sequence that is dropped
	stOSC       // in an OSC string, seq holds it unless ignore
	stString    // in a DCS, SOS, PM or APC string: dropped
	stStringEsc // ESC inside a string
)

// Byte classes of the ground state.
const (
	clText  = iota // printable ASCII: passes
	clC0ok         // a C0 control that only moves the cursor or rings: passes
	clDrop         // a control that is dropped (NUL, ENQ, DEL, ...)
	clESC          // ESC
	clAbort        // CAN, SUB: cancel a sequence
	clHigh         // 0x80..0xFF: UTF-8, or C1 and Latin-1 on an 8-bit terminal
)

// classOf is the class of byte b.
func classOf(b byte) uint8 {
	switch {
	case b >= 0x20 && b < 0x7f:
		return clText
	case b >= 0x80:
		return clHigh
	case b >= 0x07 && b <= 0x0f:
		// BEL, BS, HT, LF, VT, FF, CR, SO, SI.
		return clC0ok
	case b == 0x1b:
		return clESC
	case b == 0x18, b == 0x1a:
		return clAbort
	}
	return clDrop
}

// termFilter filters a terminal output stream; see the comment above. It
// keeps the state of an unfinished sequence between calls. The zero value
// is not ready: use newTermFilter.
type termFilter struct {
	utf8   bool // the terminal decodes UTF-8 (else it is 8-bit: 0x80..0x9F are C1)
	state  int
	seq    []byte // the sequence being held
	ignore bool   // stOSC: the string is dropped, seq is not kept
	bel    bool   // stOSC: the string ended with BEL
	osc    bool   // stStringEsc: the string is an OSC
	pend   [utf8.UTFMax]byte
	npend  int // bytes of an unfinished UTF-8 character
}

// newTermFilter returns a filter for a terminal that decodes UTF-8, or,
// when utf8 is false, one with an 8-bit character set.
func newTermFilter(utf8 bool) *termFilter {
	return &termFilter{utf8: utf8, seq: make([]byte, 0, 64)}
}

// terminalIsUTF8 says whether the user's terminal is taken to decode
// UTF-8: unless the locale in force (LC_ALL, LC_CTYPE, LANG, the first
// set) names another character set, as in en_US.ISO-8859-1.
func terminalIsUTF8(getenv func(string) string) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		_, cs, ok := strings.Cut(v, ".")
		if !ok {
			return true
		}
		cs, _, _ = strings.Cut(cs, "@")
		cs = strings.ToLower(strings.ReplaceAll(cs, "-", ""))
		return cs == "utf8"
	}
	return true
}

// userTerminalIsUTF8 is terminalIsUTF8 of sbshim's own environment.
func userTerminalIsUTF8() bool { return terminalIsUTF8(os.Getenv) }

// filter appends to dst what of p may reach the terminal and returns it.
func (f *termFilter) filter(dst, p []byte) []byte {
	if f.npend > 0 {
		dst, p = f.finishRune(dst, p)
	}
	for i := 0; i < len(p); {
		if f.state != stGround {
			if p[i] >= 0x80 && f.state != stOSC && f.state != stString {
				// A character (or C1) ends an escape or control
				// sequence unfinished; it is read again in the ground
				// state.
				f.state = stGround
				continue
			}
			if f.state == stCSI {
				// A run of parameter bytes is taken at once.
				if j := f.csiParams(p, i); j > i {
					i = j
					continue
				}
			}
			dst = f.sequenceByte(dst, p[i])
			i++
			continue
		}
		// Ground: runs of text pass as they are.
		j := f.textRun(p, i)
		dst = append(dst, p[i:j]...)
		if j == len(p) {
			break
		}
		i = j
		b := p[i]
		switch classOf(b) {
		case clC0ok:
			dst = append(dst, b)
			i++
		case clESC:
			f.startEsc()
			i++
		case clHigh:
			var n int
			dst, n = f.high(dst, p[i:])
			i += n
		default: // clDrop, clAbort
			i++
		}
	}
	return dst
}

// textRun returns the end of the run of text that starts at p[i]:
// printable ASCII, and characters that are neither controls nor invalid.
func (f *termFilter) textRun(p []byte, i int) int {
	for i < len(p) {
		c := p[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			i++
			continue
		case c < 0x80:
			return i
		case !f.utf8:
			if c < 0xa0 {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r < 0xa0 || r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return i
}

// csiParams appends to the control sequence the run of parameter digits
// and separators at p[i], when they may follow what it holds, and
// returns the end of the run (i if it took none).
func (f *termFilter) csiParams(p []byte, i int) int {
	if body := f.seq[2:]; len(body) > 0 && body[len(body)-1] < 0x30 {
		return i
	}
	j := i
	for j < len(p) && p[j] >= '0' && p[j] <= ';' && len(f.seq)+j-i < maxCSI {
		j++
	}
	f.seq = append(f.seq, p[i:j]...)
	return j
}

// high handles a byte ≥ 0x80 at the start of p in the ground state and
// says how many bytes it used. On a UTF-8 terminal a valid character
// passes unless it is a C1 control (U+0080..U+009F), an invalid byte
// becomes U+FFFD, and a character cut by the end of p waits for the next
// call. On an 8-bit terminal C1 controls are dropped and the rest passes.
func (f *termFilter) high(dst, p []byte) ([]byte, int) {
	if !f.utf8 {
		if p[0] >= 0xa0 {
			dst = append(dst, p[0])
		}
		return dst, 1
	}
	if !utf8.FullRune(p) {
		f.npend = copy(f.pend[:], p)
		return dst, len(p)
	}
	r, n := utf8.DecodeRune(p)
	return appendRune(dst, r, p[:n]), n
}

// appendRune appends the decoded character r, whose encoding is enc,
// unless it is a C1 control; an invalid byte becomes U+FFFD.
func appendRune(dst []byte, r rune, enc []byte) []byte {
	switch {
	case r == utf8.RuneError && len(enc) == 1:
		return append(dst, "\uFFFD"...)
	case r >= 0x80 && r < 0xa0:
		return dst
	}
	return append(dst, enc...)
}

// finishRune completes the UTF-8 character that the previous call ended
// in the middle of, and returns what is left of p.
func (f *termFilter) finishRune(dst, p []byte) ([]byte, []byte) {
	for f.npend > 0 {
		var tmp [2 * utf8.UTFMax]byte
		n := copy(tmp[:], f.pend[:f.npend])
		k := copy(tmp[n:], p[:min(len(p), utf8.UTFMax-n)])
		if !utf8.FullRune(tmp[:n+k]) {
			// Still cut: k is all of p.
			f.npend = copy(f.pend[:], tmp[:n+k])
			return dst, nil
		}
		r, size := utf8.DecodeRune(tmp[:n+k])
		if size > n {
			f.npend = 0
			return appendRune(dst, r, tmp[:size]), p[size-n:]
		}
		// The held bytes are invalid on their own: the first becomes
		// U+FFFD, the rest are tried again.
		dst = append(dst, "\uFFFD"...)
		f.npend = copy(f.pend[:], f.pend[1:f.npend])
	}
	return dst, p
}

// sequenceByte takes one byte while a sequence is open.
func (f *termFilter) sequenceByte(dst []byte, b byte) []byte {
	switch f.state {
	case stEsc, stCSI, stCSIIgnore:
		// As in a terminal, C0 controls inside an escape or control
		// sequence act at once and leave the sequence open; emitting
		// them before it has the same effect. CAN and SUB cancel it, ESC
		// starts a new one, DEL is ignored. (filter ends the sequence
		// at a byte ≥ 0x80.)
		switch classOf(b) {
		case clC0ok:
			return append(dst, b)
		case clDrop:
			return dst
		case clAbort:
			f.state = stGround
			return dst
		case clESC:
			f.startEsc()
			return dst
		}
		if f.state == stEsc {
			return f.escByte(dst, b)
		}
		return f.csiByte(dst, b)
	case stOSC:
		return f.oscByte(dst, b)
	case stString:
		switch b {
		case 0x1b:
			f.state, f.osc = stStringEsc, false
		case 0x18, 0x1a:
			f.state = stGround
		}
		return dst
	case stStringEsc:
		if b == '\\' {
			if f.osc && !f.ignore {
				dst = f.emitOSC(dst)
			}
			f.state = stGround
			return dst
		}
		// ESC followed by anything else ends the string unfinished and
		// starts an escape sequence.
		f.startEsc()
		return f.sequenceByte(dst, b)
	}
	return dst
}

// startEsc starts an escape sequence.
func (f *termFilter) startEsc() {
	f.state, f.seq, f.ignore = stEsc, append(f.seq[:0], 0x1b), false
}

// escByte takes an intermediate or final byte of an escape sequence.
func (f *termFilter) escByte(dst []byte, b byte) []byte {
	if b < 0x30 { // an intermediate
		if len(f.seq) > maxESC {
			f.ignore = true
			return dst
		}
		f.seq = append(f.seq, b)
		return dst
	}
	if f.ignore {
		f.state = stGround
		return dst
	}
	if len(f.seq) == 1 {
		switch b {
		case '[':
			f.state, f.seq = stCSI, append(f.seq, b)
			return dst
		case ']':
			f.state, f.seq, f.ignore = stOSC, append(f.seq, b), false
			return dst
		case 'P', 'X', '^', '_': // DCS, SOS, PM, APC
			f.state = stString
			return dst
		}
	}
	f.state = stGround
	if escAllowed(f.seq[1:], b) {
		dst = append(append(dst, f.seq...), b)
	}
	return dst
}

// escAllowed says whether the escape sequence with intermediates inter
// and final byte fin passes.
func escAllowed(inter []byte, fin byte) bool {
	switch len(inter) {
	case 0:
		// DECSC, DECRC, DECBI, DECFI, DECKPAM, DECKPNM, IND, NEL, HTS, RI,
		// SS2, SS3, RIS, LS2, LS3, LS3R, LS2R, LS1R.
		return strings.IndexByte("7869=>DEHMNOcno|}~", fin) >= 0
	case 1, 2:
		switch inter[0] {
		case '(', ')', '*', '+', '-', '.', '/':
			// Designate a character set, e.g. ESC ( 0 for line drawing.
			return len(inter) == 1 || strings.IndexByte(`"%&`, inter[1]) >= 0
		case '#':
			// DECDHL, DECSWL, DECDWL, DECALN.
			return len(inter) == 1 && strings.IndexByte("34568", fin) >= 0
		}
	}
	return false
}

// csiByte takes a parameter, intermediate or final byte of a control
// sequence.
func (f *termFilter) csiByte(dst []byte, b byte) []byte {
	if b >= 0x40 { // the final byte
		ignore := f.state == stCSIIgnore
		f.state = stGround
		if ignore {
			return dst
		}
		return appendCSI(dst, f.seq[2:], b)
	}
	if f.state == stCSIIgnore {
		return dst
	}
	if len(f.seq) >= maxCSI {
		f.state = stCSIIgnore
		return dst
	}
	body := f.seq[2:]
	switch {
	case b >= 0x3c && b <= 0x3f: // a private marker: only first
		if len(body) > 0 {
			f.state = stCSIIgnore
			return dst
		}
	case b >= 0x30: // a parameter: not after an intermediate
		if len(body) > 0 && body[len(body)-1] < 0x30 {
			f.state = stCSIIgnore
			return dst
		}
	}
	f.seq = append(f.seq, b)
	return dst
}

// decModeAllowed says whether a DEC private mode (CSI ? Pm h, l, s, r)
// passes: cursor keys, screen, origin, wrap, autorepeat, cursor blink and
// visibility, mouse tracking and its encodings, focus events, meta key,
// alternate screen, margins, bracketed paste, synchronized output,
// grapheme clusters, in-band resize reports.
func decModeAllowed(m []byte) bool {
	switch string(m) {
	case "1", "4", "5", "6", "7", "8", "9", "12", "25", "45", "47", "66", "67", "69",
		"1000", "1002", "1003", "1004", "1005", "1006", "1007", "1015", "1016",
		"1034", "1035", "1036", "1039", "1047", "1048", "1049",
		"2004", "2026", "2027", "2048":
		return true
	}
	return false
}

// appendCSI appends the control sequence whose parameter and
// intermediate bytes are body and whose final byte is fin, if it passes;
// a mode list keeps only its allowed modes.
func appendCSI(dst, body []byte, fin byte) []byte {
	var marker byte
	if len(body) > 0 && body[0] >= 0x3c && body[0] <= 0x3f {
		marker, body = body[0], body[1:]
	}
	n := 0
	for n < len(body) && body[n] >= 0x30 {
		n++
	}
	params, inter := body[:n], body[n:]
	// Parameters are numbers separated by ';', and in SGR also ':' (as
	// in 38:2::255:0:0).
	sgr := fin == 'm' && marker == 0 && len(inter) == 0
	for _, c := range params {
		if (c < '0' || c > '9') && c != ';' && (c != ':' || !sgr) {
			return dst
		}
	}
	ps := string(params)
	ok := false
	switch string(inter) {
	case "":
		switch marker {
		case 0:
			switch fin {
			case '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M',
				'P', 'S', 'X', 'Z', '`', 'a', 'b', 'd', 'e', 'f', 'g', 'm', 'r', 's', 'u':
				ok = true
			case 'T': // SD; with more parameters it starts mouse highlighting
				ok = !strings.Contains(ps, ";")
			case 'h', 'l': // IRM only
				ok = ps == "4"
			case 'n': // DSR: status, cursor position
				ok = ps == "5" || ps == "6"
			case 'c': // DA1
				ok = ps == "" || ps == "0"
			case 't': // push and pop the title (XTWINOPS 22, 23) only
				ok = titleStack(ps)
			}
		case '?':
			switch fin {
			case 'h', 'l', 's', 'r':
				return appendModes(dst, params, fin)
			case 'J', 'K': // DECSED, DECSEL
				ok = true
			case 'n': // DECXCPR: cursor position
				ok = ps == "6"
			case 'u': // the keyboard protocol's flags
				ok = ps == ""
			case 'W': // DECST8C
				ok = ps == "5"
			}
		case '>':
			switch fin {
			case 'c': // DA2
				ok = ps == "" || ps == "0"
			case 'm', 'n', 'u': // key modifier modes; push keyboard flags
				ok = true
			}
		case '<', '=':
			ok = fin == 'u' // pop, set keyboard flags
		}
	case " ":
		// DECSCUSR cursor style, SL and SR shift left and right.
		ok = marker == 0 && (fin == 'q' || fin == '@' || fin == 'A')
	case "!":
		ok = marker == 0 && fin == 'p' && ps == "" // DECSTR soft reset
	case "$":
		// DECRQM: is a mode set (the answer is one number).
		ok = (marker == 0 || marker == '?') && fin == 'p' && !strings.Contains(ps, ";")
	}
	if !ok {
		return dst
	}
	dst = append(dst, 0x1b, '[')
	if marker != 0 {
		dst = append(dst, marker)
	}
	return append(append(append(dst, params...), inter...), fin)
}

// titleStack says whether the parameters of CSI t push or pop the title
// (22 or 23, optionally with 0, 1 or 2).
func titleStack(ps string) bool {
	op, which, _ := strings.Cut(ps, ";")
	return (op == "22" || op == "23") && (which == "" || which == "0" || which == "1" || which == "2")
}

// appendModes appends CSI ? Pm fin with only the allowed modes of params,
// or nothing if none is.
func appendModes(dst, params []byte, fin byte) []byte {
	start := len(dst)
	dst = append(dst, 0x1b, '[', '?')
	kept := 0
	for m := range bytes.SplitSeq(params, []byte{';'}) {
		if !decModeAllowed(m) {
			continue
		}
		if kept > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, m...)
		kept++
	}
	if kept == 0 {
		return dst[:start]
	}
	return append(dst, fin)
}

// oscByte takes a byte of an OSC string. The string ends at BEL or ESC \;
// a control inside it, or more than maxOSC bytes, drop it.
func (f *termFilter) oscByte(dst []byte, b byte) []byte {
	switch b {
	case 0x07:
		f.state, f.bel = stGround, true
		if !f.ignore {
			dst = f.emitOSC(dst)
		}
		return dst
	case 0x1b:
		f.state, f.osc, f.bel = stStringEsc, true, false
		return dst
	case 0x18, 0x1a:
		f.state = stGround
		return dst
	}
	if f.ignore {
		return dst
	}
	if b < 0x20 || b == 0x7f || len(f.seq) >= maxOSC {
		f.ignore = true
		return dst
	}
	if b == ';' && bytes.IndexByte(f.seq[2:], ';') < 0 && !oscAllowedNumber(f.seq[2:]) {
		// Known from its number to be dropped: nothing more is kept.
		f.ignore = true
		return dst
	}
	f.seq = append(f.seq, b)
	return dst
}

// oscAllowedNumber says whether the OSC whose number is ps may pass:
// 0, 1, 2 (titles), 7 (working directory), 8 (hyperlink), 133 (prompt
// marks).
func oscAllowedNumber(ps []byte) bool {
	switch string(ps) {
	case "0", "1", "2", "7", "8", "133":
		return true
	}
	return false
}

// emitOSC appends the OSC held in seq, ended as it was ended, if its
// number, payload and encoding pass.
func (f *termFilter) emitOSC(dst []byte) []byte {
	body := f.seq[2:]
	num, payload, ok := bytes.Cut(body, []byte{';'})
	if !ok || !oscAllowedNumber(num) || !f.cleanText(payload) {
		return dst
	}
	switch string(num) {
	case "7":
		if !hasPrefixFold(payload, "file://") {
			return dst
		}
	case "8":
		_, uri, ok := bytes.Cut(payload, []byte{';'})
		if !ok || len(uri) > 0 && !hasPrefixFold(uri, "http://") && !hasPrefixFold(uri, "https://") {
			return dst
		}
	}
	dst = append(dst, f.seq...)
	if f.bel {
		return append(dst, 0x07)
	}
	return append(dst, 0x1b, '\\')
}

// cleanText says whether p is printable text: no controls, and valid
// UTF-8 without C1 controls (on an 8-bit terminal, no byte 0x80..0x9F).
func (f *termFilter) cleanText(p []byte) bool {
	for i := 0; i < len(p); {
		b := p[i]
		if b < 0x80 {
			if b < 0x20 || b == 0x7f {
				return false
			}
			i++
			continue
		}
		if !f.utf8 {
			if b < 0xa0 {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 || r < 0xa0 {
			return false
		}
		i += n
	}
	return true
}

func hasPrefixFold(p []byte, prefix string) bool {
	return len(p) >= len(prefix) && strings.EqualFold(string(p[:len(prefix)]), prefix)
}

// termWriter is an io.Writer that passes on to w only what a termFilter
// lets through: for anything from inside the sandbox that is written to
// the user's terminal.
type termWriter struct {
	w   io.Writer
	f   *termFilter
	buf []byte
}

// newTermWriter returns a termWriter to w for a terminal that decodes
// UTF-8 or, when utf8 is false, has an 8-bit character set.
func newTermWriter(w io.Writer, utf8 bool) *termWriter {
	return &termWriter{w: w, f: newTermFilter(utf8)}
}

// Write filters p and writes what passes; it counts p as written whole.
func (t *termWriter) Write(p []byte) (int, error) {
	t.buf = t.f.filter(t.buf[:0], p)
	if len(t.buf) == 0 {
		return len(p), nil
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
