package mcp

import (
	"bytes"
	"fmt"
)

// Annotate returns a copy of the tools/call response line with one more
// {"type":"text","text":text} item at the end of result.content. Every other
// byte of line is kept: the item is spliced in before the closing ']' of
// content (or, if result has no content, a "content" member is spliced in
// before the closing '}' of result), and a line terminator is preserved.
//
// If content is present but not an array (a non-conforming server), the
// result object is re-encoded member by member, in the original order and
// with the original raw values, content becoming an array: null → [item],
// a single object → [object, item]. Any other content, a line that is not a
// response, or a result that is not an object yields an error wrapping
// ErrNotToolResult; the caller then relays line unchanged.
func Annotate(line []byte, text string) ([]byte, error) {
	loc, err := locateContent(line)
	if err != nil {
		return nil, fmt.Errorf("mcp: annotate: %w", err)
	}
	item, err := textItem(text)
	if err != nil {
		return nil, fmt.Errorf("mcp: annotate: encode item: %w", err)
	}
	var out []byte
	switch {
	case loc.content.start < 0: // no content member
		out = spliceMember(line, loc.result, item)
	case line[loc.content.start] == '[':
		out = spliceItem(line, loc.content, item)
	default:
		out, err = reencodeResult(line, loc, item)
		if err != nil {
			return nil, fmt.Errorf("mcp: annotate: %w", err)
		}
	}
	return out, nil
}

// span is [start, end) in a line; start < 0 means absent.
type span struct{ start, end int }

// contentLocation is where a response's result and result.content lie.
type contentLocation struct {
	result, content span
	members         []memberSpan // result's members, for the re-encode path
}

// memberSpan is one object member: its raw key (with quotes) and value.
type memberSpan struct{ key, value span }

// locateContent finds the (last) result member of a response line and the
// (last) content member inside it.
func locateContent(line []byte) (contentLocation, error) {
	loc := contentLocation{result: span{-1, -1}, content: span{-1, -1}}
	env := Decode(line)
	if env.Kind != KindResponse {
		return loc, fmt.Errorf("%w: message kind %v", ErrNotToolResult, env.Kind)
	}
	s := scanner{b: line}
	var members []memberSpan
	_, ok := s.object(s.ws(0), func(key []byte, v int) (int, bool) {
		if string(plainKey(key)) != "result" || line[v] != '{' {
			return s.value(v)
		}
		loc.result = span{v, -1}
		loc.content = span{-1, -1}
		members = members[:0]
		e, ok := s.object(v, func(key []byte, v int) (int, bool) {
			e, ok := s.value(v)
			if !ok {
				return e, false
			}
			q := keyOffset(line, key)
			members = append(members, memberSpan{span{q, q + len(key) + 2}, span{v, e}})
			if string(plainKey(key)) == "content" {
				loc.content = span{v, e}
			}
			return e, true
		})
		loc.result.end = e
		return e, ok
	})
	if !ok {
		return loc, fmt.Errorf("%w: malformed JSON", ErrNotToolResult)
	}
	if loc.result.start < 0 {
		return loc, fmt.Errorf("%w: result is not an object", ErrNotToolResult)
	}
	loc.members = members
	return loc, nil
}

// keyOffset returns the index in line of the opening quote of key, a
// subslice handed out by scanner.object (which slices keys as
// line[quote+1:...], so their capacity tells where they start).
func keyOffset(line, key []byte) int {
	return cap(line) - cap(key) - 1
}

// spliceItem inserts item before the closing ']' of the array at arr.
func spliceItem(line []byte, arr span, item []byte) []byte {
	closing := arr.end - 1
	empty := len(bytes.TrimLeft(line[arr.start+1:closing], " \t\r\n")) == 0
	out := make([]byte, 0, len(line)+len(item)+1)
	out = append(out, line[:closing]...)
	if !empty {
		out = append(out, ',')
	}
	out = append(out, item...)
	return append(out, line[closing:]...)
}

// spliceMember inserts "content":[item] before the closing '}' of obj.
func spliceMember(line []byte, obj span, item []byte) []byte {
	closing := obj.end - 1
	empty := len(bytes.TrimLeft(line[obj.start+1:closing], " \t\r\n")) == 0
	out := make([]byte, 0, len(line)+len(item)+14)
	out = append(out, line[:closing]...)
	if !empty {
		out = append(out, ',')
	}
	out = append(out, `"content":[`...)
	out = append(out, item...)
	out = append(out, ']')
	return append(out, line[closing:]...)
}

// reencodeResult rebuilds the result object from its members, in order and
// with their raw bytes, turning a non-array content into an array.
func reencodeResult(line []byte, loc contentLocation, item []byte) ([]byte, error) {
	orig := line[loc.content.start:loc.content.end]
	var content []byte
	switch orig[0] {
	case 'n': // null
		content = append(append([]byte{'['}, item...), ']')
	case '{':
		content = make([]byte, 0, len(orig)+len(item)+3)
		content = append(append(append(append(append(content, '['), orig...), ','), item...), ']')
	default:
		return nil, fmt.Errorf("%w: content is neither an array, an object nor null", ErrNotToolResult)
	}
	out := make([]byte, 0, len(line)+len(item)+8)
	out = append(out, line[:loc.result.start]...)
	out = append(out, '{')
	for i, m := range loc.members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, line[m.key.start:m.key.end]...)
		out = append(out, ':')
		if m.value == loc.content {
			out = append(out, content...)
		} else {
			out = append(out, line[m.value.start:m.value.end]...)
		}
	}
	out = append(out, '}')
	return append(out, line[loc.result.end:]...), nil
}
