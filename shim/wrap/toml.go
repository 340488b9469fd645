package wrap

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tomlTable is one table of a TOML file: the root (no header), a [table]
// or an [[array.table]], with the key/value lines that follow its header.
type tomlTable struct {
	path  []string // decoded header key path; nil for the root table
	array bool     // [[...]]
	body  *node    // kindObject; members keyed by the joined dotted key
	paths [][]string
}

// parseTOML scans a TOML document far enough to find and edit values:
// comments, table headers, dotted keys, every kind of string, arrays
// (multi-line, with comments and trailing commas) and inline tables. Other
// scalars (numbers, booleans, dates) are taken as opaque tokens. It does not
// check everything a TOML parser would (duplicate keys, redefined tables).
func parseTOML(src []byte) ([]*tomlTable, error) {
	p := &tomlParser{newCursor(src)}
	cur := &tomlTable{body: &node{kind: kindObject, start: p.pos}}
	tables := []*tomlTable{cur}
	for {
		p.blank()
		if p.pos >= len(src) {
			return tables, nil
		}
		if src[p.pos] == '#' {
			if err := p.comment(); err != nil {
				return nil, err
			}
		}
		if err := p.lineEnd(); err == nil {
			continue // an empty or comment-only line
		}
		if src[p.pos] == '[' {
			start := p.pos
			t := &tomlTable{}
			p.pos++
			if p.pos < len(src) && src[p.pos] == '[' {
				t.array = true
				p.pos++
			}
			p.blank()
			path, err := p.key()
			if err != nil {
				return nil, err
			}
			p.blank()
			closer := "]"
			if t.array {
				closer = "]]"
			}
			if !hasPrefixAt(src, p.pos, closer) {
				return nil, p.errorf("want %q to close the table header", closer)
			}
			p.pos += len(closer)
			t.path = path
			t.body = &node{kind: kindObject, start: start}
			if err := p.lineEnd(); err != nil {
				return nil, err
			}
			tables = append(tables, t)
			cur = t
			continue
		}
		path, m, err := p.keyValue()
		if err != nil {
			return nil, err
		}
		m.lineEnd = p.pos
		if err := p.lineEnd(); err != nil {
			return nil, err
		}
		cur.body.members = append(cur.body.members, m)
		cur.paths = append(cur.paths, path)
		cur.body.end = m.lineEnd
	}
}

type tomlParser struct{ cursor }

// blank skips spaces and tabs.
func (p *tomlParser) blank() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// lineEnd accepts blanks, an optional comment and the end of the line (or
// of the file). On failure the position is unchanged.
func (p *tomlParser) lineEnd() error {
	save := p.pos
	p.blank()
	if p.pos < len(p.src) && p.src[p.pos] == '#' {
		if err := p.comment(); err != nil {
			return err
		}
	}
	switch {
	case p.pos >= len(p.src):
		return nil
	case p.src[p.pos] == '\n':
		p.pos++
		return nil
	case hasPrefixAt(p.src, p.pos, "\r\n"):
		p.pos += 2
		return nil
	}
	err := p.errorf("unexpected %q, want the end of the line", p.src[p.pos])
	p.pos = save
	return err
}

// comment skips a comment up to (not including) the end of its line.
func (p *tomlParser) comment() error {
	for p.pos < len(p.src) && p.src[p.pos] != '\n' {
		if c := p.src[p.pos]; c == '\r' && !hasPrefixAt(p.src, p.pos, "\r\n") || c < 0x20 && c != '\t' && c != '\r' || c == 0x7f {
			return p.errorf("control character %q in a comment", c)
		}
		p.pos++
	}
	return nil
}

// space skips blanks, newlines and comments (inside arrays).
func (p *tomlParser) space() error {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n':
			p.pos++
		case hasPrefixAt(p.src, p.pos, "\r\n"):
			p.pos += 2
		case c == '#':
			if err := p.comment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// key scans a dotted key: simple keys (bare or quoted) joined by '.'.
func (p *tomlParser) key() ([]string, error) {
	var path []string
	for {
		p.blank()
		if p.pos >= len(p.src) {
			return nil, p.errorf("unexpected end of file, want a key")
		}
		switch c := p.src[p.pos]; {
		case c == '"' || c == '\'':
			if hasPrefixAt(p.src, p.pos, `"""`) || hasPrefixAt(p.src, p.pos, `'''`) {
				return nil, p.errorf("a multi-line string cannot be a key")
			}
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			path = append(path, s)
		case isBare(c):
			start := p.pos
			for p.pos < len(p.src) && isBare(p.src[p.pos]) {
				p.pos++
			}
			path = append(path, string(p.src[start:p.pos]))
		default:
			return nil, p.errorf("unexpected %q, want a key", c)
		}
		p.blank()
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++
			continue
		}
		return path, nil
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyValue scans `key = value`.
func (p *tomlParser) keyValue() ([]string, member, error) {
	var m member
	m.keyStart = p.pos
	path, err := p.key()
	if err != nil {
		return nil, m, err
	}
	m.keyEnd = p.pos
	for m.keyEnd > m.keyStart && (p.src[m.keyEnd-1] == ' ' || p.src[m.keyEnd-1] == '\t') {
		m.keyEnd--
	}
	m.key = strings.Join(path, ".")
	if p.pos >= len(p.src) || p.src[p.pos] != '=' {
		return nil, m, p.errorf("want '=' after the key %q", m.key)
	}
	p.pos++
	p.blank()
	if m.value, err = p.value(); err != nil {
		return nil, m, err
	}
	return path, m, nil
}

func (p *tomlParser) value() (*node, error) {
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of file, want a value")
	}
	start := p.pos
	switch c := p.src[p.pos]; c {
	case '"', '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, start: start, end: p.pos, str: s}, nil
	case '[':
		return p.array()
	case '{':
		return p.inlineTable()
	}
	// A number, boolean or date: up to a delimiter, blanks trimmed. A date
	// and time may be separated by one space.
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' || c == '\r' || c == '=' || c == '[' || c == '{' || c == '"' || c == '\'' {
			break
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, p.errorf("control character %q", c)
		}
		p.pos++
	}
	end := p.pos
	for end > start && (p.src[end-1] == ' ' || p.src[end-1] == '\t') {
		end--
	}
	if end == start {
		return nil, p.errorf("want a value")
	}
	if strings.ContainsAny(string(p.src[start:end]), " \t") && !isDateTime(string(p.src[start:end])) {
		return nil, p.errorf("unexpected space in the value %q", p.src[start:end])
	}
	return &node{kind: kindScalar, start: start, end: end}, nil
}

// isDateTime reports whether s looks like "1979-05-27 07:32:00...".
func isDateTime(s string) bool {
	d, t, ok := strings.Cut(s, " ")
	return ok && len(d) == 10 && d[4] == '-' && d[7] == '-' && len(t) >= 5 && t[2] == ':' && !strings.ContainsAny(t, " \t")
}

func (p *tomlParser) array() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	n := &node{kind: kindArray, start: p.pos}
	p.pos++
	err := seq(p.src, &p.pos, ']', "array", p.space, func() error {
		v, err := p.value()
		if err == nil {
			n.elems = append(n.elems, v)
		}
		return err
	}, p.errorf)
	n.end = p.pos
	return n, err
}

