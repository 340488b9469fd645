package learn

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/netproxy"
	"github.com/sbshim/sbshim/isolation/policy"
)

// Thresholds of the generaliser.
const (
	// SiblingThreshold is how many files of one folder must have been
	// needed before the folder is proposed instead of the files.
	SiblingThreshold = 3
	// SubdomainThreshold is how many subdomains of one domain must have
	// been refused before "*.domain" is proposed instead of the hosts.
	SubdomainThreshold = 3
	// MaxGrants bounds the proposal; attempts past it are refused.
	MaxGrants = 256
	// maxClimb bounds how far up learn looks for the existing folder of
	// a file that did not exist.
	maxClimb = 64
)

// The policy keys learn adds to.
const (
	KeyAllowWrite = "filesystem.allowWrite"
	KeyAllowRead  = "filesystem.allowRead"
	KeyAllowNet   = "network.allow"
)

// ruleWriteNotListed is the rule of a write no allowWrite entry covered
// (policy.Policy.CanWrite).
const ruleWriteNotListed = "filesystem.allowWrite (not listed)"

// FS is what learn asks of the host file system: metadata only, nothing is
// opened.
type FS interface {
	// Lstat returns the type of path, not following a final symlink.
	Lstat(path string) (fs.FileMode, error)
	// EvalSymlinks returns path with every symlink resolved.
	EvalSymlinks(path string) (string, error)
}

// HostFS is the real file system.
type HostFS struct{}

