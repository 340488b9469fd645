package wrap

import (
	"fmt"
	"sort"
)

// kind is the kind of a scanned value.
type kind uint8

const (
	kindObject kind = iota + 1 // JSON object, TOML table or inline table
	kindArray
	kindString
	kindScalar // number, boolean, null, date: anything else
)

// node is a value found in a file, with its byte span [start, end).
type node struct {
	kind       kind
	start, end int
	str        string   // the decoded text of a string
	members    []member // of an object, in file order
	elems      []*node  // of an array, in file order
}

// member is one key of an object and its value. For a TOML table the key
// is the dotted key path joined with ".".
type member struct {
	key              string
	keyStart, keyEnd int
	value            *node
	lineEnd          int // TOML: where the key/value line ends (before its newline)
}

// get returns the value of the last member named key, or nil.
func (n *node) get(key string) *member {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i := len(n.members) - 1; i >= 0; i-- {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits returns src with the edits applied. Edits must not overlap.
func applyEdits(src []byte, edits []edit) ([]byte, error) {
	sorted := append([]edit(nil), edits...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].start < sorted[j].start })
	out := make([]byte, 0, len(src)+64)
	pos := 0
	for _, e := range sorted {
		if e.start < pos || e.end < e.start || e.end > len(src) {
			return nil, fmt.Errorf("internal error: overlapping or out-of-range edit [%d,%d)", e.start, e.end)
		}
		out = append(out, src[pos:e.start]...)
		out = append(out, e.text...)
		pos = e.end
	}
	return append(out, src[pos:]...), nil
}

// syntaxError is a parse error at a byte offset.
type syntaxError struct {
	src []byte
	off int
	msg string
}

func (e *syntaxError) Error() string {
	line, col := 1, 1
	for i := 0; i < e.off && i < len(e.src); i++ {
		if e.src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, e.msg)
}

// maxDepth bounds the nesting of arrays and objects the scanners accept.
const maxDepth = 1000

// cursor is what the JSONC and TOML scanners share: the text, the offset
// reached, and how deeply the value there is nested.
type cursor struct {
	src   []byte
	pos   int
	depth int
}

// newCursor starts at the beginning of src, past a UTF-8 byte order mark.
func newCursor(src []byte) cursor {
	c := cursor{src: src}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		c.pos = 3
	}
	return c
}

func (c *cursor) errorf(format string, args ...any) error {
	return &syntaxError{src: c.src, off: c.pos, msg: fmt.Sprintf(format, args...)}
}

// enter counts one more level of nesting, refusing more than maxDepth;
// the caller undoes it with depth-- when the level ends.
func (c *cursor) enter() error {
	c.depth++
	if c.depth > maxDepth {
		return c.errorf("nested more than %d deep", maxDepth)
	}
	return nil
}

// seq scans the rest of a bracketed list, after its opening bracket: items
// separated by commas, a trailing comma allowed, up to and past closer.
// space skips what may stand between the tokens (blanks, comments).
func seq(src []byte, pos *int, closer byte, what string, space, item func() error, errorf func(string, ...any) error) error {
	for {
		if err := space(); err != nil {
			return err
		}
		if *pos >= len(src) {
			return errorf("unterminated %s", what)
		}
		if src[*pos] == closer {
			*pos++
			return nil
		}
		if err := item(); err != nil {
			return err
		}
		if err := space(); err != nil {
			return err
		}
		if *pos >= len(src) {
			return errorf("unterminated %s", what)
		}
		switch src[*pos] {
		case ',':
			*pos++
		case closer:
		default:
			return errorf("unexpected %q, want ',' or '%c'", src[*pos], closer)
		}
	}
}
