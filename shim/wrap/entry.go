package wrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// State says what an entry is, as far as sbshim is concerned.
type State int

const (
	NotWrapped State = iota // a local (stdio) server that runs without sbshim
	Wrapped                 // its command is sbshim
	Remote                  // a remote server (url, http, sse): nothing to sandbox
	Docker                  // it runs docker or podman: left alone
	Invalid                 // not an entry sbshim understands (see the reason)
	Suspicious              // a project's entry that sbshim cannot wrap safely (see the reason): left alone
)

func (s State) String() string {
	switch s {
	case NotWrapped:
		return "not wrapped"
	case Wrapped:
		return "wrapped"
	case Remote:
		return "remote (n/a)"
	case Docker:
		return "docker (skipped)"
	case Suspicious:
		return "suspicious"
	default:
		return "invalid"
	}
}

// style is how an entry's syntax is written.
type style int

const (
	styleJSON       style = iota // an object in a JSON/JSONC file
	styleTOMLTable               // a [mcp_servers.NAME] table
	styleTOMLInline              // NAME = { command = ..., ... }
)

// entry is one server of a document, with what wrap and unwrap need to
// know about its text.
type entry struct {
	name   string
	scope  string // where in the file, when there is more than one place ("" or "project /path")
	style  style
	src    []byte
	obj    *node
	cmd    *member
	args   *member
	state  State
	reason string
	// extraEnv are the names of the variables a TOML entry sets in a
	// table of its own ([mcp_servers.NAME.env]).
	extraEnv []string
}

func newEntry(src []byte, st style, name, scope string, obj *node) *entry {
	e := &entry{name: name, scope: scope, style: st, src: src, obj: obj}
	e.classify()
	return e
}

// remoteTypes are the transport types of remote servers.
var remoteTypes = map[string]bool{"http": true, "sse": true, "streamable-http": true, "streamablehttp": true, "streamable_http": true, "ws": true, "websocket": true}

func (e *entry) classify() {
	if e.obj == nil || e.obj.kind != kindObject {
		e.state, e.reason = Invalid, "not an object"
		return
	}
	e.cmd, e.args = e.obj.get("command"), e.obj.get("args")
	if t := e.obj.get("type"); t != nil && t.value.kind == kindString && remoteTypes[strings.ToLower(t.value.str)] {
		e.state, e.reason = Remote, "type "+t.value.str
		return
	}
	for _, k := range []string{"url", "serverUrl", "httpUrl"} {
		if e.obj.get(k) != nil {
			e.state, e.reason = Remote, "has "+k
			return
		}
	}
	switch {
	case e.cmd == nil:
		e.state, e.reason = Invalid, "no command"
		return
	case e.cmd.value.kind != kindString:
		e.state, e.reason = Invalid, "command is not a string"
		return
	case e.args != nil && e.args.value.kind != kindArray:
		e.state, e.reason = Invalid, "args is not an array"
		return
	}
	switch base := commandBase(e.cmd.value.str); base {
	case "sbshim":
		e.state = Wrapped
	case "docker", "podman":
		e.state, e.reason = Docker, "runs "+base+": the container is the boundary, and sbshim would block the "+base+" socket"
	case "":
		e.state, e.reason = Invalid, "empty command"
	default:
		e.state = NotWrapped
	}
}

// commandBase is the program name of a command: its last path element,
// without a Windows .exe suffix.
func commandBase(cmd string) string {
	if i := strings.LastIndexAny(cmd, `/\`); i >= 0 {
		cmd = cmd[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSuffix(cmd, ".exe"), ".EXE")
}

// command returns the decoded command and args (strings only; other
// elements are shown as their text).
func (e *entry) command() (string, []string) {
	if e.cmd == nil || e.cmd.value.kind != kindString {
		return "", nil
	}
	var args []string
	if e.args != nil {
		for _, el := range e.args.value.elems {
			if el.kind == kindString {
				args = append(args, el.str)
			} else {
				args = append(args, string(e.src[el.start:el.end]))
			}
		}
	}
	return e.cmd.value.str, args
}

// quote writes s as a string literal of the entry's format.
func (e *entry) quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	q := strings.TrimSuffix(b.String(), "\n")
	if e.style != styleJSON {
		// A TOML basic string takes JSON's escapes, but not a raw DEL.
		q = strings.ReplaceAll(q, "\x7f", `\u007f`)
	}
	return q
}

func (e *entry) raw(n *node) string { return string(e.src[n.start:n.end]) }

// wrapEdits makes command sbshim and puts sbshim's options and the old
// command in front of args.
func (e *entry) wrapEdits(sbshim string, flags []string) ([]edit, error) {
	var elems []string
	for _, f := range flags {
		elems = append(elems, e.quote(f))
	}
	elems = append(elems, e.raw(e.cmd.value)) // the old command, byte for byte
	edits := []edit{{e.cmd.value.start, e.cmd.value.end, e.quote(sbshim)}}
	if e.args == nil {
		at, text := e.argsMember(elems)
		return append(edits, edit{at, at, text}), nil
	}
	return append(edits, e.arrayInsert(e.args.value, elems)), nil
}

// unwrapEdits undoes wrapEdits: the element after "--" becomes the command
// again and everything before it leaves args. An entry wrapped by hand in
// the drop-in form (command sbshim, args COMMAND ARGS...) unwraps too.
func (e *entry) unwrapEdits() ([]edit, error) {
	if e.state != Wrapped {
		return nil, fmt.Errorf("internal error: unwrap of a %s entry", e.state)
	}
	if e.args == nil {
		return nil, errors.New("command is sbshim but there are no args")
	}
	elems := e.args.value.elems
	k := -1
	for i, el := range elems {
		if el.kind != kindString {
			return nil, errors.New("args before the old command are not all strings")
		}
		if el.str == "--" {
			k = i
			break
		}
	}
	if k < 0 && (len(elems) == 0 || strings.HasPrefix(elems[0].str, "-")) {
		return nil, errors.New(`cannot tell sbshim's options from the command: no "--" in args`)
	}
	old := k + 1
	if old >= len(elems) || elems[old].kind != kindString {
		return nil, errors.New(`no command after "--" in args`)
	}
	edits := []edit{{e.cmd.value.start, e.cmd.value.end, e.raw(elems[old])}}
	if rest := elems[old+1:]; len(rest) > 0 {
		return append(edits, edit{elems[0].start, rest[0].start, ""}), nil
	}
	// Nothing remains: either wrap added the args member, or args was empty.
	var inserted []string
	for _, el := range elems {
		inserted = append(inserted, e.raw(el))
	}
	at, text := e.argsMember(inserted)
	if at+len(text) == e.args.value.end && hasPrefixAt(e.src, at, text) {
		return append(edits, edit{at, at + len(text), ""}), nil
	}
	return append(edits, edit{elems[0].start, elems[len(elems)-1].end, ""}), nil
}