// inlineTable scans { k = v, ... }. Newlines and comments inside are
// accepted (TOML 1.1), and so is a trailing comma.
func (p *tomlParser) inlineTable() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	n := &node{kind: kindObject, start: p.pos}
	p.pos++
	err := seq(p.src, &p.pos, '}', "inline table", p.space, func() error {
		_, m, err := p.keyValue()
		if err == nil {
			n.members = append(n.members, m)
		}
		return err
	}, p.errorf)
	n.end = p.pos
	return n, err
}

// str scans any of the four TOML strings and returns its decoded text.
func (p *tomlParser) str() (string, error) {
	start := p.pos
	q := p.src[p.pos]
	multi := hasPrefixAt(p.src, p.pos, strings.Repeat(string(q), 3))
	if multi {
		p.pos += 3
		// A newline right after the opening delimiter is trimmed.
		if hasPrefixAt(p.src, p.pos, "\n") {
			p.pos++
		} else if hasPrefixAt(p.src, p.pos, "\r\n") {
			p.pos += 2
		}
	} else {
		p.pos++
	}
	var buf []byte
	for {
		if p.pos >= len(p.src) {
			p.pos = start
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		if c == q {
			if !multi {
				p.pos++
				return string(buf), nil
			}
			if hasPrefixAt(p.src, p.pos, strings.Repeat(string(q), 3)) {
				// Up to two quotes may stand right before the closing three.
				n := 3
				for n < 5 && p.pos+n < len(p.src) && p.src[p.pos+n] == q {
					n++
				}
				buf = append(buf, p.src[p.pos:p.pos+n-3]...)
				p.pos += n
				return string(buf), nil
			}
			buf = append(buf, c)
			p.pos++
			continue
		}
		switch {
		case c == '\n' && multi:
			buf = append(buf, c)
			p.pos++
			continue
		case c == '\r' && multi && hasPrefixAt(p.src, p.pos, "\r\n"):
			buf = append(buf, '\r', '\n')
			p.pos += 2
			continue
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", p.errorf("control character %q in a string", c)
		case c != '\\' || q == '\'':
			buf = append(buf, c)
			p.pos++
			continue
		}
		// An escape in a basic string.
		if p.pos+1 >= len(p.src) {
			return "", p.errorf("unterminated escape")
		}
		esc := p.src[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 't':
			buf = append(buf, '\t')
		case 'n':
			buf = append(buf, '\n')
		case 'f':
			buf = append(buf, '\f')
		case 'r':
			buf = append(buf, '\r')
		case 'e':
			buf = append(buf, 0x1b)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[esc]
			if p.pos+n > len(p.src) {
				return "", p.errorf("bad \\%c escape", esc)
			}
			v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return "", p.errorf("bad \\%c escape", esc)
			}
			p.pos += n
			buf = utf8.AppendRune(buf, rune(v))
		case ' ', '\t', '\n', '\r':
			// A line-ending backslash in a multi-line string trims the
			// whitespace and newlines that follow.
			p.pos--
			if !multi || !p.lineEndingBackslash() {
				return "", p.errorf("bad escape")
			}
		default:
			return "", p.errorf("unknown escape \\%c", esc)
		}
	}
}

// lineEndingBackslash skips what follows a backslash that ends a line, at
// p.pos (just after the backslash). It reports false if no newline follows.
func (p *tomlParser) lineEndingBackslash() bool {
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	if !hasPrefixAt(p.src, i, "\n") && !hasPrefixAt(p.src, i, "\r\n") {
		return false
	}
	for i < len(p.src) {
		switch {
		case p.src[i] == ' ' || p.src[i] == '\t' || p.src[i] == '\n':
			i++
		case hasPrefixAt(p.src, i, "\r\n"):
			i += 2
		default:
			p.pos = i
			return true
		}
	}
	p.pos = i
	return true
}
