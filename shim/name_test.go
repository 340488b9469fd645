package shim

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sbshim/sbshim/shim/audit"
)

// hostileNames are server names that must not lead a path out of its
// folder, nor make two servers share one.
var hostileNames = []string{
	"", ".", "..", "../..", "../../.ssh", "/", "/etc/passwd", "a/b", "a/../../b",
	"a\x00b", "\x00", "-", "--", "--profile", ".hidden", "name.", "name-",
	"con", "GitHub", "github", "GITHUB", "caf\u00e9", "cafe\u0301", "\u212a", "k",
	"a\nb", "a\\b", "~", "$HOME", "x--0123456789abcdef",
	strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 300),
	strings.Repeat("../", 100), strings.Repeat("\u00e9", 200), "\xff\xfe",
}

// checkSafeName checks SafeName's promises for one input.
func checkSafeName(t *testing.T, in string) string {
	t.Helper()
	out := SafeName(in)
	dir := "/state/sbshim/audit"
	for _, p := range []string{filepath.Join(dir, out), audit.PathFor(dir, out)} {
		if filepath.Dir(p) != dir {
			t.Errorf("SafeName(%q) = %q: %s is not a direct child of %s", in, out, p, dir)
		}
	}
	if got := audit.PathFor(dir, out); got != filepath.Join(dir, out+audit.Ext) {
		t.Errorf("SafeName(%q) = %q: the audit log is %s, not %s.jsonl", in, out, got, out)
	}
	if out == "" || out == "." || out == ".." || len(out) > maxPlainName || !utf8.ValidString(out) ||
		strings.ContainsAny(out, "/\\\x00") || out[0] == '.' || out[0] == '-' || strings.ToLower(out) != out {
		t.Errorf("SafeName(%q) = %q: not a plain, short, lower-case file name", in, out)
	}
	return out
}

// TestSafeNameStaysInItsFolder: whatever the name, the audit log and the
// private cache folder are direct children of their folders, and names
// that differ (even only by case or Unicode normalisation) do not share
// them.
func TestSafeNameStaysInItsFolder(t *testing.T) {
	seen := map[string]string{}
	for _, in := range hostileNames {
		out := checkSafeName(t, in)
		if prev, ok := seen[out]; ok {
			t.Errorf("SafeName(%q) = SafeName(%q) = %q", in, prev, out)
		}
		seen[out] = in
	}
	for _, keep := range []string{"filesystem", "server-filesystem", "mcp_server.git", "k8s", "a1"} {
		if got := SafeName(keep); got != keep {
			t.Errorf("SafeName(%q) = %q, want it kept", keep, got)
		}
	}
}

// TestSessionNameStaysInItsFolder: --name, and the name derived from the
// command, give a $CACHE that is a direct child of the cache folder and an
// audit log name that is a plain file name.
func TestSessionNameStaysInItsFolder(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	var opts []Options
	for _, n := range hostileNames {
		opts = append(opts, Options{Name: n, Argv: []string{"true"}})
		opts = append(opts, Options{Argv: []string{"npx", "-y", n}})
		opts = append(opts, Options{Argv: []string{"python3", n}})
	}
	opts = append(opts, Options{Argv: []string{"python3", "-c", strings.Repeat("print('x/y');", 300)}})
	for _, o := range opts {
		name := o.serverName()
		v, err := o.vars(o.cacheName())
		if err != nil {
			t.Fatal(err)
		}
		checkSafeName(t, filepath.Base(v.Cache))
		if want := filepath.Join(cache, "sbshim"); filepath.Dir(v.Cache) != want || !strings.HasPrefix(filepath.Base(v.Cache), name) {
			t.Errorf("--name %q, command %q: $CACHE is %s, not a direct child of %s", o.Name, o.Argv, v.Cache, want)
		}
		checkSafeName(t, name)
	}
}

// FuzzSafeName: the result is always a plain name and a direct child of
// the folder, and two inputs share a result only when they are equal.
func FuzzSafeName(f *testing.F) {
	for _, n := range hostileNames {
		f.Add(n, "GitHub")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ra, rb := checkSafeName(t, a), checkSafeName(t, b)
		if a != b && strings.EqualFold(ra, rb) {
			t.Errorf("SafeName(%q) = %q and SafeName(%q) = %q share a folder", a, ra, b, rb)
		}
	})
}

// TestDerivedNamesDoNotShareACache: servers whose derived names are the
// same but which run different things get private caches of their own;
// the same server gets the same one every time, and --name shares it on
// purpose.
func TestDerivedNamesDoNotShareACache(t *testing.T) {
	dir := t.TempDir()
	for _, pair := range [][2][]string{
		{{"npx", "-y", "@modelcontextprotocol/server-github"}, {"npx", "-y", "@evil/server-github"}},
		{{"node", dir + "/a/index.js"}, {"node", dir + "/b/index.js"}},
		{{"python3", dir + "/a/server.py"}, {"python3", dir + "/b/server.py"}},
	} {
		a, b := Options{Argv: pair[0]}, Options{Argv: pair[1]}
		if a.serverName() != b.serverName() {
			continue // nothing to share
		}
		if a.cacheName() == b.cacheName() {
			t.Errorf("%q and %q share the private cache %s", pair[0], pair[1], a.cacheName())
		}
	}
	same := []string{"npx", "-y", "@modelcontextprotocol/server-github@1.0"}
	again := []string{"npx", "-y", "@modelcontextprotocol/server-github@2.0"}
	if (Options{Argv: same}).cacheName() != (Options{Argv: again}).cacheName() {
		t.Errorf("two versions of one package get different caches")
	}
	if n := (Options{Name: "gh", Argv: same}).cacheName(); n != "gh" {
		t.Errorf("--name gh: cache %q", n)
	}
}
