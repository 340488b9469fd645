package wrap

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// maxEditDistance bounds the work of the line diff: beyond it (files with
// more than this many differing lines) the differing middle is shown as
// removed and added whole, which is still a correct diff.
const maxEditDistance = 1000

// UnifiedDiff returns the unified diff (diff -u) that turns a into b, with
// the given file names in its header, or "" if a and b are equal. Lines are
// compared byte for byte, "\r" included.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	al, bl := splitLines(string(a)), splitLines(string(b))
	ops := diffLines(al, bl)
	var out strings.Builder
	for _, h := range hunks(ops) {
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		first := ops[h[0]]
		na, nb := 0, 0
		for _, o := range ops[h[0]:h[1]] {
			if o.kind != opInsert {
				na++
			}
			if o.kind != opDelete {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(first.a, na), hunkRange(first.b, nb))
		for _, o := range ops[h[0]:h[1]] {
			line := ""
			switch o.kind {
			case opEqual:
				out.WriteByte(' ')
				line = al[o.a]
			case opDelete:
				out.WriteByte('-')
				line = al[o.a]
			case opInsert:
				out.WriteByte('+')
				line = bl[o.b]
			}
			out.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
	}
	return out.String()
}

// hunkRange formats "start,count" as diff -u does: an empty range names the
// line before it.
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines splits s after each "\n"; the last line may lack one.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

type opKind uint8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// op is one step of an edit script: a line of a (a), of b (b), or both.
// For an insert, a is the position in a; for a delete, b the position in b.
type op struct {
	kind opKind
	a, b int
}

// diffLines returns an edit script from a to b: the common prefix and
// suffix, and between them the shortest script Myers' algorithm finds.
func diffLines(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []op
	for i := 0; i < pre; i++ {
		ops = append(ops, op{opEqual, i, i})
	}
	mid := myers(a[pre:len(a)-suf], b[pre:len(b)-suf])
	for _, o := range mid {
		ops = append(ops, op{o.kind, o.a + pre, o.b + pre})
	}
	for i := 0; i < suf; i++ {
		ops = append(ops, op{opEqual, len(a) - suf + i, len(b) - suf + i})
	}
	return ops
}

// myers is Myers' O(ND) greedy algorithm, keeping each round's frontier
// for the walk back. Past maxEditDistance it gives up on a minimal script.
func myers(a, b []string) []op {
	n, m := len(a), len(b)
	max := n + m
	if max == 0 {
		return nil
	}
	off := max + 1
	v := make([]int, 2*max+3)
	var trace [][]int // trace[d]: v[-d-1 .. d+1] before round d
	for d := 0; d <= max; d++ {
		if d > maxEditDistance {
			return replaceAll(n, m)
		}
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m)
			}
		}
	}
	return replaceAll(n, m) // not reached
}

func backtrack(trace [][]int, n, m int) []op {
	var rev []op
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		w := trace[d]
		at := func(k int) int { return w[k+d+1] }
		k := x - y
		var prevK int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, op{opEqual, x, y})
		}
		if d > 0 {
			if x == prevX {
				y--
				rev = append(rev, op{opInsert, x, y})
			} else {
				x--
				rev = append(rev, op{opDelete, x, y})
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func replaceAll(n, m int) []op {
	ops := make([]op, 0, n+m)
	for i := 0; i < n; i++ {
		ops = append(ops, op{opDelete, i, 0})
	}
	for j := 0; j < m; j++ {
		ops = append(ops, op{opInsert, n, j})
	}
	return ops
}

// hunks groups the changes of ops with their context: each hunk is a
// half-open range of ops.
func hunks(ops []op) [][2]int {
	var out [][2]int
	for i := 0; i < len(ops); {
		if ops[i].kind == opEqual {
			i++
			continue
		}
		start := max(0, i-diffContext)
		end := i
		for {
			// extend over this run of changes
			for end < len(ops) && ops[end].kind != opEqual {
				end++
			}
			// look ahead: another change within 2*context equal lines joins
			j := end
			for j < len(ops) && ops[j].kind == opEqual && j-end < 2*diffContext {
				j++
			}
			if j < len(ops) && ops[j].kind != opEqual {
				end = j
				continue
			}
			break
		}
		stop := min(len(ops), end+diffContext)
		out = append(out, [2]int{start, stop})
		i = stop
	}
	return out
}
