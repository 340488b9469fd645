package learn

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sbshim/sbshim/shim/audit"
)

// Bounds on what a hostile log can make learn hold or print.
const (
	// MaxAttempts bounds the distinct attempts learn considers; the rest
	// are counted in Attempts.Overflow.
	MaxAttempts = 20000
	// MaxTargetLen is the longest target used; a longer one is refused.
	MaxTargetLen = 4096
	// maxToolsKept bounds the tool names kept per attempt.
	maxToolsKept = 8
	// maxField bounds the kind, op, rule and layer kept.
	maxField = 1024
	// maxRawTool bounds one tool name as kept.
	maxRawTool = 256
	// maxToolLen bounds one tool name as printed.
	maxToolLen = 64
)

// Attempt is one distinct blocked attempt (kind, op, target, rule) of the
// log, with how often and when it happened and which tools needed it.
type Attempt struct {
	Kind, Op, Target, Rule, Layer string
	// Tools counts the attempts per tool name (NoTool "-": outside any
	// tool call), as the log has them but cut to maxRawTool bytes:
	// escape them (toolNames) before printing.
	Tools map[string]int
	// Times is how many attempts this stands for.
	Times       int
	First, Last time.Time
}

// Attempts is what Collect found in a log.
type Attempts struct {
	List []*Attempt
	// Flooded counts attempts a blocked_summary record only counted: the
	// session hit its report limits and did not write them one by one.
	Flooded int
	// Overflow counts attempts past MaxAttempts distinct ones.
	Overflow int
	// Sessions counts the sessions seen (session_start records).
	Sessions int
}

type attemptKey struct{ kind, op, target, rule string }

// Collect gathers the blocked records of recs into distinct attempts, in
// the order first seen.
func Collect(recs []audit.Record) *Attempts {
	out := &Attempts{}
	index := map[attemptKey]*Attempt{}
	for _, r := range recs {
		switch r.Type {
		case audit.TypeSessionStart:
			out.Sessions++
			continue
		case audit.TypeBlockedSummary:
			if r.Count > 0 {
				out.Flooded += r.Count
			}
			continue
		case audit.TypeBlocked:
		default:
			continue
		}
		// Bound what a hostile log makes learn keep: a target one byte
		// over MaxTargetLen still reads as too long to use.
		k := attemptKey{cut(r.Kind, maxField), cut(r.Op, maxField), cutBytes(r.Target, MaxTargetLen+1), cut(r.Rule, maxField)}
		a := index[k]
		if a == nil {
			if len(out.List) >= MaxAttempts {
				out.Overflow += r.Times()
				continue
			}
			a = &Attempt{Kind: k.kind, Op: k.op, Target: k.target, Rule: k.rule, Layer: cut(r.Layer, maxField),
				Tools: map[string]int{}, First: r.TS, Last: r.TS}
			index[k] = a
			out.List = append(out.List, a)
		}
		n := r.Times()
		a.Times += n
		if r.TS.Before(a.First) {
			a.First = r.TS
		}
		if r.TS.After(a.Last) {
			a.Last = r.TS
		}
		tools := r.Tool
		if len(tools) == 0 {
			tools = audit.Tools{audit.NoTool}
		}
		for _, t := range tools {
			t = cut(t, maxRawTool)
			if _, ok := a.Tools[t]; ok || len(a.Tools) < maxToolsKept {
				a.Tools[t] += n
			} else {
				a.Tools["…"] += n
			}
		}
	}
	return out
}

// ToolName makes a tool name chosen by the server safe to print: escaped
// and cut to maxToolLen bytes (on a rune boundary, marked with …).
func ToolName(s string) string {
	s = audit.Escape(s)
	if s == "" {
		return `""`
	}
	return cut(s, maxToolLen)
}

// cut shortens s to at most n bytes, on a rune boundary, ending in … when
// cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// cutBytes shortens s to at most n bytes, exactly.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// toolNames lists the tools of as, escaped (ToolName), most attempts
// first, then by name.
func toolNames(as []*Attempt) []string {
	sum := map[string]int{}
	for _, a := range as {
		for t, n := range a.Tools {
			sum[ToolName(t)] += n
		}
	}
	names := make([]string, 0, len(sum))
	for t := range sum {
		names = append(names, t)
	}
	slices.SortFunc(names, func(a, b string) int {
		if sum[a] != sum[b] {
			return sum[b] - sum[a]
		}
		return strings.Compare(a, b)
	})
	return names
}
