package learn

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// maxTargetsShown bounds the targets listed under one tool of a grant.
const maxTargetsShown = 5

// maxRefusalsShown bounds the attempts listed as not proposed.
const maxRefusalsShown = 100

// Render prints the proposal as a diff of the allow lists in force
// against the proposed ones, each added entry followed by comments: which
// tool needed what, how often and when, and how the entry was derived;
// then the attempts not proposed, with the reason. Every string from the
// log is escaped.
func Render(w io.Writer, p *Proposal, inForce Lists, home string, loc *time.Location) error {
	ew := &errWriter{w: w}
	if len(p.Grants) == 0 {
		ew.printf("Nothing new to propose: the policy in force already allows every attempt learn could propose.\n")
	} else {
		ew.printf("--- policy in force\n+++ proposed\n")
		renderList(ew, KeyAllowWrite, inForce.AllowWrite, p.Grants, home, loc)
		renderList(ew, KeyAllowRead, inForce.AllowRead, p.Grants, home, loc)
		renderList(ew, KeyAllowNet, inForce.AllowNet, p.Grants, home, loc)
	}
	if len(p.Refused) > 0 {
		ew.printf("\nNot proposed (%d):\n", len(p.Refused))
		for i, r := range p.Refused {
			if i == maxRefusalsShown {
				ew.printf("  … and %d more (sbshim audit --events --server NAME lists them all)\n", len(p.Refused)-i)
				break
			}
			a := r.Attempt
			what := escape(a.Kind + " " + a.Op)
			if a.Target != "" {
				what += " " + quote(displayPath(a.Target, home))
			}
			ew.printf("  %s (%s, %s):\n      %s\n", what, strings.Join(toolNames([]*Attempt{a}), ", "), when(a.Times, a.First, a.Last, loc), r.Reason)
		}
	}
	if p.Allowed > 0 {
		ew.printf("\n%d earlier attempt(s) (%d distinct) are allowed by the policy in force and were left out.\n", p.AllowedTimes, p.Allowed)
	}
	if p.Flooded > 0 {
		ew.printf("\n%d attempt(s) were only counted, not logged one by one (the session hit its report limits): learn cannot see them; run the server again to learn them.\n", p.Flooded)
	}
	if p.Overflow > 0 {
		ew.printf("\n%d attempt(s) past the first %d distinct ones were not considered: run learn again (with --since) once these are settled.\n", p.Overflow, MaxAttempts)
	}
	return ew.err
}

func renderList(ew *errWriter, key string, have []string, grants []Grant, home string, loc *time.Location) {
	var add []Grant
	for _, g := range grants {
		if g.Key == key && !slices.Contains(have, g.Entry) {
			add = append(add, g)
		}
	}
	if len(add) == 0 {
		return
	}
	ew.printf(" %s:\n", key)
	for _, e := range have {
		ew.printf("   %s\n", escape(e))
	}
	for _, g := range add {
		ew.printf("+  %s\n", escape(g.Entry))
		for _, line := range comments(g, home, loc) {
			ew.printf("+    # %s\n", line)
		}
	}
}

// comments says, per tool, what the grant lets through, and why this
// entry.
func comments(g Grant, home string, loc *time.Location) []string {
	type acc struct {
		ops, targets []string
		times        int
		first, last  time.Time
	}
	byTool := map[string]*acc{}
	for _, a := range g.From {
		for raw, n := range a.Tools {
			t := ToolName(raw)
			c := byTool[t]
			if c == nil {
				c = &acc{first: a.First, last: a.Last}
				byTool[t] = c
			}
			if !slices.Contains(c.ops, a.Op) {
				c.ops = append(c.ops, a.Op)
			}
			tg := quote(displayPath(a.Target, home))
			if !slices.Contains(c.targets, tg) {
				c.targets = append(c.targets, tg)
			}
			c.times += n
			if a.First.Before(c.first) {
				c.first = a.First
			}
			if a.Last.After(c.last) {
				c.last = a.Last
			}
		}
	}
	var out []string
	for _, t := range toolNames(g.From) {
		c := byTool[t]
		who := "tool " + t
		if t == "-" {
			who = "outside any tool call (start-up)"
		}
		targets := c.targets
		more := ""
		if len(targets) > maxTargetsShown {
			more = fmt.Sprintf(" and %d more", len(targets)-maxTargetsShown)
			targets = targets[:maxTargetsShown]
		}
		out = append(out, fmt.Sprintf("%s needed %s of %s%s (%s)", who, escape(strings.Join(c.ops, "/")), strings.Join(targets, ", "), more, when(c.times, c.first, c.last, loc)))
	}
	out = append(out, "why this entry: "+g.Why)
	return out
}

// when says how many times and when.
func when(n int, first, last time.Time, loc *time.Location) string {
	const layout = "2006-01-02 15:04:05"
	if loc == nil {
		loc = time.Local
	}
	if n == 1 || first.Equal(last) {
		return fmt.Sprintf("%d time(s), at %s", n, first.In(loc).Format(layout))
	}
	return fmt.Sprintf("%d times, %s to %s", n, first.In(loc).Format(layout), last.In(loc).Format(layout))
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
