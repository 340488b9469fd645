package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jkind is the kind of a JSON value.
type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jnode is one JSON value. Objects keep their keys in order, so that errors
// come in the order the user wrote things.
type jnode struct {
	kind jkind
	b    bool
	s    string // string value, or the literal text of a number
	arr  []*jnode
	obj  []jmember
	dup  string // a key that appears twice in this object
}

type jmember struct {
	key string
	val *jnode
}

// maxJSONDepth bounds nesting; a profile is three levels deep.
const maxJSONDepth = 32

// parseJSONTree parses data as exactly one JSON value; anything after it is
// an error, and so is a key repeated within one object.
func parseJSONTree(data []byte) (*jnode, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file, expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readJSON(dec, 0)
	if err != nil {
		return nil, syntaxError(data, dec, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		for end < int64(len(data)) && isJSONSpace(data[end]) {
			end++
		}
		line, col := lineCol(data, end)
		return nil, fmt.Errorf("invalid JSON at line %d, column %d: unexpected data after the top-level value", line, col)
	}
	return n, nil
}

func syntaxError(data []byte, dec *json.Decoder, err error) error {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
		// Depending on where the decoder found it, Offset is at or just
		// after the bad character; point at the character itself.
		if c, ok := strings.CutPrefix(se.Error(), "invalid character '"); ok && off > 0 && off <= int64(len(data)) && len(c) > 0 && data[off-1] == c[0] {
			off--
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of text")
	}
	line, col := lineCol(data, off)
	return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func readJSON(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("values nested more than %d deep", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jnode{kind: jNull}, nil
	case bool:
		return &jnode{kind: jBool, b: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, s: string(t)}, nil
	case string:
		return &jnode{kind: jString, s: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &jnode{kind: jArray, arr: []*jnode{}}
			for dec.More() {
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '{':
			n := &jnode{kind: jObject, obj: []jmember{}}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("expected an object key, got %v", kt)
				}
				if seen[key] && n.dup == "" {
					n.dup = key
				}
				seen[key] = true
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, jmember{key: key, val: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// describe says what a JSON value is, for "got ..." in error messages.
func (n *jnode) describe() string {
	switch n.kind {
	case jNull:
		return "null"
	case jBool:
		return fmt.Sprint(n.b)
	case jNumber:
		return n.s
	case jString:
		return quoteShort(n.s)
	case jArray:
		return "a list"
	default:
		return "an object"
	}
}

// quoteShort quotes s, cut to a length that fits an error message.
func quoteShort(s string) string {
	const limit = 80
	r := []rune(s)
	if len(r) > limit {
		return fmt.Sprintf("%q...", string(r[:limit]))
	}
	return fmt.Sprintf("%q", s)
}
