package mcp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// maxDepth is the deepest nesting the scanner accepts, the same limit
// encoding/json applies, so that both agree on what is valid.
const maxDepth = 10000

// scanner validates and walks JSON text held in b without allocating. Every
// method takes a start index and returns the index just past what it
// consumed; ok=false means the text is not valid JSON. Indexes are always
// bounds-checked, so no input can make it panic.
type scanner struct {
	b     []byte
	depth int
	// The first '"' at or after quoteFrom is at quote (len(b) if none),
	// as next found it; quote == 0 before the first search.
	quoteFrom, quote int
}

// ws skips JSON whitespace.
func (s *scanner) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value skips one JSON value starting exactly at i (no leading whitespace).
func (s *scanner) value(i int) (int, bool) {
	if i >= len(s.b) {
		return i, false
	}
	switch c := s.b[i]; {
	case c == '"':
		return s.str(i)
	case c == '{':
		return s.object(i, nil)
	case c == '[':
		return s.array(i, nil)
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(i)
	}
	return i, false
}

func (s *scanner) literal(i int, lit string) (int, bool) {
	if len(s.b)-i < len(lit) || string(s.b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number skips a number per the JSON grammar.
func (s *scanner) number(i int) (int, bool) {
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		for i < len(s.b) && isDigit(s.b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		if i >= len(s.b) || !isDigit(s.b[i]) {
			return i, false
		}
		for i < len(s.b) && isDigit(s.b[i]) {
			i++
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if i >= len(s.b) || !isDigit(s.b[i]) {
			return i, false
		}
		for i < len(s.b) && isDigit(s.b[i]) {
			i++
		}
	}
	return i, true
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str skips a string starting at the opening quote at i; only escapes
// are looked at byte by byte (see next).
func (s *scanner) str(i int) (int, bool) {
	b := s.b
	i++ // opening quote
	for {
		i = s.next(i)
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		}
		// A backslash.
		if i+1 >= len(b) {
			return i, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return i, false
			}
			i += 6
		default:
			return i, false
		}
	}
}

// next returns the index of the first byte at or after i, inside a string,
// that is a quote, a backslash or a control character (len(b) if none).
// The first 64 bytes are looked at eight at a time (special); a longer run
// is measured with bytes.IndexByte (vectorised) to the next quote and
// backslash, and checked for control characters 32 bytes at a time. The
// next quote is remembered, so that a long string with many escapes is
// still searched once.
func (s *scanner) next(i int) int {
	b := s.b
	for end := min(len(b), i+64); i+8 <= end; i += 8 {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if len(b)-i < 8 {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return i
	}
	if i < s.quoteFrom || s.quote < i {
		s.quoteFrom, s.quote = i, len(b)
		if q := bytes.IndexByte(b[i:], '"'); q >= 0 {
			s.quote = i + q
		}
	}
	lim := s.quote
	if e := bytes.IndexByte(b[i:lim], '\\'); e >= 0 {
		lim = i + e
	}
	if c := controlAt(b[i:lim]); c >= 0 {
		return i + c
	}
	return lim
}

// SWAR constants: a byte of 0x01, '"', '\\', 0x20 and 0x80 in every lane.
const (
	lanes01    = 0x0101010101010101
	lanesQuote = 0x2222222222222222
	lanesBS    = 0x5c5c5c5c5c5c5c5c
	lanes20    = 0x2020202020202020
	lanes80    = 0x8080808080808080
)

// special flags, with the high bit of its lane, the bytes of the eight in x
// (little-endian) that end a run of ordinary string bytes: '"', '\\' and
// control characters (< 0x20). Lanes above the lowest flagged one may be
// flagged wrongly (borrows propagate upwards), the lowest one never is, and
// the result is zero exactly when no byte is special.
func special(x uint64) uint64 {
	q := x ^ lanesQuote
	e := x ^ lanesBS
	return ((q-lanes01)&^q | (e-lanes01)&^e | (x-lanes20)&^x) & lanes80
}

// controlAt returns the index of the first control character (< 0x20) in
// b, or -1. It looks at 32 bytes per round while there are none: for a
// word x, (x - 0x20…) &^ x & 0x80… is zero exactly when no byte of x is
// below 0x20 (and its lowest set bit marks the first that is).
func controlAt(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w0 := binary.LittleEndian.Uint64(b[i:])
		w1 := binary.LittleEndian.Uint64(b[i+8:])
		w2 := binary.LittleEndian.Uint64(b[i+16:])
		w3 := binary.LittleEndian.Uint64(b[i+24:])
		if ((w0-lanes20)&^w0|(w1-lanes20)&^w1|(w2-lanes20)&^w2|(w3-lanes20)&^w3)&lanes80 != 0 {
			break
		}
	}
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if m := (w - lanes20) &^ w & lanes80; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return i
		}
	}
	return -1
}

