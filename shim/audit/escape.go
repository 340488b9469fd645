package audit

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Escape makes s safe to show to people on one line of a terminal or a
// log: every character that is not printable is replaced by an escape,
// so that a file name, host or executable name chosen by a sandboxed
// program can neither start a line of its own (a forged "sbshim:" line),
// nor move the cursor or recolour the screen (ESC, CSI), nor reorder the
// text around it (bidi overrides), nor hide in plain sight (zero-width
// characters).
//
// Escaped are: ASCII controls and DEL ("\n", "\r", "\t", else "\x1b"), the
// bytes of invalid UTF-8 ("\xff"), and every other character that
// unicode.IsPrint rejects — C1 controls, format characters (bidi
// overrides and isolates, zero-width spaces and joiners, the byte order
// mark), line and paragraph separators (U+2028, U+2029), spaces other than
// U+0020, private-use characters ("\u2028", "\U000e0001"). The backslash
// itself becomes "\\", so the result reads back unambiguously, as a Go
// string literal's body would. Everything else, ASCII space and printable non-ASCII
// text included, is kept as it is.
//
// Every human-readable report sbshim makes — its stderr lines, the text of
// its in-band notifications and annotations, the tables and lines of
// sbshim audit — passes the strings it did not write itself through Escape.
// The audit log's JSON keeps the exact text instead.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !needsEscape(r, n) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		switch {
		case r == utf8.RuneError && n == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < utf8.RuneSelf:
			writeHex(&b, `\x`, uint32(r), 2)
		case r <= 0xffff:
			writeHex(&b, `\u`, uint32(r), 4)
		default:
			writeHex(&b, `\U`, uint32(r), 8)
		}
		i += n
	}
	return b.String()
}

// needsEscape says whether the rune r, n bytes long in its string, is
// escaped by Escape.
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // an invalid byte
		return true
	case r == '\\':
		return true
	case r < utf8.RuneSelf:
		return r < ' ' || r == 0x7f
	}
	return !unicode.IsPrint(r)
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for i := digits - 1; i >= 0; i-- {
		b.WriteByte(hex[(v>>(4*uint(i)))&0xf])
	}
}

// SafeJSON returns line, a JSON text, with every character that Escape
// would escape and JSON allows raw — DEL, C1 controls, bidi and other
// format characters, U+2028 and U+2029 and the like — written as a \u
// escape instead; invalid UTF-8 bytes become \ufffd. The value is the
// same, and the text can go to a terminal: such characters can only stand
// inside strings, and the ASCII controls are escaped by every JSON encoder
// (and refused raw by every decoder). A line that needs no change is
// returned as it is.
func SafeJSON(line []byte) []byte {
	i := 0
	for i < len(line) {
		if line[i] < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRune(line[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(line) {
		return line
	}
	out := make([]byte, 0, len(line)+16)
	out = append(out, line[:i]...)
	for i < len(line) {
		c := line[i]
		if c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(line[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case !needsEscape(r, n):
			out = append(out, line[i:i+n]...)
		case r <= 0xffff:
			out = appendU(out, r)
		default:
			hi, lo := utf16.EncodeRune(r)
			out = appendU(appendU(out, hi), lo)
		}
		i += n
	}
	return out
}

func appendU(out []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
