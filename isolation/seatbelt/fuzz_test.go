package seatbelt

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// fuzzSeeds are paths with what could break out of a string or a regex.
func fuzzSeeds() []string {
	return []string{"", "a", `"`, `\`, `\"`, `"\`, `a")(allow default)("`, `\\"`, "é", "日本", ".*", "^$", "[a-z]+",
		"(x)|y", "{1,2}", `\.`, "a?b+c", ")", "(", ";", "#\"", "\u00a0", "\u2028", "a/b/../c"}
}

// FuzzQuote checks that quote writes any string checkString accepts as
// one SBPL string that reads back as exactly that string, whatever
// follows it.
func FuzzQuote(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkString(s) != nil {
			return
		}
		top, err := parseSBPL("(literal " + quote(s) + ") (x)")
		if err != nil {
			t.Fatalf("quote(%q) = %s does not parse: %v", s, quote(s), err)
		}
		if len(top) != 2 || len(top[0].list) != 2 || !top[0].list[1].isStr || top[0].list[1].str != s {
			t.Fatalf("quote(%q) = %s reads back as %v", s, quote(s), top)
		}
	})
}

// FuzzRegexQuote checks that "^" + regexQuote(s) + "$" matches s and
// nothing else, read as POSIX ERE and as RE2, and survives quoting.
func FuzzRegexQuote(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkString(s) != nil {
			return
		}
		re := "^" + regexQuote(s) + "$"
		top, err := parseSBPL("(regex " + quote(re) + ")")
		if err != nil || len(top) != 1 || top[0].list[1].str != re {
			t.Fatalf("regex of %q does not survive quoting: %v", s, err)
		}
		for _, compile := range []func(string) (*regexp.Regexp, error){regexp.Compile, regexp.CompilePOSIX} {
			r, err := compile(re)
			if err != nil {
				t.Fatalf("regex %q of %q: %v", re, s, err)
			}
			if !r.MatchString(s) {
				t.Fatalf("regex %q does not match %q", re, s)
			}
			for _, other := range variants(s) {
				if other != s && r.MatchString(other) {
					t.Fatalf("regex %q of %q also matches %q", re, s, other)
				}
			}
		}
	})
}

// variants returns strings near s: longer, shorter, one byte changed.
func variants(s string) []string {
	out := []string{s + "x", "x" + s, s + "/", "/" + s}
	if s != "" {
		out = append(out, s[1:], s[:len(s)-1])
	}
	for i := 0; i < len(s) && i < 64; i++ {
		for _, c := range []byte{'x', '.', '/', 'a'} {
			if s[i] != c {
				out = append(out, s[:i]+string(c)+s[i+1:])
			}
		}
	}
	return out
}

// FuzzGenerate checks that no path in a policy can break out of its
// filter: with the fuzzed name in every list, the profile either is
// refused or parses, keeps its statements, and still hides, protects and
// allows what the Policy says for the paths made with that name.
func FuzzGenerate(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := fakeVars()
		dir := filepath.Join(v.Workspace, name)
		if !strings.HasPrefix(dir, v.Workspace+"/") {
			return
		}
		p := &policy.Policy{Network: policy.NetworkPolicy{Mode: policy.NetNone, AllowUnixSockets: []string{dir + "/s"}}, Vars: v,
			Filesystem: policy.FilesystemPolicy{
				DenyRead:   []string{dir + "/secret", "/Users/u/" + name},
				AllowRead:  []string{dir + "/secret/ok"},
				AllowWrite: []string{v.Workspace, dir + "/w"},
				DenyWrite:  []string{dir + "/keep"},
			}}
		prof, err := Generate(p, Options{Tag: testTag})
		if err != nil {
			if checkString(dir) == nil && len(dir) < maxString-200 {
				t.Fatalf("Generate refused %q: %v", dir, err)
			}
			return
		}
		sp, err := compileSBPL(prof.Text)
		if err != nil {
			t.Fatalf("the profile of %q does not parse: %v", dir, err)
		}
		if want := strings.Count(prof.Text, "\n(allow ") + strings.Count(prof.Text, "\n(deny "); len(sp.rules) != want {
			t.Fatalf("the profile of %q has %d rules, its text %d statements", dir, len(sp.rules), want)
		}
		for _, path := range []string{dir, dir + "/secret", dir + "/secret/x", dir + "/secret/ok", dir + "/keep", dir + "/w/x",
			dir + "/.git/hooks", dir + "/.git/x", dir + "/HEAD", dir + "x", "/Users/u/" + name + "/x"} {
			checkPath(t, "fuzz", p, prof, sp, filepath.Clean(path))
		}
	})
}
