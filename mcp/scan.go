package mcp

import (
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

// str skips a string starting at the opening quote at i. Runs of ordinary
// bytes are skipped eight at a time (see special); only quotes, escapes and
// control characters are looked at one by one.
func (s *scanner) str(i int) (int, bool) {
	i++ // opening quote
	b := s.b
	for {
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, false
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
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
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
}

// SWAR constants: a byte of 0x01, 0x80, '"', '\\' and 0x20 in every lane.
const (
	lanes01    = 0x0101010101010101
	lanes80    = 0x8080808080808080
	lanesQuote = 0x2222222222222222
	lanesBS    = 0x5c5c5c5c5c5c5c5c
	lanes20    = 0x2020202020202020
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
