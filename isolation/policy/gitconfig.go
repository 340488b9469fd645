package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// gitConfigEntry is one variable of a git config file: section and key
// lower-cased, subsection as written (git compares it case-sensitively),
// value unquoted and unescaped. A key given without "=" (git's boolean
// true) has HasValue false.
type gitConfigEntry struct {
	Section, Subsection, Key string
	// HasSubsection tells [a ""] (an empty subsection) from [a].
	HasSubsection bool
	Value         string
	HasValue      bool
}

// name is the variable's full name as git prints it: section.key or
// section.subsection.key, section and key lower-case.
func (e gitConfigEntry) name() string {
	if !e.HasSubsection {
		return e.Section + "." + e.Key
	}
	return e.Section + "." + e.Subsection + "." + e.Key
}

// maxGitConfigSize bounds what one config file may hold before it is read
// no further; git's own configs are a few KiB.
const maxGitConfigSize = 1 << 20

// parseGitConfig reads the variables of one git config file, following
// git's syntax (git-config(1), "CONFIGURATION FILE"): sections
// [section], [section "subsection"] and the legacy [section.subsection];
// keys case-insensitive, values with "..." quoting, \-escapes, \ line
// continuations and # or ; comments. It never runs anything and
// interprets nothing beyond the syntax. On a syntax error it returns the
// entries read so far and the error (git itself refuses such a file, so
// nothing after the error takes effect).
func parseGitConfig(data []byte) ([]gitConfigEntry, error) {
	p := gitConfigParser{data: data}
	// A UTF-8 byte order mark is skipped, as git does.
	p.data = bytes.TrimPrefix(p.data, []byte("\xef\xbb\xbf"))
	err := p.parse()
	return p.out, err
}

type gitConfigParser struct {
	data       []byte
	pos        int
	line       int
	section    string
	subsection string
	hasSub     bool
	out        []gitConfigEntry
}

func (p *gitConfigParser) errorf(format string, a ...any) error {
	return fmt.Errorf("git config line %d: %s", p.line+1, fmt.Sprintf(format, a...))
}

// peek returns the next byte, or -1 at the end.
func (p *gitConfigParser) peek() int {
	if p.pos >= len(p.data) {
		return -1
	}
	return int(p.data[p.pos])
}

// next consumes and returns the next byte, or -1 at the end. "\r\n"
// counts as one "\n", as in git.
func (p *gitConfigParser) next() int {
	c := p.peek()
	if c < 0 {
		return c
	}
	p.pos++
	if c == '\r' && p.peek() == '\n' {
		p.pos++
		c = '\n'
	}
	if c == '\n' {
		p.line++
	}
	return c
}

