package seatbelt

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sbshim/sbshim/isolation/policy"
)

// This file is a test-only evaluator of the SBPL subset that Generate
// writes, with Seatbelt's semantics as the generator relies on them (see
// Generate): the last matching rule decides, (deny default) matches
// everything, several filters in a rule match if any does, an operation
// ending in * stands for every operation it is the prefix of.

// sexp is one parsed SBPL expression: a list, a string or a symbol.
type sexp struct {
	list   []*sexp
	isList bool
	str    string
	isStr  bool
	sym    string
	re     *regexp.Regexp // a regex filter's, compiled by checkFilter
}

// parseSBPL reads a whole profile into its top-level expressions.
func parseSBPL(text string) ([]*sexp, error) {
	p := &sbplParser{s: text}
	var out []*sexp
	for {
		p.space()
		if p.i >= len(p.s) {
			return out, nil
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

type sbplParser struct {
	s string
	i int
}

func (p *sbplParser) space() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ';':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *sbplParser) expr() (*sexp, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end of profile")
	}
	switch p.s[p.i] {
	case '(':
		p.i++
		e := &sexp{isList: true}
		for {
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unclosed list")
			}
			if p.s[p.i] == ')' {
				p.i++
				return e, nil
			}
			c, err := p.expr()
			if err != nil {
				return nil, err
			}
			e.list = append(e.list, c)
		}
	case ')':
		return nil, fmt.Errorf("unexpected ) at %d", p.i)
	case '"':
		p.i++
		var b strings.Builder
		for {
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unclosed string")
			}
			c := p.s[p.i]
			p.i++
			switch c {
			case '"':
				return &sexp{isStr: true, str: b.String()}, nil
			case '\\':
				if p.i >= len(p.s) {
					return nil, fmt.Errorf("unclosed string")
				}
				n := p.s[p.i]
				p.i++
				if n != '\\' && n != '"' {
					return nil, fmt.Errorf("escape \\%c is outside the subset Generate writes", n)
				}
				b.WriteByte(n)
			default:
				b.WriteByte(c)
			}
		}
	default:
		start := p.i
		for p.i < len(p.s) && !strings.ContainsRune(" \n\t\r()\";", rune(p.s[p.i])) {
			p.i++
		}
		return &sexp{sym: p.s[start:p.i]}, nil
	}
}

// request is one operation the evaluator decides.
type request struct {
	op   string // e.g. file-read-data, file-write-create, network-outbound
	path string // the file's real path, for file operations
	dir  bool   // the file is a folder (vnode-type DIRECTORY)
	unix string // the remote unix socket's path, for a connect
	ip   string // the remote "host:port", for a connect
}

// sbRule is one allow or deny of a profile.
type sbRule struct {
	allow   bool
	ops     []string
	filters []*sexp
	message string
}

// sbProfile is a parsed profile.
type sbProfile struct {
	rules []sbRule
	byOp  map[string][]int // the indices of the rules that cover an operation
	// memo holds the top-level filters' answers for memoFor, a request
	// less its operation: the tests ask many operations on one path.
	memo    map[*sexp]bool
	memoFor request
}

// compileSBPL parses a profile written by Generate, refusing anything
// outside the subset the evaluator knows.
func compileSBPL(text string) (*sbProfile, error) {
	top, err := parseSBPL(text)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 || !top[0].isList || len(top[0].list) != 2 || top[0].list[0].sym != "version" || top[0].list[1].sym != "1" {
		return nil, fmt.Errorf("profile does not start with (version 1)")
	}
	prof := &sbProfile{byOp: map[string][]int{}, memo: map[*sexp]bool{}}
	for _, e := range top[1:] {
		if !e.isList || len(e.list) < 2 || (e.list[0].sym != "allow" && e.list[0].sym != "deny") {
			return nil, fmt.Errorf("unexpected top-level expression %s", e)
		}
		r := sbRule{allow: e.list[0].sym == "allow"}
		for _, x := range e.list[1:] {
			switch {
			case x.sym != "":
				r.ops = append(r.ops, x.sym)
			case x.isList && len(x.list) == 3 && x.list[0].sym == "with" && x.list[1].sym == "message" && x.list[2].isStr:
				r.message = x.list[2].str
			case x.isList:
				if err := checkFilter(x); err != nil {
					return nil, err
				}
				r.filters = append(r.filters, x)
			default:
				return nil, fmt.Errorf("unexpected %s in a rule", x)
			}
		}
		if len(r.ops) == 0 {
			return nil, fmt.Errorf("rule without operation: %s", e)
		}
		prof.rules = append(prof.rules, r)
	}
	return prof, nil
}

// otherFilters are filters the profile writes that no request of the
// tests carries: they never match.
var otherFilters = map[string]bool{
	"target": true, "global-name": true, "ipc-posix-name": true, "socket-domain": true, "local": true,
}

