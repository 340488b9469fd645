package learn

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/netproxy"
	"github.com/sbshim/sbshim/isolation/policy"
)

// The generaliser's invariants, whatever a hostile log holds: no grant is
// /, the home folder, a folder above it, a path under a secret location
// or a folder holding one (unless --allow-secrets names it; and even then
// nothing under one, since a profile cannot lift it), sbshim's own config;
// every grant covers only attempts that were made and refused, and each
// of those lies within it; every host grant is a valid rule, never over
// a private address, and a wildcard only over several refused subdomains.

// pathParts are what random targets are made of: the interesting places
// and hostile spellings.
var pathParts = []string{
	"/", "/home", tHome, tWS, tHome + "/.ssh", tHome + "/.aws", tHome + "/.config", tHome + "/.config/gh",
	tHome + "/.config/sbshim", tHome + "/.local/state/sbshim", tHome + "/notes", tHome + "/notes/bin", tHome + "/.local/bin", "/etc", "/etc/ssl/private",
	"/srv", "/srv/data", "/tmp", "/proc/self", "/usr/lib", "/var/lib", tHome + "/.cache/sbshim", tHome + "/.cache/sbshim/other",
}
var nameParts = []string{"a", "b", "c", "x.txt", ".bashrc", ".git", "hooks", "config", "..", ".", "", "*", "$HOME", "id_rsa", "\n", "\x1b[2J", "\xff", " ", "~"}

var hostParts = []string{"a", "b", "c", "d", "example", "com", "co", "uk", "github", "io", "10", "0", "127", "1", "localhost", "[::1]", "evil", "*", "\n", " "}

func randomScenario(r *rand.Rand) (*Attempts, *fakeFS, []string) {
	var fsEntries []string
	n := r.IntN(12)
	for range n {
		p := pathParts[r.IntN(len(pathParts))]
		for range r.IntN(3) {
			p += "/" + nameParts[r.IntN(len(nameParts))]
		}
		if r.IntN(3) == 0 {
			p += "/"
		}
		if r.IntN(8) == 0 {
			fsEntries = append(fsEntries, p+" -> "+pathParts[r.IntN(len(pathParts))])
			continue
		}
		fsEntries = append(fsEntries, p)
	}
	at := &Attempts{}
	for range 1 + r.IntN(24) {
		var a *Attempt
		switch r.IntN(3) {
		case 0, 1:
			p := pathParts[r.IntN(len(pathParts))]
			for range r.IntN(4) {
				p += "/" + nameParts[r.IntN(len(nameParts))]
			}
			if r.IntN(4) == 0 {
				p = filepath.Clean(p)
			}
			if len(fsEntries) > 0 && r.IntN(3) == 0 {
				// Often something that exists: its file, folder or link.
				p, _, _ = strings.Cut(fsEntries[r.IntN(len(fsEntries))], " -> ")
			}
			ops := []string{"write", "create", "delete", "read", "exec", "rename"}
			rules := []string{notListed, notListed, notListed, "protected .git/hooks", "filesystem.denyRead ~/.ssh", "filesystem.denyRead ~/.config/gh", "filesystem.denyWrite x"}
			a = att("file", ops[r.IntN(len(ops))], p, rules[r.IntN(len(rules))], "t")
		default:
			var labels []string
			for range 1 + r.IntN(4) {
				labels = append(labels, hostParts[r.IntN(len(hostParts))])
			}
			port := []string{"443", "80", "0", "65536", "x"}[r.IntN(5)]
			rules := []string{netNotListed, netNotListed, "network.deny x", "rebinding guard: x", "network.allowUnixSockets (not listed)"}
			a = att("net", "connect", strings.Join(labels, ".")+":"+port, rules[r.IntN(len(rules))], "t")
		}
		at.List = append(at.List, a)
	}
	var secrets []string
	if r.IntN(4) == 0 {
		secrets = []string{tHome + "/.ssh", tHome + "/.config"}[:1+r.IntN(2)]
		if r.IntN(2) == 0 {
			secrets = append(secrets, "/", tHome, tHome+"/.cache/sbshim", tHome+"/.local/state/sbshim/x", tHome+"/.ssh/a")
		}
	}
	return at, newFakeFS(fsEntries...), secrets
}

// testCodeDirs are the folders whose programs run by themselves in the
// random runs.
var testCodeDirs = CodeDirs("/usr/bin:/usr/lib:"+tHome+"/notes/bin", tHome)

