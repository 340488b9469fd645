package wrap

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	for _, c := range []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one change", "a\nb\nc\n", "a\nB\nc\n", "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"from empty", "", "a\nb\n", "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to empty", "a\n", "", "--- x\n+++ y\n@@ -1 +0,0 @@\n-a\n"},
		{"no newline at end", "a\nb", "a\nc", "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"},
		{"newline added at end", "a", "a\n", "--- x\n+++ y\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
			"--- x\n+++ y\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n"},
		{"joined hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "X\n2\n3\n4\n5\n6\n7\nY\n9\n",
			"--- x\n+++ y\n@@ -1,9 +1,9 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n 9\n"},
		{"insert in middle", "a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nNEW\ne\nf\ng\nh\n", "--- x\n+++ y\n@@ -2,6 +2,7 @@\n b\n c\n d\n+NEW\n e\n f\n g\n"},
		{"crlf", "a\r\nb\r\n", "a\r\nc\r\n", "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := UnifiedDiff("x", "y", []byte(c.a), []byte(c.b)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// patch applies a unified diff to a, checking every context and removed
// line and every hunk's counts, and returns the result.
func patch(a, diff string) (string, error) {
	if diff == "" {
		return a, nil
	}
	const noNL = "\\ No newline at end of file\n"
	al, dl := splitLines(a), splitLines(diff)
	if len(dl) < 2 || !strings.HasPrefix(dl[0], "--- ") || !strings.HasPrefix(dl[1], "+++ ") {
		return "", fmt.Errorf("no header")
	}
	var out []string
	pos := 0
	for i := 2; i < len(dl); {
		f := strings.Fields(dl[i])
		if len(f) != 4 || f[0] != "@@" || f[3] != "@@" {
			return "", fmt.Errorf("bad hunk header %q", dl[i])
		}
		as, an := rng(f[1][1:])
		_, bn := rng(f[2][1:])
		start := as - 1
		if an == 0 {
			start = as
		}
		if start < pos || start > len(al) {
			return "", fmt.Errorf("hunk at line %d out of order", as)
		}
		out = append(out, al[pos:start]...)
		pos = start
		i++
		gotA, gotB := 0, 0
		for i < len(dl) && !strings.HasPrefix(dl[i], "@@") {
			op, line := dl[i][0], dl[i][1:]
			i++
			if i < len(dl) && dl[i] == noNL {
				line = strings.TrimSuffix(line, "\n")
				i++
			}
			if op == ' ' || op == '-' {
				if pos >= len(al) || al[pos] != line {
					return "", fmt.Errorf("line %d does not match", pos+1)
				}
				pos++
				gotA++
			}
			if op == ' ' || op == '+' {
				out = append(out, line)
				gotB++
			}
		}
		if gotA != an || gotB != bn {
			return "", fmt.Errorf("hunk counts %d,%d, header says %d,%d", gotA, gotB, an, bn)
		}
	}
	return strings.Join(append(out, al[pos:]...), ""), nil
}

func rng(s string) (int, int) {
	a, b, ok := strings.Cut(s, ",")
	start, _ := strconv.Atoi(a)
	if !ok {
		return start, 1
	}
	n, _ := strconv.Atoi(b)
	return start, n
}

func randomText(r *rand.Rand) string {
	n := r.Intn(30)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(string(rune('a' + r.Intn(4))))
		if i < n-1 || r.Intn(3) > 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 5000; i++ {
		a, b := randomText(r), randomText(r)
		d := UnifiedDiff("a", "b", []byte(a), []byte(b))
		got, err := patch(a, d)
		if err != nil || got != b {
			t.Fatalf("diff of %q and %q does not apply (%v):\n%s\ngives %q", a, b, err, d, got)
		}
	}
}

// The script is minimal: its length matches the LCS of the two texts.
func TestDiffLinesIsMinimal(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 2000; i++ {
		a, b := splitLines(randomText(r)), splitLines(randomText(r))
		changes := 0
		for _, o := range diffLines(a, b) {
			if o.kind != opEqual {
				changes++
			}
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("%q → %q: %d changes, want %d", a, b, changes, want)
		}
	}
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// Past maxEditDistance the diff is not minimal but still correct.
func TestUnifiedDiffLarge(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 3*maxEditDistance; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := UnifiedDiff("a", "b", []byte(a.String()), []byte(b.String()))
	if got, err := patch(a.String(), d); err != nil || got != b.String() {
		t.Fatalf("large diff does not apply: %v", err)
	}
}

func FuzzUnifiedDiff(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd"))
	f.Add([]byte(""), []byte("x"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		d := UnifiedDiff("a", "b", a, b)
		if got, err := patch(string(a), d); err != nil || got != string(b) {
			t.Fatalf("diff does not apply (%v):\n%s", err, d)
		}
	})
}