// checkFilter refuses a filter outside the evaluator's subset, and a
// regex that does not compile.
func checkFilter(f *sexp) error {
	if !f.isList || len(f.list) == 0 || f.list[0].sym == "" {
		return fmt.Errorf("bad filter %s", f)
	}
	switch name := f.list[0].sym; name {
	case "literal", "subpath", "path-literal":
		if len(f.list) != 2 || !f.list[1].isStr {
			return fmt.Errorf("bad filter %s", f)
		}
	case "regex", "path-regex":
		if len(f.list) != 2 || !f.list[1].isStr {
			return fmt.Errorf("bad filter %s", f)
		}
		re, err := regexp.Compile(f.list[1].str)
		if err != nil {
			return fmt.Errorf("filter %s: %w", f, err)
		}
		f.re = re
	case "require-all", "require-any":
		for _, c := range f.list[1:] {
			if err := checkFilter(c); err != nil {
				return err
			}
		}
	case "require-not":
		if len(f.list) != 2 {
			return fmt.Errorf("bad filter %s", f)
		}
		return checkFilter(f.list[1])
	case "vnode-type":
		if len(f.list) != 2 || f.list[1].sym == "" {
			return fmt.Errorf("bad filter %s", f)
		}
	case "remote":
		if len(f.list) < 2 {
			return fmt.Errorf("bad filter %s", f)
		}
		switch f.list[1].sym {
		case "ip":
			if len(f.list) != 3 || !f.list[2].isStr {
				return fmt.Errorf("bad filter %s", f)
			}
		case "unix-socket":
			if len(f.list) != 3 {
				return fmt.Errorf("bad filter %s", f)
			}
			return checkFilter(f.list[2])
		default:
			return fmt.Errorf("bad filter %s", f)
		}
	default:
		if !otherFilters[name] {
			return fmt.Errorf("filter %s is outside the evaluator's subset", f)
		}
	}
	return nil
}

// match says whether filter f matches r, for the path p (the file's, or
// the socket's inside a unix-socket filter).
func match(f *sexp, r request, p string) bool {
	switch name := f.list[0].sym; name {
	case "literal", "path-literal":
		return p != "" && p == f.list[1].str
	case "subpath":
		return p != "" && policy.Within(p, f.list[1].str)
	case "regex", "path-regex":
		return p != "" && f.re.MatchString(p)
	case "require-all":
		for _, c := range f.list[1:] {
			if !match(c, r, p) {
				return false
			}
		}
		return true
	case "require-any":
		for _, c := range f.list[1:] {
			if match(c, r, p) {
				return true
			}
		}
		return false
	case "require-not":
		return !match(f.list[1], r, p)
	case "vnode-type":
		return r.dir && f.list[1].sym == "DIRECTORY" && p != ""
	case "remote":
		if f.list[1].sym == "ip" {
			return r.ip != "" && r.ip == f.list[2].str
		}
		return r.unix != "" && match(f.list[2], r, r.unix)
	}
	return false
}

// opMatches says whether a rule's operation covers op.
func opMatches(ruleOp, op string) bool {
	if ruleOp == "default" || ruleOp == op {
		return true
	}
	prefix, wild := strings.CutSuffix(ruleOp, "*")
	return wild && strings.HasPrefix(op, prefix)
}

// decide returns whether the profile allows r and, when it denies it,
// the message of the deciding rule.
func (sp *sbProfile) decide(r request) (allowed bool, message string) {
	idx, seen := sp.byOp[r.op]
	if !seen {
		for i, rule := range sp.rules {
			for _, op := range rule.ops {
				if opMatches(op, r.op) {
					idx = append(idx, i)
					break
				}
			}
		}
		sp.byOp[r.op] = idx
	}
	// The last matching rule decides: the first one found from the end.
	for k := len(idx) - 1; k >= 0; k-- {
		rule := sp.rules[idx[k]]
		if len(rule.filters) > 0 {
			any := false
			for _, f := range rule.filters {
				if sp.match(f, r) {
					any = true
					break
				}
			}
			if !any {
				continue
			}
		}
		return rule.allow, rule.message
	}
	return false, ""
}

// match is match(f, r, r.path), remembered for requests that differ
// only in their operation.
func (sp *sbProfile) match(f *sexp, r request) bool {
	key := r
	key.op = ""
	if key != sp.memoFor {
		clear(sp.memo)
		sp.memoFor = key
	}
	m, ok := sp.memo[f]
	if !ok {
		m = match(f, r, r.path)
		sp.memo[f] = m
	}
	return m
}

func (e *sexp) String() string {
	switch {
	case e.isList:
		parts := make([]string, len(e.list))
		for i, c := range e.list {
			parts[i] = c.String()
		}
		return "(" + strings.Join(parts, " ") + ")"
	case e.isStr:
		return quote(e.str)
	}
	return e.sym
}
