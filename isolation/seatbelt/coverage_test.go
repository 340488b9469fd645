package seatbelt

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/isolation/policy"
)

// testProxyPort is the proxy port of every test profile in proxy mode.
const testProxyPort = 8080

// fileOp is one file operation of the coverage table: the request the
// profile decides, and the Policy's answer for it.
type fileOp struct {
	name string
	req  func(path string) request
	// want returns the Policy's decision: the rule that denies it, or ok;
	// skip when the Policy has no answer for it to compare with.
	want func(p *policy.Policy, path string) (rule string, ok, skip bool)
}

func canRead(p *policy.Policy, path string) (string, bool, bool) {
	r, ok := p.CanRead(path)
	return r, ok, false
}

func canWrite(p *policy.Policy, path string) (string, bool, bool) {
	r, ok := p.CanWrite(path)
	return r, ok, false
}

// fileOps are the operations the coverage test checks, each against the
// Policy question that Linux enforces for it.
func fileOps() []fileOp {
	file := func(op string) func(string) request {
		return func(path string) request { return request{op: op, path: path} }
	}
	dir := func(op string) func(string) request {
		return func(path string) request { return request{op: op, path: path, dir: true} }
	}
	return []fileOp{
		{"read", file("file-read-data"), canRead},
		{"list folder", dir("file-read-data"), canRead},
		{"exec", file("process-exec"), canRead},
		{"map code", file("file-map-executable"), canRead},
		{"stat file", file("file-read-metadata"), canRead},
		{"stat folder", dir("file-read-metadata"), func(*policy.Policy, string) (string, bool, bool) { return "", true, false }},
		{"write", file("file-write-data"), canWrite},
		{"chmod", file("file-write-mode"), canWrite},
		{"unlink file", file("file-write-unlink"), canWrite},
		{"create", file("file-write-create"), func(p *policy.Policy, path string) (string, bool, bool) {
			rule, denied := p.CheckCreate(path, false)
			return rule, !denied, false
		}},
		{"create folder", dir("file-write-create"), func(p *policy.Policy, path string) (string, bool, bool) {
			rule, denied := p.CheckCreate(path, false)
			return rule, !denied, false
		}},
		// Moving a folder away (or removing it) is refused where placing
		// a tree there is (CheckCreate with place): it holds a protected
		// or denied path. A name that may not be created at all (.git,
		// HEAD) has no place answer of its own: skipped here, checked in
		// TestMoveAwayCreateOnly.
		{"move folder away", dir("file-write-unlink"), func(p *policy.Policy, path string) (string, bool, bool) {
			if rule, ok := p.CanWrite(path); !ok {
				return rule, false, false
			}
			if _, denied := p.CheckCreate(path, false); denied {
				return "", false, true
			}
			rule, denied := p.CheckCreate(path, true)
			return rule, !denied, false
		}},
	}
}

// checkPath checks every file operation on path, under each of its
// spellings, against the Policy.
func checkPath(t testing.TB, name string, p *policy.Policy, prof *Profile, sp *sbProfile, path string) {
	t.Helper()
	for _, s := range spellings(path) {
		for _, op := range fileOps() {
			// Seatbelt sees the real path; the Policy is asked with it,
			// as the Linux observer asks with the resolved path.
			wantRule, wantOK, skip := op.want(p, realPath(path))
			if !skip {
				checkRequest(t, name+": "+op.name+" "+s, prof, sp, op.req(s), wantRule, wantOK)
			}
		}
	}
}

// checkRequest checks the profile's decision on r, and the rule its deny
// message names, against the Policy's.
func checkRequest(t testing.TB, what string, prof *Profile, sp *sbProfile, r request, wantRule string, wantOK bool) {
	t.Helper()
	gotOK, msg := sp.decide(r)
	if gotOK != wantOK {
		t.Errorf("%s: profile allows=%v, policy allows=%v (%s); profile's message %q", what, gotOK, wantOK, wantRule, ruleOf(prof, msg))
		return
	}
	if gotOK {
		return
	}
	i, ok := RuleIndex(testTag, msg)
	if !ok || i >= len(prof.Rules) {
		t.Errorf("%s: denied with message %q, which names no rule", what, msg)
		return
	}
	if prof.Rules[i] != wantRule {
		t.Errorf("%s: denied by %q, policy names %q", what, prof.Rules[i], wantRule)
	}
}

func ruleOf(prof *Profile, msg string) string {
	if i, ok := RuleIndex(testTag, msg); ok && i < len(prof.Rules) {
		return prof.Rules[i]
	}
	return msg
}