// isGitSpace is git's isspace: space, tab, carriage return and newline
// (not \v or \f).
func isGitSpace(c int) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isGitKeyChar(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func lowerByte(c int) byte {
	if c >= 'A' && c <= 'Z' {
		return byte(c + 'a' - 'A')
	}
	return byte(c)
}

func (p *gitConfigParser) skipComment() {
	for c := p.peek(); c >= 0 && c != '\n'; c = p.peek() {
		p.next()
	}
}

// parse follows git's git_parse_source.
func (p *gitConfigParser) parse() error {
	for {
		c := p.next()
		switch {
		case c < 0:
			return nil
		case isGitSpace(c):
		case c == '#' || c == ';':
			p.skipComment()
		case c == '[':
			if err := p.parseSection(); err != nil {
				return err
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			// git accepts a variable before any section; it has no
			// name that counts, so it is read and dropped.
			if err := p.parseVariable(c); err != nil {
				return err
			}
		default:
			return p.errorf("unexpected %q", rune(c))
		}
	}
}

// parseSection reads a section header after its "[" (git's
// get_base_var).
func (p *gitConfigParser) parseSection() error {
	var name []byte
	for {
		c := p.next()
		switch {
		case c < 0:
			return p.errorf("unterminated section header")
		case c == ']':
			if len(name) == 0 {
				return p.errorf("empty section name")
			}
			p.section, p.subsection, p.hasSub = string(name), "", false
			return nil
		case isGitSpace(c):
			if c == '\n' {
				return p.errorf("unterminated section header")
			}
			return p.parseSubsection(name)
		case isGitKeyChar(c) || c == '.':
			// [section.subsection], the legacy form, is lower-cased
			// whole.
			name = append(name, lowerByte(c))
		default:
			return p.errorf("bad section name character %q", rune(c))
		}
	}
}

// parseSubsection reads ` "subsection"]` after a section name (git's
// get_extended_base_var).
func (p *gitConfigParser) parseSubsection(name []byte) error {
	c := p.next()
	for isGitSpace(c) {
		if c == '\n' {
			return p.errorf("unterminated section header")
		}
		c = p.next()
	}
	if c != '"' {
		return p.errorf("bad section header")
	}
	var sub []byte
	for {
		c := p.next()
		switch c {
		case -1, '\n':
			return p.errorf("unterminated subsection")
		case '"':
			if p.next() != ']' {
				return p.errorf("bad section header")
			}
			p.section, p.subsection, p.hasSub = string(name), string(sub), true
			return nil
		case '\\':
			c = p.next()
			if c < 0 || c == '\n' {
				return p.errorf("unterminated subsection")
			}
		}
		sub = append(sub, byte(c))
	}
}

// parseVariable reads "key [= value]" whose first byte is first (git's
// get_value).
func (p *gitConfigParser) parseVariable(first int) error {
	key := []byte{lowerByte(first)}
	for isGitKeyChar(p.peek()) {
		key = append(key, lowerByte(p.next()))
	}
	for p.peek() == ' ' || p.peek() == '\t' {
		p.next()
	}
	e := gitConfigEntry{Key: string(key)}
	e.Section, e.Subsection, e.HasSubsection = p.section, p.subsection, p.hasSub
	if i := strings.IndexByte(e.Section, '.'); i >= 0 {
		e.Section, e.Subsection, e.HasSubsection = e.Section[:i], e.Section[i+1:], true
	}
	switch c := p.next(); c {
	case -1, '\n':
	case '=':
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		e.Value, e.HasValue = v, true
	default:
		return p.errorf("bad variable %q", string(key))
	}
	if e.Section != "" {
		p.out = append(p.out, e)
	}
	return nil
}

// parseValue reads a value up to the end of its (logical) line (git's
// parse_value): blanks outside quotes are dropped at both ends and each
// is one space inside, # and ; outside quotes start a comment.
func (p *gitConfigParser) parseValue() (string, error) {
	var b []byte
	quoted, comment := false, false
	pendingSpace := 0
	for {
		c := p.next()
		switch {
		case c < 0 || c == '\n':
			if quoted {
				return "", p.errorf("unterminated quoted value")
			}
			return string(b), nil
		case comment:
			continue
		case !quoted && isGitSpace(c):
			if len(b) > 0 {
				pendingSpace++
			}
			continue
		case !quoted && (c == '#' || c == ';'):
			comment = true
			continue
		}
		for ; pendingSpace > 0; pendingSpace-- {
			b = append(b, ' ')
		}
		switch c {
		case '"':
			quoted = !quoted
		case '\\':
			switch e := p.next(); e {
			case '\n', -1:
				// line continuation (at the end of the file too, as in git)
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case '\\', '"':
				b = append(b, byte(e))
			default:
				return "", p.errorf("bad escape")
			}
		default:
			b = append(b, byte(c))
		}
	}
}

// readGitConfigFile reads a config file the way sbshim may read a file the
// sandbox may have prepared: without blocking on a FIFO, without reading a
// device, and no more than maxGitConfigSize bytes. A missing file gives
// an error wrapping fs.ErrNotExist.
func readGitConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxGitConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxGitConfigSize {
		return data[:maxGitConfigSize], errors.New(path + ": larger than 1 MiB, read no further")
	}
	return data, nil
}
