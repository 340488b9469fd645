package policy

import (
	"path"
	"strings"
	"testing"
)

// envMatchByPathMatch is envMatch as it was before its fast path for
// patterns with only *: every pattern through path.Match. envStarMatch must
// answer as it does.
func envMatchByPathMatch(pat, name string, fold bool) bool {
	pat = strings.ReplaceAll(pat, "/", "\x00")
	name = strings.ReplaceAll(name, "/", "\x00")
	if fold {
		pat, name = asciiUpper(pat), asciiUpper(name)
	}
	m, _ := path.Match(pat, name)
	return m
}

// knownTokenByTable is knownToken as it was before it stopped building a
// table per value: the shapes indexed by the first byte of their prefix.
func knownTokenByTable(v string) string {
	var byFirst [256][]tokenShape
	for _, s := range tokenShapes() {
		byFirst[s.prefix[0]] = append(byFirst[s.prefix[0]], s)
	}
	for i := 0; i < len(v); i++ {
		if !atBoundary(v, i) {
			continue
		}
		rest := v[i:]
		for _, s := range byFirst[v[i]] {
			if !strings.HasPrefix(rest, s.prefix) {
				continue
			}
			body := rest[len(s.prefix):]
			if s.exact > 0 {
				n := runOf(body, isUpperOrDigit, s.exact+1)
				if n == s.exact && (n == len(body) || !isTokenByte(body[n])) {
					return s.kind
				}
				continue
			}
			if runOf(body, isTokenByte, s.min) >= s.min {
				return s.kind
			}
		}
	}
	return ""
}

// TestEnvStarMatch: the fast path of envMatch agrees with path.Match on the
// shapes of the shipped deny and pass lists and on the corner cases of a
// backtracking matcher.
func TestEnvStarMatch(t *testing.T) {
	for _, c := range []struct {
		pat, name  string
		fold, want bool
	}{
		{"*TOKEN", "GITHUB_TOKEN", false, true},
		{"*TOKEN", "github_token", true, true},
		{"*TOKEN", "github_token", false, false},
		{"*TOKEN_*", "A_TOKEN_B", false, true},
		{"*TOKEN_*", "A_TOKEN", false, false},
		{"*SECRET*", "SECRET", false, true},
		{"*SECRET*", "MY_SECRETS_X", false, true},
		{"*SECRET*", "SECRE", false, false},
		{"KEY", "KEY", false, true},
		{"KEY", "KEYS", false, false},
		{"KEY_*", "KEY_", false, true},
		{"*_KEY_*", "A_KEY_KEY_", false, true},
		{"*A*A*A", "AAAA", false, true},
		{"*A*A*A", "AA", false, false},
		{"**", "", false, true},
		{"", "", false, true},
		{"", "A", false, false},
		{"*", "npm_config_//registry.example/:_authToken", false, true},
		{"*/:_AUTHTOKEN", "npm_config_//registry.example/:_authToken", true, true},
		{"*_PAT", "github_pat", true, true},
		{"é*", "é", true, true},
		{"*\xff", "a\xff", false, true},
	} {
		if got := envMatch(c.pat, c.name, c.fold); got != c.want {
			t.Errorf("envMatch(%q, %q, %v) = %v, want %v", c.pat, c.name, c.fold, got, c.want)
		}
		if ref := envMatchByPathMatch(c.pat, c.name, c.fold); ref != c.want {
			t.Errorf("path.Match(%q, %q, %v) = %v: the table is wrong", c.pat, c.name, c.fold, ref)
		}
	}
}

// FuzzEnvMatch: envMatch answers as path.Match does, for every pattern
// and name, folded or not.
func FuzzEnvMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*TOKEN", "GITHUB_TOKEN"}, {"*_KEY_*", "a_key_b"}, {"*A*A*A", "AAAA"}, {"[a-c]_KEY", "B_key"},
		{"A?", "AB"}, {`\*`, "*"}, {"*", "a/b"}, {"x\x00", "x/"}, {"", ""}, {"**/*", "a/b/c"},
	} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pat, name string, fold bool) {
		if got, want := envMatch(pat, name, fold), envMatchByPathMatch(pat, name, fold); got != want {
			t.Fatalf("envMatch(%q, %q, %v) = %v, path.Match says %v", pat, name, fold, got, want)
		}
	})
}

// FuzzKnownToken: knownToken finds what the table it replaced found.
func FuzzKnownToken(f *testing.F) {
	for _, s := range []string{
		"", "ghp_" + strings.Repeat("a", 36), "x ghp_short", "github_pat_" + strings.Repeat("B", 40),
		"AKIA" + strings.Repeat("A", 16), "xAKIA" + strings.Repeat("A", 16), "glpat-" + strings.Repeat("z", 20),
		"sk-ant-" + strings.Repeat("k", 40), "PATH=/usr/bin:/bin", strings.Repeat("gh", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := knownToken(v), knownTokenByTable(v); got != want {
			t.Fatalf("knownToken(%q) = %q, the table said %q", v, got, want)
		}
	})
}