// Lstat implements FS.
func (HostFS) Lstat(p string) (fs.FileMode, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

// EvalSymlinks implements FS.
func (HostFS) EvalSymlinks(p string) (string, error) { return filepath.EvalSymlinks(p) }

// Config is what the generaliser judges against.
type Config struct {
	// Policy is the policy in force: the one the server ran with, or
	// would run with now.
	Policy *policy.Policy
	// AllowSecrets are absolute paths (--allow-secrets) under which the
	// user accepts hearing about secret locations.
	AllowSecrets []string
	// FS is the host file system; nil means HostFS.
	FS FS
	// CodeDirs are folders whose files the user's system or shell runs
	// by themselves (the folders of PATH, autostart and service
	// folders): never proposed, nor a folder holding one, since a file
	// planted there runs outside the sandbox. Run fills it with
	// CodeDirs.
	CodeDirs []string
}

// CodeDirs lists the folders whose files run by themselves: the absolute
// folders of path (PATH's value) and the per-user autostart, service and
// launcher folders under home.
func CodeDirs(path, home string) []string {
	var out []string
	for _, d := range filepath.SplitList(path) {
		if filepath.IsAbs(d) {
			out = append(out, filepath.Clean(d))
		}
	}
	if home != "" {
		for _, rel := range []string{".local/bin", "bin", ".config/autostart", ".config/systemd", ".local/share/systemd",
			".config/environment.d", ".local/share/applications", ".config/upstart", ".kde/Autostart", ".config/plasma-workspace",
			"Library/LaunchAgents", ".cargo/bin", "go/bin", ".npm-global/bin", ".deno/bin", ".bun/bin"} {
			out = append(out, filepath.Join(home, rel))
		}
	}
	return out
}

// Grant is one proposed addition to the policy.
type Grant struct {
	// Key is KeyAllowWrite, KeyAllowRead or KeyAllowNet.
	Key string
	// Entry is the profile entry: a path (under ~ when in the home
	// folder) or HOST:PORT.
	Entry string
	// Path is the absolute path of a KeyAllowWrite or KeyAllowRead grant.
	Path string
	// Why says how the entry was derived from the attempts.
	Why string
	// From are the attempts it lets through.
	From []*Attempt
}

// Refusal is an attempt learn does not propose to allow, and why.
type Refusal struct {
	Attempt *Attempt
	Reason  string
}

// Proposal is the result of Generalise.
type Proposal struct {
	Grants  []Grant
	Refused []Refusal
	// Allowed and AllowedTimes count the distinct attempts, and the
	// attempts, that the policy in force allows already (an earlier
	// learn, or a profile changed since).
	Allowed, AllowedTimes int
	// Flooded and Overflow are Attempts' counts, passed on.
	Flooded, Overflow int
}

// Generalise proposes the smallest grants that would have let the
// attempts through, and lists the ones it will not propose.
func Generalise(c Config, at *Attempts) *Proposal {
	if c.FS == nil {
		c.FS = HostFS{}
	}
	g := &generaliser{c: c, p: &Proposal{Flooded: at.Flooded, Overflow: at.Overflow}}
	var files, hosts []*Attempt
	for _, a := range at.List {
		switch a.Kind {
		case "file":
			if g.fileCandidate(a) {
				files = append(files, a)
			} else if g.secretRead != nil {
				g.reads = append(g.reads, g.secretRead)
				g.secretRead = nil
			}
		case "net":
			if g.netCandidate(a) {
				hosts = append(hosts, a)
			}
		case "syscall":
			g.refuse(a, "a system call the seccomp filter refuses to every sandboxed program (it would let one leave or attack the sandbox); no profile lifts it")
		default:
			g.refuse(a, "an unknown kind of attempt")
		}
	}
	g.files(files)
	g.secretReads(g.reads)
	g.hosts(hosts)
	g.finish()
	return g.p
}

type generaliser struct {
	c Config
	p *Proposal
	// reads are the reads under a secret location that --allow-secrets
	// names (fileCandidate leaves the last one in secretRead).
	reads      []*Attempt
	secretRead *Attempt
}

func (g *generaliser) refuse(a *Attempt, reason string) {
	g.p.Refused = append(g.p.Refused, Refusal{Attempt: a, Reason: reason})
}

func (g *generaliser) allowed(a *Attempt) {
	g.p.Allowed++
	g.p.AllowedTimes += a.Times
}

const protectedReason = "a protected path (git config and hooks, shell rc files, MCP and agent config, sbshim's own config): never writable inside the sandbox, so that a server cannot widen its own sandbox or plant code you run later; no profile lifts it"

// fileCandidate sorts out a file attempt: true if it is a write that an
// allowWrite entry could let through.
func (g *generaliser) fileCandidate(a *Attempt) bool {
	pol := g.c.Policy
	if strings.HasPrefix(a.Rule, "protected") {
		g.refuse(a, protectedReason)
		return false
	}
	if reason := badPath(a.Target); reason != "" {
		g.refuse(a, reason)
		return false
	}
	if a.Op == "read" || a.Op == "exec" {
		if rule, ok := pol.CanRead(a.Target); !ok {
			if a.Op == "read" && strings.HasPrefix(rule, "filesystem.denyRead") && g.secretAllowed(a.Target) {
				g.secretRead = a // judged by secretReads
				return false
			}
			g.refuse(a, g.secretReason(a.Target, rule))
			return false
		}
		switch {
		case strings.HasPrefix(a.Rule, "private /tmp"):
			g.refuse(a, "in the host's /tmp, which the sandbox does not see (it has its own): put what the server needs elsewhere")
		case a.Rule == "not mounted in the sandbox":
			g.refuse(a, "not mounted in the sandbox (one of sbshim's private folders, or a mount it does not carry over); no profile entry adds it")
		default:
			g.refuse(a, "a read the policy in force allows; nothing to add (it may have been refused for another reason: "+quote(a.Rule)+")")
		}
		return false
	}
	// The log's rule first: a write some other rule refused is not
	// proposed even if the policy changed since (learn proposes only what
	// both the log and the policy in force say no allowWrite entry
	// covered).
	switch {
	case strings.HasPrefix(a.Rule, "filesystem.denyRead"):
		g.refuse(a, g.secretReason(a.Target, a.Rule))
		return false
	case strings.HasPrefix(a.Rule, "filesystem.denyWrite"):
		g.refuse(a, "kept read-only on purpose by "+quote(a.Rule)+"; a profile cannot remove a deny entry (deny lists only accumulate)")
		return false
	case a.Rule != ruleWriteNotListed:
		g.refuse(a, "refused by "+quote(a.Rule)+", which no allowWrite entry lifts")
		return false
	}
	rule, ok := pol.CanWrite(a.Target)
	switch {
	case ok:
		g.allowed(a)
		return false
	case strings.HasPrefix(rule, "protected"):
		g.refuse(a, protectedReason)
		return false
	case strings.HasPrefix(rule, "filesystem.denyRead"):
		g.refuse(a, g.secretReason(a.Target, rule))
		return false
	case strings.HasPrefix(rule, "filesystem.denyWrite"):
		g.refuse(a, "kept read-only on purpose by "+quote(rule)+"; a profile cannot remove a deny entry (deny lists only accumulate)")
		return false
	case rule != ruleWriteNotListed:
		g.refuse(a, "refused by "+quote(rule)+", which no allowWrite entry lifts")
		return false
	}
	return true
}

// secretReason explains why a path under a denyRead entry is not
// proposed.
func (g *generaliser) secretReason(path, rule string) string {
	if g.secretAllowed(path) {
		return "under a secret location (" + quote(rule) + ") that --allow-secrets names; but only reads of it are proposed (filesystem.allowRead): it stays read-only"
	}
	return "under a secret location (" + quote(rule) + "); never proposed unless --allow-secrets names it"
}

func (g *generaliser) secretAllowed(path string) bool {
	for _, s := range g.c.AllowSecrets {
		if within(path, s) {
			return true
		}
	}
	return false
}

// unit is one path a grant would need: a file, or a folder.
type unit struct {
	path string
	dir  bool
	why  string
	from []*Attempt
}

// files turns the write attempts into path grants.
func (g *generaliser) files(as []*Attempt) {
	units := map[string]*unit{}
	var order []string
	for _, a := range as {
		u, reason := g.unitFor(a)
		if reason != "" {
			g.refuse(a, reason)
			continue
		}
		if have := units[u.path]; have != nil {
			have.from = append(have.from, a)
			continue
		}
		u.from = []*Attempt{a}
		units[u.path] = u
		order = append(order, u.path)
	}
	slices.SortFunc(order, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	// Folders first, outermost first: a safe folder covers what lies in it.
	var dirs []*unit
	for _, p := range order {
		u := units[p]
		if !u.dir {
			continue
		}
		if d := coveringDir(dirs, p); d != nil {
			d.from = append(d.from, u.from...)
			continue
		}
		if reason := g.unsafe(p); reason != "" {
			for _, a := range u.from {
				g.refuse(a, u.why+", but "+reason)
			}
			continue
		}
		dirs = append(dirs, u)
	}
	// Files: absorbed by a folder, or grouped by their folder.
	byParent := map[string][]*unit{}
	var parents []string
	for _, p := range order {
		u := units[p]
		if u.dir {
			continue
		}
		if d := coveringDir(dirs, p); d != nil {
			d.from = append(d.from, u.from...)
			continue
		}
		parent := filepath.Dir(p)
		if byParent[parent] == nil {
			parents = append(parents, parent)
		}
		byParent[parent] = append(byParent[parent], u)
	}
	for _, d := range dirs {
		g.grantPath(d.path, d.why, d.from)
	}
	g.byFolder(parents, byParent, "files", g.unsafe, g.grantPath)
}

// byFolder grants the units of each parent: their folder, once
// SiblingThreshold of them (what they are: "files", "entries") were needed
// and unsafe finds nothing against it; else each unit unsafe finds
// nothing against, and refuses the others with its reason.
func (g *generaliser) byFolder(parents []string, byParent map[string][]*unit, what string, unsafe func(string) string, grant func(p, why string, from []*Attempt)) {
	for _, parent := range parents {
		sib := byParent[parent]
		if len(sib) >= SiblingThreshold {
			reason := unsafe(parent)
			if reason == "" {
				var from []*Attempt
				for _, u := range sib {
					from = append(from, u.from...)
				}
				grant(parent, fmt.Sprintf("the folder: %d %s in it were needed (%d or more make learn propose their folder)", len(sib), what, SiblingThreshold), from)
				continue
			}
			// The folder is not safe: fall back to the units, each judged.
			for _, u := range sib {
				u.why += "; not its folder, which is " + reason
			}
		}
		for _, u := range sib {
			if reason := unsafe(u.path); reason != "" {
				for _, a := range u.from {
					g.refuse(a, reason)
				}
				continue
			}
			grant(u.path, u.why, u.from)
		}
	}
}

// coveringDir returns the folder of dirs that p lies in, or nil.
func coveringDir(dirs []*unit, p string) *unit {
	for _, d := range dirs {
		if within(p, d.path) {
			return d
		}
	}
	return nil
}

// unitFor is the path a write attempt needs: the file itself when it
// exists, the folder when the target is one, and the nearest existing
// folder above it when it did not exist (creating a name needs its folder
// writable).
func (g *generaliser) unitFor(a *Attempt) (*unit, string) {
	mode, err := g.c.FS.Lstat(a.Target)
	switch {
	case err == nil && mode.IsDir():
		return &unit{path: a.Target, dir: true, why: "the folder itself"}, ""
	case err == nil && mode.IsRegular():
		return &unit{path: a.Target, why: "the file itself"}, ""
	case err == nil && mode&fs.ModeSymlink != 0:
		return nil, "a symlink: learn does not follow it (grant the file it points to yourself if you mean to)"
	case err == nil:
		return nil, "neither a file nor a folder (" + mode.Type().String() + ")"
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "cannot be inspected: " + quote(err.Error())
	}
	p := a.Target
	for i := 0; i < maxClimb; i++ {
		p = filepath.Dir(p)
		mode, err := g.c.FS.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) && p != "/" {
			continue
		}
		if err != nil {
			return nil, "its folder " + quote(p) + " cannot be inspected: " + quote(err.Error())
		}
		if !mode.IsDir() {
			return nil, "its folder " + quote(p) + " is not a folder (" + mode.Type().String() + ")"
		}
		why := "its folder: the file did not exist, and creating it needs the folder writable"
		if p != filepath.Dir(a.Target) {
			why = "the nearest existing folder above it: the path did not exist, and creating it needs that folder writable"
		}
		return &unit{path: p, dir: true, why: why}, ""
	}
	return nil, "too deep below an existing folder"
}

// grantPath adds a KeyAllowWrite grant, unless the proposal is full.
func (g *generaliser) grantPath(p, why string, from []*Attempt) {
	if len(g.p.Grants) >= MaxGrants {
		for _, a := range from {
			g.refuse(a, fmt.Sprintf("more than %d grants: run learn again once these are settled", MaxGrants))
		}
		return
	}
	g.p.Grants = append(g.p.Grants, Grant{Key: KeyAllowWrite, Entry: displayPath(p, g.c.Policy.Vars.Home), Path: p, Why: why, From: from})
}

// unsafe says why the path p must never be proposed, or "".
func (g *generaliser) unsafe(p string) string {
	pol := g.c.Policy
	home := pol.Vars.Home
	if reason := badPath(p); reason != "" {
		return reason
	}
	switch {
	case p == "/":
		return "/, the whole host: never proposed"
	case home != "" && p == home:
		return "your home folder: never proposed"
	case home != "" && within(home, p):
		return "a folder above your home folder: never proposed"
	case strings.Count(p, "/") == 1:
		return "a folder directly under / (" + quote(p) + "): never proposed"
	}
	for _, sys := range []string{"/proc", "/sys", "/dev", "/run"} {
		if within(p, sys) {
			return "in " + sys + ", a kernel or runtime file system: never proposed"
		}
	}
	if t := pol.Vars.Tmp; t != "" && within(p, t) {
		return "in /tmp, which the sandbox has its own of: put what the server needs elsewhere"
	}
	if rule, ok := pol.CanRead(p); !ok {
		return g.secretReason(p, rule)
	}
	for _, s := range pol.Filesystem.DenyRead {
		if inside(s, p) {
			return "a folder that holds the secret location " + quote(displayPath(s, home)) + " (filesystem.denyRead): never proposed"
		}
	}
	for _, d := range g.c.CodeDirs {
		if within(p, d) || within(d, p) {
			return "in or above " + quote(displayPath(d, home)) + ", a folder whose programs run outside the sandbox (PATH, autostart, services): never proposed"
		}
	}
	own := append([]string{pol.Vars.ConfigDir}, pol.Vars.PrivateDirs...)
	for _, o := range own {
		if o != "" && within(o, p) {
			return "holds sbshim's own configuration or state (" + quote(displayPath(o, home)) + "): never proposed"
		}
	}
	if rule, ok := pol.CanWrite(p); !ok && rule != ruleWriteNotListed {
		if strings.HasPrefix(rule, "protected") {
			return protectedReason
		}
		return "refused by " + quote(rule) + ", which no allowWrite entry lifts"
	}
	real, err := g.c.FS.EvalSymlinks(p)
	if err != nil {
		return "cannot be resolved: " + quote(err.Error())
	}
	if real != p {
		return "reached through a symlink (it is " + quote(real) + "): grant the real path yourself if you mean to"
	}
	return ""
}

// badPath says why a target from the log cannot be a profile entry, or
// "": it must be an absolute, clean path of printable UTF-8 without the
// characters profile paths give a meaning to (* and $).
func badPath(p string) string {
	switch {
	case len(p) > MaxTargetLen:
		return fmt.Sprintf("a path longer than %d bytes", MaxTargetLen)
	case !strings.HasPrefix(p, "/"):
		return "not an absolute path"
	case filepath.Clean(p) != p:
		return "not a clean path (the sandbox reports resolved paths; this one was not)"
	case !utf8.ValidString(p):
		return "a path that is not UTF-8 (a profile cannot hold it)"
	case strings.ContainsAny(p, "*$"):
		return "a path with * or $, which a profile would read as a pattern or variable"
	}
	for _, r := range p {
		if !unicode.IsPrint(r) && r != ' ' {
			return "a path with control or invisible characters"
		}
	}
	return ""
}

// netCandidate sorts out a network attempt: true if it is a connection
// through the proxy that a network.allow entry could let through.
func (g *generaliser) netCandidate(a *Attempt) bool {
	pol := g.c.Policy
	switch {
	case strings.HasPrefix(a.Rule, "network.allowUnixSockets"):
		g.refuse(a, "a host service's unix socket (a Docker, D-Bus or agent socket gives away far more than a file): never proposed; add it to network.allowUnixSockets yourself if you trust the server with it")
		return false
	case strings.HasPrefix(a.Rule, "network.deny"):
		g.refuse(a, "denied on purpose by "+quote(a.Rule)+"; a profile cannot remove a deny entry")
		return false
	case strings.HasPrefix(a.Rule, "rebinding guard"):
		g.refuse(a, "the name resolved to a private, loopback or local address, which sbshim never proposes to reach (allow that address itself by hand if you trust it)")
		return false
	case a.Layer != isolation.ProxyLayer || a.Rule != netproxy.ReasonNotListed:
		g.refuse(a, "refused by "+quote(a.Rule)+" (layer "+quote(a.Layer)+"), which no network.allow entry lifts")
		return false
	case pol.Network.Mode != policy.NetProxy:
		g.refuse(a, "network.mode is "+string(pol.Network.Mode)+" now: hosts are allowed only in proxy mode; set it yourself")
		return false
	}
	host, port, reason := parseHostPort(a.Target)
	if reason != "" {
		g.refuse(a, reason)
		return false
	}
	name, addr, _ := netproxy.NormalizeHost(host)
	if addr.IsValid() {
		if kind := netproxy.SpecialAddr(addr); kind != "" {
			g.refuse(a, "a "+kind+" address: never proposed (allow it by hand if you trust it)")
			return false
		}
	}
	rs, err := netproxy.NewRules([]netproxy.KeyedList{{Key: KeyAllowNet, Entries: pol.Network.Allow}},
		[]netproxy.KeyedList{{Key: "network.deny", Entries: pol.Network.Deny}})
	if err != nil {
		g.refuse(a, "the network rules in force do not parse: "+quote(err.Error()))
		return false
	}
	rule, ok := rs.Check(name, addr, port)
	switch {
	case ok:
		g.allowed(a)
		return false
	case rule != netproxy.ReasonNotListed:
		g.refuse(a, "refused by "+quote(rule)+" in the policy in force; a profile cannot remove a deny entry")
		return false
	}
	return true
}

// parseHostPort reads a proxy target, HOST:PORT, as a rule would.
func parseHostPort(t string) (host string, port uint16, reason string) {
	if len(t) > 300 {
		return "", 0, "a destination longer than a host name can be"
	}
	h, p, err := net.SplitHostPort(t)
	if err != nil {
		return "", 0, "not a HOST:PORT destination"
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '-' {
		return "", 0, "not a valid port"
	}
	name, addr, ok := netproxy.NormalizeHost(h)
	if !ok {
		return "", 0, "not a valid host name or address"
	}
	entry := name
	if addr.IsValid() {
		entry = addr.String()
		if addr.Is6() {
			entry = "[" + entry + "]"
		}
	}
	if _, err := netproxy.ParseRule("", entry); err != nil {
		return "", 0, "not a host a profile can name: " + quote(err.Error())
	}
	return entry, uint16(n), ""
}

// hosts turns the connection attempts into host grants.
func (g *generaliser) hosts(as []*Attempt) {
	type hp struct {
		host string
		port uint16
	}
	exact := map[hp][]*Attempt{}
	var order []hp
	for _, a := range as {
		h, p, _ := parseHostPort(a.Target)
		k := hp{h, p}
		if exact[k] == nil {
			order = append(order, k)
		}
		exact[k] = append(exact[k], a)
	}
	// Subdomains of one domain, per port.
	type dp struct {
		domain string
		port   uint16
	}
	subs := map[dp][]hp{}
	for _, k := range order {
		if _, err := netip.ParseAddr(strings.Trim(k.host, "[]")); err == nil {
			continue
		}
		if i := strings.IndexByte(k.host, '.'); i > 0 {
			d := dp{k.host[i+1:], k.port}
			subs[d] = append(subs[d], k)
		}
	}
	done := map[hp]bool{}
	for _, k := range order {
		if done[k] {
			continue
		}
		if i := strings.IndexByte(k.host, '.'); i > 0 {
			d := dp{k.host[i+1:], k.port}
			if group := subs[d]; len(group) >= SubdomainThreshold && wildcardOK(d.domain) {
				var from []*Attempt
				for _, m := range group {
					done[m] = true
					from = append(from, exact[m]...)
				}
				g.grantHost("*."+d.domain, d.port, fmt.Sprintf("every subdomain of %s: %d of them were refused (%d or more make learn propose the wildcard)", d.domain, len(group), SubdomainThreshold), from)
				continue
			}
		}
		done[k] = true
		g.grantHost(k.host, k.port, "the host exactly, on that port", exact[k])
	}
}

func (g *generaliser) grantHost(host string, port uint16, why string, from []*Attempt) {
	if len(g.p.Grants) >= MaxGrants {
		for _, a := range from {
			g.refuse(a, fmt.Sprintf("more than %d grants: run learn again once these are settled", MaxGrants))
		}
		return
	}
	g.p.Grants = append(g.p.Grants, Grant{Key: KeyAllowNet, Entry: host + ":" + strconv.Itoa(int(port)), Why: why, From: from})
}

// sharedSuffixes are domains under which anyone can get a subdomain: a
// wildcard over one reaches every other customer's hosts too.
var sharedSuffixes = []string{
	"github.io", "githubusercontent.com", "gitlab.io", "herokuapp.com", "vercel.app", "netlify.app",
	"pages.dev", "workers.dev", "web.app", "firebaseapp.com", "appspot.com", "blogspot.com",
	"cloudfront.net", "amazonaws.com", "azurewebsites.net", "cloudapp.net", "ngrok.io", "ngrok-free.app",
	"ngrok.app", "glitch.me", "fly.dev", "onrender.com", "repl.co", "deno.dev", "trycloudflare.com",
	"duckdns.org", "no-ip.org", "nip.io", "sslip.io", "localhost",
}

// genericSLDs are second-level labels that registries sell names under
// (co.uk, com.au): "*.co.uk" would be a public suffix.
var genericSLDs = []string{"ac", "co", "com", "edu", "go", "gob", "gov", "gv", "ltd", "mil", "ne", "net", "nom", "or", "org", "plc", "sch"}

// wildcardOK says whether "*.domain" is narrow enough to propose: domain
// has two labels or more, is not a country's second level (co.uk) and
// not a shared-hosting suffix. Without the public suffix list this errs
// on the side of listing hosts one by one.
func wildcardOK(domain string) bool {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	if len(labels) == 2 && (slices.Contains(genericSLDs, labels[0]) || len(labels[1]) == 2 && len(labels[0]) <= 3) {
		return false
	}
	for _, s := range sharedSuffixes {
		if domain == s || strings.HasSuffix(domain, "."+s) {
			return false
		}
	}
	return true
}

// finish enforces the invariants once more on the whole proposal, so
// that no bug above can let through what must never be proposed, and
// sorts it.
func (g *generaliser) finish() {
	kept := g.p.Grants[:0]
	for _, gr := range g.p.Grants {
		if gr.Key == KeyAllowRead {
			if reason := g.readUnsafe(gr.Path); reason != "" {
				for _, a := range gr.From {
					g.refuse(a, reason)
				}
				continue
			}
		}
		if gr.Key == KeyAllowWrite {
			if reason := g.unsafe(gr.Path); reason != "" {
				for _, a := range gr.From {
					g.refuse(a, reason)
				}
				continue
			}
		}
		kept = append(kept, gr)
	}
	g.p.Grants = kept
	slices.SortStableFunc(g.p.Grants, func(a, b Grant) int {
		if a.Key != b.Key {
			return strings.Compare(a.Key, b.Key)
		}
		return strings.Compare(a.Entry, b.Entry)
	})
}

// within reports whether path is root or lies under it.
func within(path, root string) bool {
	if root == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == root || strings.HasPrefix(path, root) && len(path) > len(root) && path[len(root)] == '/'
}

// inside reports whether path lies strictly under dir.
func inside(path, dir string) bool { return path != dir && within(path, dir) }

// displayPath writes p under ~ when it is in the home folder.
func displayPath(p, home string) string {
	if home != "" && home != "/" && inside(p, home) {
		return "~" + p[len(home):]
	}
	return p
}

// quote escapes s for a message and bounds it.
func quote(s string) string { return cut(escape(s), 512) }