func checkInvariants(t *testing.T, pol *policy.Policy, at *Attempts, secrets []string, p *Proposal) {
	t.Helper()
	made := map[*Attempt]bool{}
	for _, a := range at.List {
		made[a] = true
	}
	counted := p.Allowed + len(p.Refused)
	for _, g := range p.Grants {
		counted += len(g.From)
		if len(g.From) == 0 {
			t.Fatalf("grant %q from no attempt", g.Entry)
		}
		for _, a := range g.From {
			if !made[a] {
				t.Fatalf("grant %q from an attempt that was not made", g.Entry)
			}
		}
		switch g.Key {
		case KeyAllowWrite:
			path := g.Path
			if path == "/" || path == tHome || within(tHome, path) {
				t.Fatalf("grant %q: /, home or above", path)
			}
			if _, ok := pol.CanRead(path); !ok {
				t.Fatalf("grant %q: under a secret location (--allow-secrets %q)", path, secrets)
			}
			for _, s := range pol.Filesystem.DenyRead {
				if within(s, path) {
					t.Fatalf("grant %q holds the secret location %q", path, s)
				}
			}
			for _, d := range testCodeDirs {
				if within(path, d) || within(d, path) {
					t.Fatalf("grant %q in or above the code folder %q", path, d)
				}
			}
			if within(pol.Vars.ConfigDir, path) {
				t.Fatalf("grant %q holds sbshim's config", path)
			}
			if g.Entry != displayPath(path, tHome) || !strings.HasPrefix(path, "/") || filepath.Clean(path) != path || strings.ContainsAny(path, "*$\n\x1b") {
				t.Fatalf("grant %q / %q: not a clean literal profile path", g.Entry, path)
			}
			for _, a := range g.From {
				if !within(a.Target, path) {
					t.Fatalf("grant %q for an attempt on %q outside it", path, a.Target)
				}
				if a.Kind != "file" || a.Rule != notListed || a.Op == "read" || a.Op == "exec" {
					t.Fatalf("grant %q for attempt %+v", path, a)
				}
			}
		case KeyAllowRead:
			path := g.Path
			if path == "/" || path == tHome || within(tHome, path) {
				t.Fatalf("read grant %q: /, home or above", path)
			}
			named := false
			for _, s := range secrets {
				named = named || within(path, s)
			}
			if !named {
				t.Fatalf("read grant %q: under no --allow-secrets path %q", path, secrets)
			}
			covered := false
			for _, s := range pol.Filesystem.DenyRead {
				covered = covered || inside(path, s)
				if within(s, path) {
					t.Fatalf("read grant %q lifts the whole secret location %q", path, s)
				}
			}
			if !covered {
				t.Fatalf("read grant %q: under no secret location", path)
			}
			for _, d := range append([]string{pol.Vars.ConfigDir}, pol.Vars.PrivateDirs...) {
				if within(path, d) || within(d, path) {
					t.Fatalf("read grant %q in or above sbshim's own %q", path, d)
				}
			}
			if g.Entry != displayPath(path, tHome) || filepath.Clean(path) != path || strings.ContainsAny(path, "*$\n\x1b") {
				t.Fatalf("read grant %q / %q: not a clean literal profile path", g.Entry, path)
			}
			for _, a := range g.From {
				if !within(a.Target, path) || a.Kind != "file" || a.Op != "read" {
					t.Fatalf("read grant %q for attempt %+v", path, a)
				}
			}
		case KeyAllowNet:
			r, err := netproxy.ParseRule("", g.Entry)
			if err != nil {
				t.Fatalf("host grant %q does not parse: %v", g.Entry, err)
			}
			if r.Addr.IsValid() && netproxy.SpecialAddr(r.Addr) != "" {
				t.Fatalf("host grant %q: a special address", g.Entry)
			}
			if r.Port == 0 {
				t.Fatalf("host grant %q without a port", g.Entry)
			}
			var hosts []string
			for _, a := range g.From {
				if a.Kind != "net" || a.Rule != netNotListed || a.Layer != isolation.ProxyLayer {
					t.Fatalf("host grant %q for attempt %+v", g.Entry, a)
				}
				h, _, err := net.SplitHostPort(a.Target)
				if err != nil {
					t.Fatalf("host grant %q for target %q", g.Entry, a.Target)
				}
				h = strings.ToLower(strings.TrimSuffix(h, "."))
				if !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
				if r.Wildcard && !strings.HasSuffix(h, "."+r.Name) || !r.Wildcard && r.Name != "" && h != r.Name {
					t.Fatalf("host grant %q for target %q", g.Entry, a.Target)
				}
			}
			if r.Wildcard && (len(hosts) < SubdomainThreshold || !strings.Contains(r.Name, ".")) {
				t.Fatalf("wildcard %q from %d host(s)", g.Entry, len(hosts))
			}
		default:
			t.Fatalf("grant of key %q", g.Key)
		}
	}
	if counted != len(at.List) {
		t.Fatalf("%d attempts accounted for, %d made", counted, len(at.List))
	}
}

func TestGeneraliseRandom(t *testing.T) {
	pol := testPolicy(t, "")
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 16))
		at, fsys, secrets := randomScenario(r)
		p := Generalise(Config{Policy: pol, AllowSecrets: secrets, FS: fsys, CodeDirs: testCodeDirs}, at)
		checkInvariants(t, pol, at, secrets, p)
	}
}

func FuzzGeneralise(f *testing.F) {
	pol := testPolicy(f, "")
	for _, s := range []string{"", "seed", "\x00\x00\x00\x00\x00\x00\x00\x01", "hostile server"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [16]byte
		copy(b[:], data)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
		at, fsys, secrets := randomScenario(r)
		// Raw targets from the fuzzer too.
		if len(data) > 16 {
			at.List = append(at.List, att("file", "create", string(data[16:]), notListed, "t"),
				att("net", "connect", string(data[16:]), netNotListed, "t"))
		}
		p := Generalise(Config{Policy: pol, AllowSecrets: secrets, FS: fsys, CodeDirs: testCodeDirs}, at)
		checkInvariants(t, pol, at, secrets, p)
	})
}
