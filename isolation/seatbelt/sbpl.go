package seatbelt

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxString is the longest string, in bytes, that the profile puts in a
// literal, subpath or regex filter: Seatbelt refuses string literals
// longer than 1025 bytes, and macOS paths are at most 1024 (PATH_MAX).
const maxString = 1024

// checkString refuses what cannot be written safely into an SBPL string:
// a NUL or other control byte (which the profile reader or the log line
// could take apart) and bytes that are not UTF-8 (APFS names are UTF-8).
func checkString(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%q holds the control byte %#02x", s, c)
		}
	}
	return nil
}

// quote writes s as an SBPL (TinyScheme) string literal: in double
// quotes, with \ and " escaped by a backslash. s must have passed
// checkString: no other byte needs an escape, so nothing in s can end the
// literal early.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '"' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// regexQuote returns a regular expression that matches exactly s: every
// byte that is special in a POSIX extended regular expression (. [ \ ( )
// * + ? { | ^ $) is preceded by a backslash, which makes it literal in
// both POSIX ERE (Seatbelt's regex filter) and RE2 (the tests'
// evaluator). ] and } are literal on their own in both; every other byte,
// UTF-8 sequences included, stands for itself.
func regexQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`.[\()*+?{|^$`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// starRegex returns the regular expression of one component pattern of a
// protected name, in which * stands for any run of bytes but / (as
// policy's starMatch, applied component by component), the rest quoted
// by q. A lone * stands for a whole component, which is never empty.
func starRegex(comp string, q func(string) string) string {
	if comp == "*" {
		return "[^/]+"
	}
	parts := strings.Split(comp, "*")
	for i, p := range parts {
		parts[i] = q(p)
	}
	return strings.Join(parts, "[^/]*")
}

// foldQuote returns a regular expression that matches s with each letter
// in any of its cases: the letters of a case-folding orbit (k, K and the
// Kelvin sign K) in a bracket when all are ASCII, else as alternatives.
// Other characters are quoted as by regexQuote.
func foldQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		orbit := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			orbit = append(orbit, f)
		}
		if len(orbit) == 1 {
			b.WriteString(regexQuote(string(r)))
			continue
		}
		ascii := true
		for _, o := range orbit {
			if o >= utf8.RuneSelf || !unicode.IsLetter(o) {
				ascii = false
			}
		}
		if ascii {
			b.WriteString("[" + string(orbit) + "]")
			continue
		}
		alts := make([]string, len(orbit))
		for i, o := range orbit {
			alts[i] = regexQuote(string(o))
		}
		b.WriteString("(" + strings.Join(alts, "|") + ")")
	}
	return b.String()
}
