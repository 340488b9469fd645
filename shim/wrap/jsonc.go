package wrap

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSONC scans JSON with the JSONC extensions that VS Code's files use:
// // and /* */ comments and trailing commas. It returns the root value with
// the byte spans of every value, member key and array element. A leading
// UTF-8 byte order mark is skipped.
func parseJSONC(src []byte) (*node, error) {
	p := &jsonParser{newCursor(src)}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos >= len(src) {
		return nil, p.errorf("empty file")
	}
	root, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos < len(src) {
		return nil, p.errorf("unexpected %q after the end of the value", src[p.pos])
	}
	return root, nil
}

type jsonParser struct{ cursor }

// space skips whitespace and comments.
func (p *jsonParser) space() error {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			start := p.pos
			p.pos += 2
			for {
				if p.pos+1 >= len(p.src) {
					p.pos = start
					return p.errorf("unterminated /* comment")
				}
				if p.src[p.pos] == '*' && p.src[p.pos+1] == '/' {
					p.pos += 2
					break
				}
				p.pos++
			}
		default:
			return nil
		}
	}
	return nil
}

func (p *jsonParser) value() (*node, error) {
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of file")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		start := p.pos
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, start: start, end: p.pos, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if hasPrefixAt(p.src, p.pos, lit) {
				start := p.pos
				p.pos += len(lit)
				return &node{kind: kindScalar, start: start, end: p.pos}, nil
			}
		}
		return nil, p.errorf("unexpected %q, want a value", c)
	}
}

func (p *jsonParser) object() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	n := &node{kind: kindObject, start: p.pos}
	p.pos++ // {
	err := seq(p.src, &p.pos, '}', "object", p.space, func() error {
		if p.src[p.pos] != '"' {
			return p.errorf("unexpected %q, want a key in quotes", p.src[p.pos])
		}
		m := member{keyStart: p.pos}
		key, err := p.string()
		if err != nil {
			return err
		}
		m.key, m.keyEnd = key, p.pos
		if err := p.space(); err != nil {
			return err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.errorf("want ':' after the key %q", key)
		}
		p.pos++
		if err := p.space(); err != nil {
			return err
		}
		if m.value, err = p.value(); err != nil {
			return err
		}
		n.members = append(n.members, m)
		return nil
	}, p.errorf)
	n.end = p.pos
	return n, err
}

func (p *jsonParser) array() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	n := &node{kind: kindArray, start: p.pos}
	p.pos++ // [
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

// string scans a JSON string at p.pos and returns its decoded text.
func (p *jsonParser) string() (string, error) {
	start := p.pos
	p.pos++ // "
	var buf []byte
	for {
		if p.pos >= len(p.src) {
			p.pos = start
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character %q in a string", c)
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.src) {
			return "", p.errorf("unterminated escape")
		}
		esc := p.src[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if hasPrefixAt(p.src, p.pos, `\u`) {
					save := p.pos
					p.pos += 2
					if lo, ok := p.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
						r2 = utf16.DecodeRune(r, lo)
					} else {
						p.pos = save
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.pos -= 2
			return "", p.errorf("unknown escape \\%c", esc)
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.src) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (*node, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.src[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.src) && p.src[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("bad number")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("bad number")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("bad number")
		}
	}
	return &node{kind: kindScalar, start: start, end: p.pos}, nil
}

func hasPrefixAt(src []byte, pos int, prefix string) bool {
	return pos+len(prefix) <= len(src) && string(src[pos:pos+len(prefix)]) == prefix
}
