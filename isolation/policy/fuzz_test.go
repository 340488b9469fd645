package policy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/isolation/netproxy"
)

// FuzzParseProfile checks that no input panics and that every accepted
// profile survives json.Marshal and ParseProfile unchanged. The seeds
// include the shipped profiles, which are large: when fuzzing, pass
// -fuzzminimizetime 2s or the engine spends a minute minimizing each.
func FuzzParseProfile(f *testing.F) {
	for _, name := range configs.Names() {
		data, err := configs.Read(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"network":{"mode":"proxy","allow":["*.a.b:1","[::1]"]}}`,
		`{"env":{"set":{"A":"$TMP/\u00e9"},"pass":["LC_*"]}}`, `{"limits":{"pids":1e3}}`,
		`{"filesystem":{"denyRead":["~","$CACHE/*/x"],"allowWrite":[]}}`, `{"a":1,"a":2}`,
		`{"report":{"stderr":null}} x`, "{\"description\":\"\xff\"}",
		`{"agent":{"state":[{"from":"~/.a","to":"$CACHE/a","credentials":["c.json"],"skip":[]}]}}`,
		`{"agent":{"state":[{"from":"/x","to":"$CACHE/a/../b"},null]}}`, `{"agent":{"state":null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("fuzz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the source: %v", err)
			}
			return
		}
		roundTrip(t, p)
	})
}

// fuzzAbs makes an absolute, clean path out of fuzz text.
func fuzzAbs(s string) string {
	return filepath.Clean("/" + strings.ReplaceAll(s, "\x00", ""))
}

// FuzzMatch checks the path-matching invariants on one allowWrite root,
// one denyRead entry and one path.
func FuzzMatch(f *testing.F) {
	f.Add("home/u/proj", "home/u/proj/secret", "home/u/proj/secret/x", false)
	f.Add("a/b", "a/bc", "a/bc/d", true)
	f.Add("", "etc", "etc/shadow", false)
	f.Add("w", "w/.git", "w/.git/hooks/x", true)
	f.Add("w", "x", "w/../x/y", false)
	f.Add("t", "t", "t", true)
	f.Fuzz(func(t *testing.T, rootIn, denyIn, pathIn string, place bool) {
		root, deny, path := fuzzAbs(rootIn), fuzzAbs(denyIn), fuzzAbs(pathIn)
		p := &Policy{
			Filesystem: FilesystemPolicy{
				DenyRead:   []string{deny},
				AllowWrite: []string{root},
				DenyWrite:  []string{filepath.Join(root, "dw")},
			},
			Network: NetworkPolicy{AllowUnixSockets: []string{root}},
			Vars:    Vars{Home: "/home/u", Workspace: root, Tmp: "/tmp", Cache: "/c", ConfigDir: "/home/u/.config/sbshim"},
		}

		// within is a partial order on clean paths.
		if !Within(path, path) {
			t.Fatalf("within(%q, itself) is false", path)
		}
		if Within(path, deny) && Within(deny, path) && path != deny {
			t.Fatalf("within is not antisymmetric for %q, %q", path, deny)
		}
		// Component-wise: a sibling that only shares a text prefix is not under.
		if deny != "/" {
			if Within(deny+"x", deny) {
				t.Fatalf("%q is within %q", deny+"x", deny)
			}
			if _, ok := p.CanRead(deny + "x"); !ok {
				t.Fatalf("CanRead(%q) false with only %q denied", deny+"x", deny)
			}
		}

		rRule, rOK := p.CanRead(path)
		wRule, wOK := p.CanWrite(path)
		if rOK == Within(path, deny) {
			t.Fatalf("CanRead(%q) = %v with deny %q", path, rOK, deny)
		}
		if wOK && (!rOK || !Within(path, root)) {
			t.Fatalf("CanWrite(%q) true but readable=%v, under root %q=%v", path, rOK, root, Within(path, root))
		}
		if !rOK && rRule == "" || wRule == "" {
			t.Fatalf("empty rule: read %q write %q", rRule, wRule)
		}

		// The same answers for other spellings of the path.
		for _, alias := range []string{path + "/", path + "/.", "/" + path, filepath.Join(path, "x", "..")} {
			if r, ok := p.CanRead(alias); ok != rOK || r != rRule {
				t.Fatalf("CanRead(%q) = %q %v, CanRead(%q) = %q %v", alias, r, ok, path, rRule, rOK)
			}
			if r, ok := p.CanWrite(alias); ok != wOK || r != wRule {
				t.Fatalf("CanWrite(%q) = %q %v, CanWrite(%q) = %q %v", alias, r, ok, path, wRule, wOK)
			}
		}

		// Creating is writing; placing is at least as strict.
		_, denied := p.CheckCreate(path, false)
		if denied == wOK {
			t.Fatalf("CheckCreate(%q, false) denied=%v but CanWrite=%v", path, denied, wOK)
		}
		if rule, placeDenied := p.CheckCreate(path, true); denied && !placeDenied || placeDenied && rule == "" {
			t.Fatalf("CheckCreate(%q, true) = %q %v, place=false denied=%v", path, rule, placeDenied, denied)
		}
		_, _ = p.CheckCreate(path, place)

		// Nothing under a protected path or denyWrite entry is writable.
		if Within(path, filepath.Join(root, ".git/hooks")) || Within(path, filepath.Join(root, "dw")) {
			if wOK {
				t.Fatalf("CanWrite(%q) true under a protected or denyWrite path", path)
			}
		}

		if _, ok := p.UnixSocketAllowed(path); ok != Within(path, root) {
			t.Fatalf("UnixSocketAllowed(%q) = %v, root %q", path, ok, root)
		}
		for _, rel := range []string{pathIn, "x/" + pathIn} {
			if rel == "" || rel[0] == '/' {
				continue
			}
			if _, ok := p.CanRead(rel); ok {
				t.Fatalf("relative %q readable", rel)
			}
			if _, d := p.CheckCreate(rel, place); !d {
				t.Fatalf("relative %q creatable", rel)
			}
		}
	})
}

// FuzzHostRuleAgreesWithValidation: every host pattern validation accepts,
// the proxy can parse, and the other way round.
func FuzzHostRuleAgreesWithValidation(f *testing.F) {
	for _, s := range []string{"example.com", "*.example.com:443", "[::1]:80", "10.0.0.1", "::1", ":1", "*.1.2.3", "A_B.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msg := checkHost(s)
		_, err := netproxy.ParseRule("network.allow", s)
		if (msg == "") != (err == nil) {
			t.Fatalf("%q: validation says %q, the proxy's parser %v", s, msg, err)
		}
	})
}