// argsMember returns where a new args member goes (right after command)
// and its text. Its layout differs from any array that wrap fills in
// (a multi-line array, or spaces inside the brackets), so that unwrap can
// tell an added args member from one that was there, empty.
func (e *entry) argsMember(elems []string) (int, string) {
	sep := e.sepAfter(e.cmd)
	switch e.style {
	case styleTOMLTable:
		at := e.cmd.value.end
		for at < len(e.src) && e.src[at] != '\n' {
			at++
		}
		nl := "\n"
		if at > 0 && at < len(e.src) && e.src[at-1] == '\r' {
			at--
			nl = "\r\n"
		}
		indent, _, _ := lineIndent(e.src, e.cmd.keyStart)
		return at, nl + indent + "args" + sep + "[ " + strings.Join(elems, ", ") + " ]"
	case styleTOMLInline:
		return e.cmd.value.end, ", args" + sep + "[ " + strings.Join(elems, ", ") + " ]"
	}
	at := e.cmd.value.end
	indent, nl, ok := lineIndent(e.src, e.cmd.keyStart)
	if !ok {
		gap := trailingBlanks(sep)
		return at, "," + gap + `"args"` + sep + "[ " + strings.Join(elems, ","+gap) + " ]"
	}
	unit := e.indentUnit(indent)
	var b strings.Builder
	b.WriteString("," + nl + indent + `"args"` + sep + "[")
	for i, el := range elems {
		b.WriteString(nl + indent + unit + el)
		if i < len(elems)-1 {
			b.WriteString(",")
		}
	}
	b.WriteString(nl + indent + "]")
	return at, b.String()
}

// sepAfter is the text between a member's key and its value (": " or
// " = "), or the plain form if that text holds a comment or a newline.
func (e *entry) sepAfter(m *member) string {
	s := string(e.src[m.keyEnd:m.value.start])
	plain := ": "
	if e.style != styleJSON {
		plain = " = "
	}
	if strings.Trim(s, " \t:=") != "" || strings.Count(s, ":")+strings.Count(s, "=") != 1 {
		return plain
	}
	return s
}

// indentUnit is one level of indentation, from the member's indentation
// and that of the line its object starts on.
func (e *entry) indentUnit(indent string) string {
	lineStart := e.obj.start
	for lineStart > 0 && e.src[lineStart-1] != '\n' {
		lineStart--
	}
	objIndent := leadingBlanks(string(e.src[lineStart:e.obj.start]))
	if len(indent) > len(objIndent) && strings.HasPrefix(indent, objIndent) {
		return indent[len(objIndent):]
	}
	if strings.Contains(indent, "\t") {
		return "\t"
	}
	return "  "
}

// arrayInsert puts elems in front of an array's elements, in its layout.
func (e *entry) arrayInsert(arr *node, elems []string) edit {
	gap := e.arrayGap(arr)
	if len(arr.elems) == 0 {
		return edit{arr.start + 1, arr.start + 1, strings.Join(elems, ","+gap)}
	}
	first := arr.elems[0].start
	if indent, nl, ok := lineIndent(e.src, first); ok {
		gap = nl + indent // one element a line
	}
	var b strings.Builder
	for _, el := range elems {
		b.WriteString(el + "," + gap)
	}
	return edit{first, first, b.String()}
}

// arrayGap is the blank text after a comma in a one-line array.
func (e *entry) arrayGap(arr *node) string {
	if len(arr.elems) >= 2 {
		between := string(e.src[arr.elems[0].end:arr.elems[1].start])
		if i := strings.IndexByte(between, ','); i >= 0 && strings.Trim(between[i+1:], " \t") == "" {
			return between[i+1:]
		}
	}
	if e.style == styleJSON && e.args != nil {
		return trailingBlanks(e.sepAfter(e.args))
	}
	return " "
}

// lineIndent reports whether only blanks stand between the start of a
// line and pos, and returns them and the newline before them.
func lineIndent(src []byte, pos int) (indent, nl string, ok bool) {
	i := pos
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	if i == 0 || src[i-1] != '\n' {
		return "", "", false
	}
	nl = "\n"
	if i >= 2 && src[i-2] == '\r' {
		nl = "\r\n"
	}
	return string(src[i:pos]), nl, true
}

func leadingBlanks(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

func trailingBlanks(s string) string { return s[len(strings.TrimRight(s, " \t")):] }