// memberFunc is called for each member of an object with the key's raw bytes
// (between the quotes, still escaped) and the index where its value starts.
// It must consume the value and return the index just past it.
type memberFunc func(key []byte, v int) (int, bool)

// object walks an object starting at the '{' at i, calling visit for each
// member, or just skipping values when visit is nil.
func (s *scanner) object(i int, visit memberFunc) (int, bool) {
	if s.depth++; s.depth > maxDepth {
		return i, false
	}
	defer func() { s.depth-- }()
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return i, false
		}
		kEnd, ok := s.str(i)
		if !ok {
			return i, false
		}
		key := s.b[i+1 : kEnd-1] // two-index slice: keyOffset relies on its capacity
		i = s.ws(kEnd)
		if i >= len(s.b) || s.b[i] != ':' {
			return i, false
		}
		i = s.ws(i + 1)
		if visit != nil {
			i, ok = visit(key, i)
		} else {
			i, ok = s.value(i)
		}
		if !ok {
			return i, false
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return i, false
		}
		switch s.b[i] {
		case '}':
			return i + 1, true
		case ',':
			i = s.ws(i + 1)
		default:
			return i, false
		}
	}
}

// elemFunc is called for each array element with the index where it starts.
// It must consume the element and return the index just past it.
type elemFunc func(v int) (int, bool)

// array walks an array starting at the '[' at i, calling visit for each
// element, or just skipping them when visit is nil.
func (s *scanner) array(i int, visit elemFunc) (int, bool) {
	if s.depth++; s.depth > maxDepth {
		return i, false
	}
	defer func() { s.depth-- }()
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if visit != nil {
			i, ok = visit(i)
		} else {
			i, ok = s.value(i)
		}
		if !ok {
			return i, false
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return i, false
		}
		switch s.b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = s.ws(i + 1)
		default:
			return i, false
		}
	}
}

// plainKey returns a raw (still escaped) object key in decoded form. Keys
// without escapes or non-ASCII bytes, i.e. all real ones, are returned as is;
// others are decoded the way encoding/json would (allocating).
func plainKey(raw []byte) []byte {
	if !needsUnquote(raw) {
		return raw
	}
	return []byte(unquoteBody(raw))
}

// needsUnquote reports whether a raw string body holds escapes or bytes that
// encoding/json would rewrite (non-ASCII may be invalid UTF-8).
func needsUnquote(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// unquoteBody decodes a raw string body (between the quotes) already known to
// be a valid JSON string.
func unquoteBody(raw []byte) string {
	if !needsUnquote(raw) {
		return string(raw)
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return ""
	}
	return out
}

// stringValue returns the decoded string if tok is a JSON string token.
func stringValue(tok []byte) (string, bool) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", false
	}
	return unquoteBody(tok[1 : len(tok)-1]), true
}

// intValue parses tok as a JSON integer that fits in an int64.
func intValue(tok []byte) (int64, bool) {
	neg := false
	if len(tok) > 0 && tok[0] == '-' {
		neg, tok = true, tok[1:]
	}
	if len(tok) == 0 || len(tok) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if !isDigit(c) {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// validJSON reports whether b holds exactly one JSON value, with optional
// surrounding whitespace.
func validJSON(b []byte) bool {
	s := scanner{b: b}
	i, ok := s.value(s.ws(0))
	return ok && s.ws(i) == len(b)
}

// member returns the raw value of the member called name in the JSON object
// obj (the last one, if repeated), or nil if obj is not a valid object or has
// no such member.
func member(obj []byte, name string) []byte {
	s := scanner{b: obj}
	i := s.ws(0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	var found []byte
	end, ok := s.object(i, func(key []byte, v int) (int, bool) {
		e, ok := s.value(v)
		if ok && string(plainKey(key)) == name {
			found = obj[v:e:e]
		}
		return e, ok
	})
	if !ok || s.ws(end) != len(obj) {
		return nil
	}
	return found
}