// realPath returns p as macOS resolves it: /tmp, /var and /etc are
// symlinks to their /private twins.
func realPath(p string) string {
	if isTwin(p) {
		return "/private" + p
	}
	return p
}

// onMac returns a copy of p as policy.Load would have made it on a Mac,
// where /tmp, /var and /etc are symlinks: each path entry spelled through
// one of them is followed by its real twin (Load keeps both forms of a
// path with a symlink on the way). The hermetic test policies are loaded
// on Linux, which has no such symlinks.
func onMac(p *policy.Policy) *policy.Policy {
	c := *p
	twin := func(list []string) []string {
		var out []string
		for _, e := range list {
			out = append(out, e)
			if isTwin(e) && !slices.Contains(list, "/private"+e) {
				out = append(out, "/private"+e)
			}
		}
		return out
	}
	c.Filesystem.DenyRead = twin(p.Filesystem.DenyRead)
	c.Filesystem.AllowRead = twin(p.Filesystem.AllowRead)
	c.Filesystem.AllowWrite = twin(p.Filesystem.AllowWrite)
	c.Filesystem.DenyWrite = twin(p.Filesystem.DenyWrite)
	c.Network.AllowUnixSockets = twin(p.Network.AllowUnixSockets)
	c.Vars.PrivateDirs = twin(p.Vars.PrivateDirs)
	return &c
}

// generate writes and parses the profile of p.
func generate(t testing.TB, p *policy.Policy, o Options) (*Profile, *sbProfile) {
	t.Helper()
	if o.Tag == "" {
		o.Tag = testTag
	}
	if p.Network.Mode == policy.NetProxy && o.ProxyPort == 0 {
		o.ProxyPort = testProxyPort
	}
	prof, err := Generate(p, o)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	sp, err := compileSBPL(prof.Text)
	if err != nil {
		t.Fatalf("the profile is outside the evaluator's subset: %v\n%s", err, prof.Text)
	}
	return prof, sp
}

// instances returns paths that the protected name (with * and **)
// stands for under root, and the folders on the way to them.
func instances(root, name string) []string {
	var out []string
	for _, fill := range [][2]string{{"w", ""}, {"x", "m/n"}} {
		var comps []string
		for _, c := range strings.Split(name, "/") {
			switch {
			case c == "**":
				if fill[1] != "" {
					comps = append(comps, fill[1])
				}
			case strings.Contains(c, "*"):
				comps = append(comps, strings.ReplaceAll(c, "*", fill[0]))
			default:
				comps = append(comps, c)
			}
		}
		out = append(out, filepath.Join(append([]string{root}, comps...)...))
	}
	return out
}

