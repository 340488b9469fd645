package policy

// parseJSONFast parses the plain JSON documents that sbshim's own
// profiles are — ASCII, no escapes in strings — into the tree
// parseJSONTreeStd makes, without encoding/json's tokenizer (which
// formats an error inside for every value it ends, and took most of a
// policy load). ok is false for anything else, well formed or not, and
// parseJSONTreeStd parses it instead: every error message, and every
// escape or non-ASCII byte, is its.
func parseJSONFast(data []byte) (n *jnode, ok bool) {
	p := &fastJSON{data: data}
	p.space()
	n, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	if p.i != len(p.data) {
		return nil, false
	}
	return n, true
}

// fastJSON is parseJSONFast's position in its document.
type fastJSON struct {
	data []byte
	i    int
}

func (p *fastJSON) space() {
	for p.i < len(p.data) && isJSONSpace(p.data[p.i]) {
		p.i++
	}
}

// value parses one value at nesting depth depth.
func (p *fastJSON) value(depth int) (*jnode, bool) {
	if depth > maxJSONDepth || p.i >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return &jnode{kind: jString, s: s}, true
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	default:
		for _, lit := range []struct {
			text string
			node jnode
		}{{"true", jnode{kind: jBool, b: true}}, {"false", jnode{kind: jBool}}, {"null", jnode{kind: jNull}}} {
			if len(p.data)-p.i >= len(lit.text) && string(p.data[p.i:p.i+len(lit.text)]) == lit.text {
				p.i += len(lit.text)
				n := lit.node
				return &n, true
			}
		}
		return nil, false
	}
}

// object parses an object; p.data[p.i] is '{'.
func (p *fastJSON) object(depth int) (*jnode, bool) {
	p.i++
	n := &jnode{kind: jObject, obj: []jmember{}}
	seen := map[string]bool{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return n, true
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, false
		}
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		if seen[key] && n.dup == "" {
			n.dup = key
		}
		seen[key] = true
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		n.obj = append(n.obj, jmember{key: key, val: v})
		p.space()
		if p.i >= len(p.data) {
			return nil, false
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return n, true
		default:
			return nil, false
		}
	}
}

// array parses an array; p.data[p.i] is '['.
func (p *fastJSON) array(depth int) (*jnode, bool) {
	p.i++
	n := &jnode{kind: jArray, arr: []*jnode{}}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return n, true
	}
	for {
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		n.arr = append(n.arr, v)
		p.space()
		if p.i >= len(p.data) {
			return nil, false
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return n, true
		default:
			return nil, false
		}
	}
}

// str parses a string of printable ASCII without escapes; p.data[p.i] is
// the opening quote.
func (p *fastJSON) str() (string, bool) {
	start := p.i + 1
	for j := start; j < len(p.data); j++ {
		switch c := p.data[j]; {
		case c == '"':
			p.i = j + 1
			return string(p.data[start:j]), true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// number parses a number as RFC 8259 writes it, keeping its text.
func (p *fastJSON) number() (*jnode, bool) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.data) && '0' <= p.data[p.i] && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.data[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, false
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return &jnode{kind: jNumber, s: string(p.data[start:p.i])}, true
}