// candidates returns the paths the coverage test asks about for p: every
// path the Policy names, the protected names and the create-only names
// under its roots and nested folders, the folders above them and paths
// below and beside them; then random paths made of the same names.
func candidates(p *policy.Policy, rng *rand.Rand, random int) []string {
	set := map[string]bool{}
	add := func(ps ...string) {
		for _, x := range ps {
			for d := x; ; d = filepath.Dir(d) {
				set[d] = true
				if d == "/" {
					break
				}
			}
			set[x+"/f"] = true
			set[x+"/f/g"] = true
			set[x+"x"] = true // beside, not below
		}
	}
	fs := p.Filesystem
	for _, l := range [][]string{fs.DenyRead, fs.AllowRead, fs.AllowWrite, fs.DenyWrite, p.Network.AllowUnixSockets, p.Vars.PrivateDirs} {
		add(l...)
	}
	for _, v := range []string{p.Vars.Home, p.Vars.Workspace, p.Vars.Tmp, p.Vars.Cache, p.Vars.ConfigDir} {
		if v != "" {
			add(v)
		}
	}
	// A protected name's instances: the path, below it, beside it, and
	// the folders up to the root (add's ancestors are those of the root).
	addName := func(root string, ps ...string) {
		for _, x := range ps {
			for d := x; d != root && d != "/"; d = filepath.Dir(d) {
				set[d] = true
			}
			set[x+"/f"] = true
			set[x+"x"] = true
		}
	}
	var roots []string
	for _, r := range append(p.WritableRoots(), p.WorkTreeRoots()...) {
		if !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	for _, r := range roots {
		for _, base := range []string{r, r + "/sub"} {
			add(base)
			for _, n := range append(policy.ProtectedNames(), policy.NestedGitNames()...) {
				addName(base, instances(base, n)...)
			}
			add(base+"/.git", base+"/HEAD", base+"/.git/HEAD", base+"/.git/objects/HEAD", base+"/.git/x/HEAD",
				base+"/sub/.git", base+"/.gitx", base+"/xHEAD", base+"/.git/modules/a/b/hooks")
		}
	}
	var list []string
	for x := range set {
		list = append(list, x)
	}
	slices.Sort(list)
	pool := []string{".git", "hooks", "config", "HEAD", "modules", "worktrees", "info", "attributes", "a", "b",
		".ssh", ".vscode", ".config", "git", "x y", "é", "proj", "sbshim", "srv", "Library", "objects"}
	base := slices.Clone(list)
	for range random {
		x := base[rng.IntN(len(base))]
		for range rng.IntN(4) {
			x = filepath.Join(x, pool[rng.IntN(len(pool))])
		}
		list = append(list, x)
	}
	return list
}

// builtins returns every built-in profile loaded as shim does (see
// loadBuiltin).
func builtins(t *testing.T) map[string]*policy.Policy {
	t.Helper()
	out := map[string]*policy.Policy{}
	for _, name := range configs.Names() {
		out[name] = loadBuiltin(t, name)
	}
	return out
}

// TestCoverageBuiltins checks, for every built-in profile, that the
// generated profile decides every file operation on every candidate path
// as the Policy does, and names the same rule when it denies.
func TestCoverageBuiltins(t *testing.T) {
	var seen []*policy.Policy
	for _, name := range configs.Names() {
		p := onMac(loadBuiltin(t, name))
		// Built-in profiles that differ only in what the file rules do
		// not read (network mode, environment) are checked once.
		if slices.ContainsFunc(seen, func(q *policy.Policy) bool {
			return reflect.DeepEqual(q.Filesystem, p.Filesystem) && reflect.DeepEqual(q.Vars, p.Vars)
		}) {
			continue
		}
		seen = append(seen, p)
		prof, sp := generate(t, p, Options{})
		rng := rand.New(rand.NewPCG(1, uint64(len(name))))
		for _, path := range candidates(p, rng, 300) {
			checkPath(t, name, p, prof, sp, path)
		}
	}
}

// edgePolicies are hand-made policies for the edge cases: an allowWrite
// tree under a denyRead entry, allowRead exemptions, nested writable
// roots, paths with quotes, backslashes, regex metacharacters and
// non-ASCII, paths near the length limit.
func edgePolicies() map[string]*policy.Policy {
	v := fakeVars()
	mk := func(fs policy.FilesystemPolicy, vars policy.Vars) *policy.Policy {
		return &policy.Policy{Name: "edge", Filesystem: fs, Network: policy.NetworkPolicy{Mode: policy.NetNone}, Vars: vars}
	}
	odd := v
	odd.Workspace = `/Users/u/my "proj"\ (1).[a]*b+c?{2}|^$ ü 日本`
	// The longest workspace whose every pattern still fits in a
	// Seatbelt string (the longest, a nested git name's, adds about 60
	// bytes): the profile is exact.
	long := v
	long.Workspace = "/Users/u/" + strings.Repeat("l", maxString-len("/Users/u/")-100)
	return map[string]*policy.Policy{
		"allowWrite under denyRead": mk(policy.FilesystemPolicy{
			DenyRead:   []string{"/Users/u/secret", "/Users/u/Library/Caches/sbshim"},
			AllowWrite: []string{v.Workspace, "/Users/u/secret/out", v.Cache, v.Tmp},
			DenyWrite:  []string{v.Workspace + "/keep", v.Workspace + "/a/b/c"},
		}, v),
		"allowRead exemptions": mk(policy.FilesystemPolicy{
			DenyRead:   []string{"/Users/u/.ssh", "/Users/u/.ssh/known_hosts/inner", "/Users/u/.aws", "/Users/u/.aws/config", "/Users/u/Library/Caches/sbshim"},
			AllowRead:  []string{"/Users/u/.ssh/known_hosts", "/Users/u/.ssh/a/b/config", "/Users/u/.aws/config", "/Users/u/other", "/Users/u/Library/Caches/sbshim/other"},
			AllowWrite: []string{v.Workspace, v.Cache},
		}, v),
		"nested roots": mk(policy.FilesystemPolicy{
			AllowWrite: []string{"/Users/u", v.Workspace, v.Workspace + "/sub", v.Tmp, v.Cache, "/tmp/shared", "/private/etc/x"},
			DenyWrite:  []string{v.Workspace + "/sub/locked"},
			DenyRead:   []string{"/Users/u/proj/sub/secret", "/var/db/x"},
		}, v),
		"odd characters": mk(policy.FilesystemPolicy{
			DenyRead:   []string{odd.Workspace + "/secret \"q\"", `/Users/u/back\slash`, "/Users/u/naïve/日本"},
			AllowRead:  []string{`/Users/u/back\slash/ok "x"`},
			AllowWrite: []string{odd.Workspace, v.Tmp},
			DenyWrite:  []string{odd.Workspace + "/a*b", odd.Workspace + "/(x)"},
		}, odd),
		"near the length limit": mk(policy.FilesystemPolicy{
			DenyRead:   []string{long.Workspace + "/s"},
			AllowWrite: []string{long.Workspace},
		}, long),
	}
}

// TestCoverageEdges is TestCoverageBuiltins for the hand-made policies.
func TestCoverageEdges(t *testing.T) {
	for name, p := range edgePolicies() {
		p = onMac(p)
		prof, sp := generate(t, p, Options{})
		rng := rand.New(rand.NewPCG(2, uint64(len(name))))
		for _, path := range candidates(p, rng, 300) {
			checkPath(t, name, p, prof, sp, path)
		}
	}
}

// TestMoveAwayCreateOnly checks moving away the folders whose names may
// not be created (TestCoverage skips them): a repository's .git holds
// its protected hooks and config, so it stays; a nested repository's
// .git may go (its protected names only count inside a .git, and no .git
// can be made again in a work tree).
func TestMoveAwayCreateOnly(t *testing.T) {
	p := loadBuiltin(t, "default")
	prof, sp := generate(t, p, Options{})
	ws := p.Vars.Workspace
	for _, c := range []struct {
		path, rule string
		ok         bool
	}{
		{ws + "/.git", "protected .git/hooks", false},
		{ws + "/sub/.git", "", true},
		{p.Vars.Tmp + "/.git", "protected .git/hooks", false},
		{ws + "/HEAD", "", true},
	} {
		checkRequest(t, "move away "+c.path, prof, sp, request{op: "file-write-unlink", path: c.path, dir: true}, c.rule, c.ok)
	}
}

// TestCoverageNetwork checks connects in every network mode: unix
// sockets only as allowUnixSockets lists (UnixSocketAllowed), IP only to
// the proxy's port in proxy mode, everything in host mode.
func TestCoverageNetwork(t *testing.T) {
	socks := []string{"/Users/u/.docker/run/docker.sock", "/private/tmp/allowed.sock", "/Users/u/proj/dev"}
	for _, mode := range []policy.NetworkMode{policy.NetNone, policy.NetProxy, policy.NetHost} {
		p := loadBuiltin(t, "default")
		p.Network.Mode = mode
		p.Network.AllowUnixSockets = socks[1:]
		prof, sp := generate(t, p, Options{})
		for _, s := range []string{socks[0], socks[0] + "x", socks[1], "/tmp/allowed.sock", "/private/tmp/allowed.sockx",
			socks[2] + "/x.sock", socks[2] + "x.sock", "/var/run/docker.sock", "/private/var/run/docker.sock"} {
			rule, ok := p.UnixSocketAllowed(s)
			if strings.HasPrefix(s, "/tmp/") {
				rule, ok = p.UnixSocketAllowed("/private" + s)
			}
			if ok {
				rule = ""
			}
			checkRequest(t, string(mode)+": connect "+s, prof, sp, request{op: "network-outbound", unix: s}, rule, ok)
		}
		for _, ip := range []string{"localhost:8080", "localhost:8081", "localhost:53", "*:443", "93.184.216.34:443"} {
			want, rule := false, "network.mode "+string(mode)
			switch mode {
			case policy.NetHost:
				want, rule = true, ""
			case policy.NetProxy:
				want, rule = ip == "localhost:8080", ruleProxyDirect
				if want {
					rule = ""
				}
			}
			checkRequest(t, string(mode)+": connect "+ip, prof, sp, request{op: "network-outbound", ip: ip}, rule, want)
		}
		for _, s := range []string{"/private/var/run/mDNSResponder", "/var/run/mDNSResponder"} {
			want, rule := mode == policy.NetHost, ruleSocketNotListed
			if want {
				rule = ""
			}
			checkRequest(t, string(mode)+": name resolution "+s, prof, sp, request{op: "network-outbound", unix: s}, rule, want)
		}
	}
}
