package seatbelt

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sbshim/sbshim/isolation/policy"
)

// Options are the per-session facts the profile needs beside the Policy.
type Options struct {
	// Tag is the per-session tag, e.g. "sbshim-3f9a1c0e"; every deny
	// carries it (DenyMessage). Letters, digits, '.', '_' and '-' only.
	Tag string
	// ProxyPort is, for network.mode "proxy", the loopback TCP port of
	// sbshim's proxy outside; 0 otherwise.
	ProxyPort int
	// PTY says the command runs on a pseudo-terminal: the terminal
	// devices it needs are allowed.
	PTY bool
	// TTY is, in PTY mode, the path of the terminal's device the command
	// gets (e.g. "/dev/ttys004"): only it is allowed. Empty allows every
	// /dev/ttysN, which includes the user's other terminals; the runtime
	// should set it.
	TTY string
}

// Profile is a generated SBPL profile and the table of rules its deny
// messages refer to.
type Profile struct {
	// Text is the whole profile, "(version 1)" first.
	Text string
	// Rules[i] is the policy rule of deny message DenyMessage(tag, i), in
	// the wording of a Linux Event's Rule, e.g. "filesystem.denyRead
	// ~/.ssh", "protected .git/hooks" or "network.mode none".
	Rules []string
}

// RuleDefault is Rules[0], the rule of the profile's (deny default): an
// operation the profile does not allow at all (a mach service, an IOKit
// class, a sysctl write).
const RuleDefault = "sandbox (not allowed on macOS)"

// ruleNotListed is the rule of a write outside every allowWrite tree, as
// policy.CanWrite names it.
const ruleNotListed = "filesystem.allowWrite (not listed)"

// ruleHardLink is the rule of a hard link: Seatbelt decides by the path
// a file is opened by, so a second name made for a protected or hidden
// file (which Linux refuses across its read-only binds and masks) would
// escape the rules; none may be made.
const ruleHardLink = "hard link (refused on macOS)"

// ruleSocketNotListed is the rule of a connect to a unix socket that
// network.allowUnixSockets does not list, as policy.UnixSocketAllowed
// names it.
const ruleSocketNotListed = "network.allowUnixSockets (not listed)"

// ruleProxyDirect is the rule of a direct connection in network.mode
// proxy, in the Linux observer's wording.
const ruleProxyDirect = "network.mode proxy: direct connections are refused, only the proxy's (HTTP_PROXY/ALL_PROXY)"

// DenyMessage is the text a deny rule logs: the tag and the rule's index,
// e.g. "sbshim-3f9a1c0e#12". RuleIndex is its inverse.
func DenyMessage(tag string, i int) string { return tag + "#" + strconv.Itoa(i) }

// RuleIndex returns the rule index of a deny message made by DenyMessage
// with this tag; ok is false for any other text (another tag, no index, a
// sign, leading zeros, trailing text).
func RuleIndex(tag, msg string) (int, bool) {
	rest, ok := strings.CutPrefix(msg, tag+"#")
	if !ok || tag == "" || rest == "" || len(rest) > 9 || rest[0] == '0' && len(rest) > 1 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// validTag says whether tag is what a session tag may be: 1 to 64 of
// A-Z, a-z, 0-9, '.', '_' and '-'. It goes into every deny message, and
// the log watcher matches it. (A function, not a compiled expression:
// the package is linked into every sbshim, whose start pays its init.)
func validTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 64 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validTTY says whether name is a macOS terminal device, /dev/ttysN with
// 1 to 6 digits.
func validTTY(name string) bool {
	n, ok := strings.CutPrefix(name, "/dev/ttys")
	if !ok || len(n) == 0 || len(n) > 6 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// Generate writes the Seatbelt profile of p.
//
// Seatbelt semantics relied on (as Apple's own profiles, Chromium's,
// Codex's and sandbox-runtime's do): for an operation, the LAST rule
// whose operation and filters match decides, and (deny default) matches
// everything; several filters in one rule match if any does; file-read*
// and file-write* stand for every file-read-… and file-write-…
// operation; a path filter sees the path with symlinks resolved (so
// /tmp/x is /private/tmp/x) and subpath matches a path and everything
// below it, component by component. Every deny of a more specific
// operation (file-write-unlink, file-write-create) comes after every
// allow of the same paths, so that it holds whether or not a later
// wildcard allow would override it.
//
// The profile gives the decisions of policy.CanRead, CanWrite and
// CheckCreate, rule for rule: the deny rules come in the reverse of the
// order in which the Policy tries them, so that the rule a denial logs is
// the one the Policy names. Where Seatbelt cannot express a check, the
// package doc of the README says so (no pairing of a rename's source and
// destination, no symlink targets).
func Generate(p *policy.Policy, o Options) (*Profile, error) {
	if p == nil {
		return nil, errors.New("seatbelt profile: no policy")
	}
	if !validTag(o.Tag) {
		return nil, fmt.Errorf("seatbelt profile: session tag %q: expected 1 to 64 letters, digits, '.', '_' or '-'", o.Tag)
	}
	switch p.Network.Mode {
	case policy.NetNone, policy.NetHost:
	case policy.NetProxy:
		if o.ProxyPort < 1 || o.ProxyPort > 65535 {
			return nil, fmt.Errorf("seatbelt profile: network.mode proxy needs the proxy's port, got %d", o.ProxyPort)
		}
	default:
		return nil, fmt.Errorf("seatbelt profile: network.mode %q: expected none, proxy or host", p.Network.Mode)
	}
	if o.TTY != "" && !validTTY(o.TTY) {
		return nil, fmt.Errorf("seatbelt profile: terminal %q: expected /dev/ttysN", o.TTY)
	}
	g := &gen{p: p, o: o, index: map[string]int{}}
	g.cleanLists()
	g.header()
	g.processes()
	g.reads()
	g.writes()
	g.network()
	g.terminal()
	if g.err != nil {
		return nil, fmt.Errorf("seatbelt profile: %w", g.err)
	}
	return &Profile{Text: g.b.String(), Rules: g.rules}, nil
}

// gen builds one profile. The first error is kept in err; the
// generation goes on but the profile is thrown away.
type gen struct {
	p     *policy.Policy
	o     Options
	b     strings.Builder
	rules []string
	index map[string]int
	err   error

	// folded is set during the first pass of a deny section (twoPass):
	// its deny filters then match every spelling of their paths (see
	// spelled); in the second pass, only the exact one.
	folded bool

	// The Policy's path lists, each entry absolute and clean.
	denyRead, allowRead, allowWrite, denyWrite, sockets []string
}

func (g *gen) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// cleanLists cleans every path of the Policy's lists as the Policy's own
// checks do, refusing one that is not absolute or cannot be written into
// a profile.
func (g *gen) cleanLists() {
	clean := func(key string, in []string) []string {
		out := make([]string, 0, len(in))
		for _, e := range in {
			if !filepath.IsAbs(e) {
				g.fail(fmt.Errorf("%s: %q is not an absolute path", key, e))
				continue
			}
			c := filepath.Clean(e)
			if err := checkString(c); err != nil {
				g.fail(fmt.Errorf("%s: %w", key, err))
				continue
			}
			out = append(out, c)
		}
		return out
	}
	fs := g.p.Filesystem
	g.denyRead = clean("filesystem.denyRead", fs.DenyRead)
	g.allowRead = clean("filesystem.allowRead", fs.AllowRead)
	g.allowWrite = clean("filesystem.allowWrite", fs.AllowWrite)
	g.denyWrite = clean("filesystem.denyWrite", fs.DenyWrite)
	g.sockets = clean("network.allowUnixSockets", g.p.Network.AllowUnixSockets)
	for _, v := range []struct{ name, val string }{
		{"~", g.p.Vars.Home}, {"$WORKSPACE", g.p.Vars.Workspace}, {"$TMP", g.p.Vars.Tmp},
		{"$CACHE", g.p.Vars.Cache}, {"config folder", g.p.Vars.ConfigDir},
	} {
		if v.val == "" {
			continue
		}
		if !filepath.IsAbs(v.val) {
			g.fail(fmt.Errorf("value of %s: %q is not an absolute path", v.name, v.val))
		} else if err := checkString(v.val); err != nil {
			g.fail(fmt.Errorf("value of %s: %w", v.name, err))
		}
	}
}

// ruleIndex returns the index of rule in Rules, adding it if new.
func (g *gen) ruleIndex(rule string) int {
	if i, ok := g.index[rule]; ok {
		return i
	}
	g.index[rule] = len(g.rules)
	g.rules = append(g.rules, rule)
	return len(g.rules) - 1
}

func (g *gen) line(s string) {
	g.b.WriteString(s)
	g.b.WriteByte('\n')
}

func (g *gen) comment(s string) { g.line("\n; " + s) }

// statement writes (ACTION OPS FILTER... [(with message ...)]).
func (g *gen) statement(action, ops string, filters []string, rule string) {
	g.b.WriteString("(" + action + " " + ops)
	for _, f := range filters {
		g.b.WriteString(" " + f)
	}
	if rule != "" {
		g.b.WriteString(" (with message " + quote(DenyMessage(g.o.Tag, g.ruleIndex(rule))) + ")")
	}
	g.line(")")
}

// allow writes an allow rule for what any of filters matches. With no
// filter it writes nothing: an unfiltered allow is allowAll's alone.
func (g *gen) allow(ops string, filters ...string) {
	if len(filters) == 0 {
		return
	}
	g.statement("allow", ops, filters, "")
}

// allowAll writes an unfiltered allow.
func (g *gen) allowAll(ops string) { g.statement("allow", ops, nil, "") }

// deny writes a deny rule, naming rule, for what any of filters matches.
// With no filter it writes nothing: an unfiltered deny is denyAll's alone.
func (g *gen) deny(ops, rule string, filters ...string) {
	if len(filters) == 0 {
		return
	}
	g.statement("deny", ops, filters, rule)
}

// denyAll writes an unfiltered deny naming rule.
func (g *gen) denyAll(ops, rule string) { g.statement("deny", ops, nil, rule) }

// spellings returns p and, under /tmp, /var or /etc (symlinks to their
// /private twins on macOS) or under those twins, its other spelling.
func spellings(p string) []string {
	for _, d := range []string{"/tmp", "/var", "/etc"} {
		if policy.Within(p, d) {
			return []string{p, "/private" + p}
		}
		if policy.Within(p, "/private"+d) {
			return []string{p, p[len("/private"):]}
		}
	}
	return []string{p}
}

// isTwin says whether p is spelled through one of the /tmp, /var, /etc
// symlinks, whose real path is its /private twin.
func isTwin(p string) bool {
	return policy.Within(p, "/tmp") || policy.Within(p, "/var") || policy.Within(p, "/etc")
}

// emitOrder returns list in the order its deny rules are written: the
// reverse of the Policy's (the first entry that matches names the rule,
// and the last rule written that matches wins), those spelled through
// /tmp, /var or /etc before the others. Each rule covers both spellings
// and Seatbelt sees the real one (/private/...): of two entries that are
// twins, the real-spelled one is the one a Policy asked with the real
// path names.
func emitOrder(list []string) []string {
	out := make([]string, 0, len(list))
	for _, twins := range []bool{true, false} {
		for i := len(list) - 1; i >= 0; i-- {
			if isTwin(list[i]) == twins {
				out = append(out, list[i])
			}
		}
	}
	return out
}

// paths returns the filters of kind ("literal" or "subpath") for every
// spelling of p (spellings). In a deny (deny set) during the folded pass
// it returns instead one regex matching p in every spelling that names
// the same file on a Mac (see spelled). A path longer than maxString
// fails the profile, but in a deny, where its regex keeps as much of its
// start as fits: it denies at least what the filter would have.
func (g *gen) paths(kind, p string, deny bool) []string {
	rest := "$"
	if kind == "subpath" {
		rest = "(/.*)?$"
	}
	if deny && g.folded {
		return fitFolded(p, rest)
	}
	var out []string
	for _, s := range spellings(p) {
		switch {
		case len(s) <= maxString:
			out = append(out, "("+kind+" "+quote(s)+")")
		case deny:
			out = append(out, fit(exact(s), rest))
		default:
			g.fail(fmt.Errorf("path %.60q… is %d bytes long; a Seatbelt string holds at most %d", s, len(s), maxString))
		}
	}
	return out
}

// both returns the literal and the subpath filters of p: the path itself
// and everything below it, whether it exists or not.
func (g *gen) both(p string, deny bool) []string {
	return append(g.paths("literal", p, deny), g.paths("subpath", p, deny)...)
}

// regexes returns the filters of a deny regex "^" + ROOT + rest for the
// spellings of root (every spelling in the folded pass, see spelled;
// each of spellings in the exact one). rest is a regular expression
// written with g.q.
func (g *gen) regexes(root, rest string) []string {
	if g.folded {
		return fitFolded(root, rest)
	}
	var out []string
	for _, s := range spellings(root) {
		out = append(out, fit(exact(s), rest))
	}
	return out
}

// q quotes s for a regular expression of the current pass: foldQuote in
// the folded one, regexQuote in the exact one.
func (g *gen) q(s string) string {
	if g.folded {
		return foldQuote(s)
	}
	return regexQuote(s)
}

// twoPass runs a deny section twice: first folded, then exact. Seatbelt
// may be shown a path in another case or through the data volume; the
// folded rules deny those too, and the exact ones, written after them,
// decide (and name the rule) for the path as the Policy spells it.
func (g *gen) twoPass(section func()) {
	g.folded = true
	section()
	g.folded = false
	section()
}

// fit returns the regex filter "^" + the pieces + rest. If that is longer
// than maxString, only as many pieces are kept as fit, and no rest: the
// regex then matches at least what the full one would.
func fit(pieces []string, rest string) string {
	re := "^" + strings.Join(pieces, "") + rest
	if len(re) > maxString {
		var b strings.Builder
		b.WriteString("^")
		for _, pc := range pieces {
			if b.Len()+len(pc) > maxString {
				break
			}
			b.WriteString(pc)
		}
		re = b.String()
	}
	return "(regex " + quote(re) + ")"
}

// exact returns the pieces of a regular expression that matches p as it
// is spelled: one per character ("/" stands for nothing: it is the root
// every rest starts from).
func exact(p string) []string {
	if p == "/" {
		return nil
	}
	var pieces []string
	for _, r := range p {
		pieces = append(pieces, regexQuote(string(r)))
	}
	return pieces
}

// dataVolume is where macOS's firmlinks lead: a path under a firmlinked
// folder is also reachable under it.
const dataVolume = "/System/Volumes/Data"

// firmlinked returns the folders of the system volume that macOS
// firmlinks to the data volume (/usr/share/firmlinks).
func firmlinked() []string {
	return []string{"/Users", "/Applications", "/Library", "/private", "/opt", "/usr/local", "/Volumes", "/cores", "/AppleInternal"}
}

// spelled returns a regular expression's start that matches the spelling
// of the start of the absolute path p every way that names the same file
// on a Mac (through /tmp, /var or /etc or their /private twins, through
// the data volume's firmlinks), and the rest of p, to be quoted.
func spelled(p string) (head, rest string) {
	if isTwin(p) {
		p = "/private" + p
	}
	switch {
	case p == "/":
		return "", ""
	case policy.Within(p, dataVolume):
		return "", p
	case policy.Within(p, "/private/tmp") || policy.Within(p, "/private/var") || policy.Within(p, "/private/etc"):
		return "((" + foldQuote(dataVolume) + ")?" + foldQuote("/private") + ")?", p[len("/private"):]
	}
	for _, f := range firmlinked() {
		if policy.Within(p, f) {
			return "(" + foldQuote(dataVolume) + ")?", p
		}
	}
	return "", p
}

// fitFolded returns the filter of a deny regex that matches the path p
// followed by rest in every spelling that names the same file on a Mac:
// spelled, with its letters in any case (APFS is case insensitive by
// default: .GIT/hooks is .git/hooks). When that is longer than
// maxString, the start of p is matched as it is spelled and only its end
// in any case (as much as fits); when even that does not fit, there is
// no filter: the exact pass's filters, which widen rather than drop,
// still deny p as it is spelled.
func fitFolded(p, rest string) []string {
	head, tail := spelled(p)
	var exactP, foldP []string
	n := 1 + len(head) + len(rest) // "^", head, rest, and the pieces of tail
	for _, r := range tail {
		exactP = append(exactP, regexQuote(string(r)))
		foldP = append(foldP, foldQuote(string(r)))
		n += len(foldP[len(foldP)-1])
	}
	// The first k characters exact, the others folded: the smallest k
	// that fits.
	for k := 0; k <= len(foldP); k++ {
		if n <= maxString {
			re := "^" + head + strings.Join(exactP[:k], "") + strings.Join(foldP[k:], "") + rest
			return []string{"(regex " + quote(re) + ")"}
		}
		if k < len(foldP) {
			n += len(exactP[k]) - len(foldP[k])
		}
	}
	return nil
}

// anyOf wraps several filters in require-any (one stays as it is).
func anyOf(filters []string) string {
	if len(filters) == 1 {
		return filters[0]
	}
	return "(require-any " + strings.Join(filters, " ") + ")"
}

// except returns a filter matching what any of in matches and none of
// out does.
func except(in, out []string) []string {
	if len(in) == 0 || len(out) == 0 {
		return in
	}
	return []string{"(require-all " + anyOf(in) + " (require-not " + anyOf(out) + "))"}
}

// display writes a path as the Policy's rules do (~, $WORKSPACE, ...).
func (g *gen) display(p string) string { return g.p.Vars.DisplayPath(p) }

func (g *gen) header() {
	g.line("(version 1)")
	g.ruleIndex(RuleDefault)
	g.denyAll("default", RuleDefault)
}

// processes allows what every command needs beside files and network:
// processes, signals and process information within this sandbox, reading
// sysctls, and the few system services of libSystem that ordinary command
// line tools, git, Python and Node use.
func (g *gen) processes() {
	g.comment("processes: fork and exec (exec of what may be read, see below); signals and process information only within this sandbox")
	g.allowAll("process-fork")
	g.allowAll("process-exec")
	g.allowAll("file-map-executable")
	g.allow("signal", "(target same-sandbox)")
	g.allow("process-info*", "(target same-sandbox)")
	g.comment("sysctl: reading only (CPU count, OS version, page size, ...)")
	g.allowAll("sysctl-read")
	g.comment("mach services: user and group lookups (getpwuid, which git, ssh, npm and Python call),\n" +
		"; libnotify (time zone and lookup cache changes), os_log (every Apple framework logs on its error paths)")
	g.allow("mach-lookup",
		`(global-name "com.apple.system.opendirectoryd.libinfo")`,
		`(global-name "com.apple.system.notification_center")`,
		`(global-name "com.apple.logd")`)
	if g.p.Network.Mode != policy.NetNone {
		g.comment("certificate checks of the Security framework (Go, curl, Python with truststore), for TLS through the proxy or the host network")
		g.allow("mach-lookup", `(global-name "com.apple.trustd.agent")`)
	}
	g.comment("libnotify's shared state; POSIX semaphores (Python multiprocessing)")
	g.allow("ipc-posix-shm-read-data", `(ipc-posix-name "apple.shm.notification_center")`)
	g.allowAll("ipc-posix-sem")
}

// reads allows reading everything but filesystem.denyRead, less the
// allowRead exemptions and this server's own folders inside sbshim's
// private ones, as policy.CanRead decides; exec and mapping code follow
// reading. Folders' metadata stays readable so that realpath works.
func (g *gen) reads() {
	g.comment("reading: everything but filesystem.denyRead (first entry last, so that it is the one named)")
	g.allowAll("file-read*")
	g.twoPass(func() {
		for _, e := range emitOrder(g.denyRead) {
			g.deny("file-read* process-exec file-map-executable", "filesystem.denyRead "+g.display(e),
				except(g.paths("subpath", e, true), g.readExemptions(e))...)
		}
	})
	g.comment("metadata of folders, also hidden ones, so that realpath and getcwd work; never their listing or files")
	g.allow("file-read-metadata", "(vnode-type DIRECTORY)")
}

// exemptOf returns the filters of what lies within one of the folders in
// (each strictly inside the denyRead entry e) or on the way from e to
// one: e and the folders between, which can be looked up and listed.
func (g *gen) exemptOf(e string, in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range in {
		if !policy.Inside(a, e) {
			continue
		}
		out = append(out, g.paths("subpath", a, false)...)
		for d := filepath.Dir(a); policy.Within(d, e) && !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			out = append(out, g.paths("literal", d, false)...)
		}
	}
	return out
}

// readExemptions returns the filters of what the denyRead entry e does
// not hide from reading: for one of sbshim's private folders, the
// allowWrite trees inside it (the server's own $CACHE), and for any other
// entry the filesystem.allowRead paths inside it.
func (g *gen) readExemptions(e string) []string {
	if g.private(e) {
		return g.exemptOf(e, g.allowWrite)
	}
	return g.exemptOf(e, g.allowRead)
}

// writeExemptions returns the filters of what the denyRead entry e does
// not keep from writing: the carve-out of a private folder only
// (allowRead lifts reading only).
func (g *gen) writeExemptions(e string) []string {
	if g.private(e) {
		return g.exemptOf(e, g.allowWrite)
	}
	return nil
}

func (g *gen) private(e string) bool {
	for _, d := range g.p.Vars.PrivateDirs {
		if d == e {
			return true
		}
	}
	return false
}

// writes allows writing under filesystem.allowWrite only, and denies,
// after it and in this order so that the last denies win: the names that
// may not be created (policy.CreateOnlyNames), moving away or removing a
// folder that holds a protected or denied path, writing under
// filesystem.denyRead, the protected paths, and filesystem.denyWrite —
// the reverse of the order in which policy.CanWrite and CheckCreate try
// them.
func (g *gen) writes() {
	g.comment("writing: only under filesystem.allowWrite")
	g.denyAll("file-write*", ruleNotListed)
	for _, w := range g.allowWrite {
		g.allow("file-write*", g.paths("subpath", w, false)...)
	}
	g.comment("devices every program writes to")
	g.allow("file-write-data",
		`(literal "/dev/null")`, `(literal "/dev/zero")`, `(literal "/dev/dtracehelper")`,
		`(regex "^/dev/fd/[0-9]+$")`)
	g.allow("file-ioctl",
		`(literal "/dev/null")`, `(literal "/dev/zero")`, `(literal "/dev/random")`,
		`(literal "/dev/urandom")`, `(literal "/dev/dtracehelper")`)
	g.comment("no hard links: a second name of a protected or hidden file would escape its rule (clones stay refused by default too)")
	g.denyAll("file-link", ruleHardLink)
	g.comment("no new .git (nor HEAD outside a .git) where policy.CreateOnlyNames says so")
	g.twoPass(g.createOnly)
	g.comment("no removing or moving away a folder that holds a protected or denied path")
	g.twoPass(g.ancestors)
	g.comment("no writing under filesystem.denyRead")
	g.twoPass(func() {
		for _, e := range emitOrder(g.denyRead) {
			g.deny("file-write*", "filesystem.denyRead "+g.display(e), except(g.both(e, true), g.writeExemptions(e))...)
		}
	})
	g.comment("protected paths, existing or not (policy.ProtectedNames)")
	g.twoPass(g.protected)
	g.comment("filesystem.denyWrite")
	g.twoPass(func() {
		for _, e := range emitOrder(g.denyWrite) {
			g.deny("file-write*", "filesystem.denyWrite "+g.display(e), g.both(e, true)...)
		}
	})
}

// createOnly denies creating a .git at the top of every writable root,
// and a .git anywhere or a HEAD outside a .git in a work tree (see
// policy.CreateOnlyNames). An existing .git stays writable.
func (g *gen) createOnly() {
	for _, root := range g.p.WorkTreeRoots() {
		for _, name := range policy.CreateOnlyNames() {
			g.deny("file-write-create", "protected **/"+name, g.regexes(root, "(/[^/]+)*/"+g.q(name)+"$")...)
		}
		// HEAD, but not inside a .git: a path holding "/.git/" anywhere
		// (in any case: .Git is .git) is left alone, as
		// policy.createOnlyRule does.
		head := g.regexes(root, "(/[^/]+)*/"+g.q("HEAD")+"$")
		g.deny("file-write-create", "protected **/HEAD", except(head, []string{"(regex " + quote("/"+foldQuote(".git")+"/") + ")"})...)
	}
	for _, root := range emitOrder(g.p.WritableRoots()) {
		for _, name := range policy.CreateOnlyNames() {
			// Where nothing may be written, CanWrite's rule is the one
			// named.
			if p := filepath.Join(root, name); g.writable(p) {
				g.deny("file-write-create", "protected "+name, g.paths("literal", p, true)...)
			}
		}
	}
}

// writable says whether p lies within an allowWrite tree.
func (g *gen) writable(p string) bool { return policy.UnderAny(p, g.allowWrite) }

// ancestors denies removing or moving away (file-write-unlink; a rename
// checks it on its source) a writable folder that holds a protected,
// denyWrite or denyRead path, existing or not: moving it away would move
// the path out of its rule, and moving it back a prepared one in. It
// follows policy.CheckCreate's rules for placing a tree (last tried,
// first written).
func (g *gen) ancestors() {
	// Each folder is written once, under the rule that decides it (the
	// last one written, the first the Policy tries); runs of the same
	// rule share a statement.
	type item struct{ rule, filter string }
	var items []item
	add := func(rule string, filters []string) {
		for _, f := range filters {
			items = append(items, item{rule, f})
		}
	}
	above := func(e string) []string {
		var out []string
		for d := filepath.Dir(e); d != e; e, d = d, filepath.Dir(d) {
			if g.writable(d) {
				out = append(out, g.paths("literal", d, true)...)
			}
		}
		return out
	}
	if c := g.p.Vars.ConfigDir; c != "" {
		c = filepath.Clean(c)
		add("protected "+g.display(c), above(c))
	}
	for _, e := range emitOrder(g.denyRead) {
		add("filesystem.denyRead "+g.display(e), above(e))
	}
	for _, e := range emitOrder(g.denyWrite) {
		add("filesystem.denyWrite "+g.display(e), above(e))
	}
	names := policy.ProtectedNames()
	for _, root := range emitOrder(g.p.WritableRoots()) {
		for j := len(names) - 1; j >= 0; j-- {
			add("protected "+names[j], g.nameAncestors(root, names[j]))
		}
	}
	last := map[string]int{}
	for i, it := range items {
		last[it.filter] = i
	}
	var run []string
	for i, it := range items {
		if last[it.filter] == i {
			run = append(run, it.filter)
		}
		if len(run) > 0 && (i+1 == len(items) || items[i+1].rule != it.rule) {
			g.deny("file-write-unlink", it.rule, "(require-all (vnode-type DIRECTORY) "+anyOf(run)+")")
			run = nil
		}
	}
}

// nameAncestors returns the filters of the writable folders that are
// ancestors of what the protected name matches under root (root
// included), as policy.CheckCreate's protectedBelow decides: every
// leading run of the name's components but the whole, and anything below
// a "**".
func (g *gen) nameAncestors(root, name string) []string {
	comps := strings.Split(name, "/")
	var out []string
	re, star := "", false
	lit := root
	for k := 0; k < len(comps); k++ {
		// The folder made of the first k components.
		if !star {
			if g.writable(lit) {
				out = append(out, g.paths("literal", lit, true)...)
			}
		} else if g.writableNear(lit) {
			out = append(out, g.regexes(root, re+"$")...)
		}
		c := comps[k]
		if c == "**" {
			if g.writableNear(lit) {
				out = append(out, g.regexes(root, re+"/.+$")...)
			}
			return out
		}
		if strings.Contains(c, "*") {
			star = true
		}
		re += "/" + starRegex(c, g.q)
		if !star {
			lit = filepath.Join(lit, c)
		}
	}
	return out
}

// writableNear says whether an allowWrite tree lies within p or holds it:
// whether anything below p may be writable.
func (g *gen) writableNear(p string) bool {
	for _, w := range g.allowWrite {
		if policy.Within(w, p) || policy.Within(p, w) {
			return true
		}
	}
	return false
}

// protected denies writing the protected paths, existing or not, each as
// literal and subpath (or as a regex for a name with * or **): sbshim's
// config folder, the git directory names of repositories nested in a
// work tree, and every protected name under every writable root and the
// home folder, first tried last.
func (g *gen) protected() {
	if c := g.p.Vars.ConfigDir; c != "" {
		c = filepath.Clean(c)
		g.deny("file-write*", "protected "+g.display(c), g.both(c, true)...)
	}
	nested := policy.NestedGitNames()
	for _, root := range emitOrder(g.p.WorkTreeRoots()) {
		for j := len(nested) - 1; j >= 0; j-- {
			g.deny("file-write*", "protected "+nested[j], g.nameFilters(root, nested[j])...)
		}
	}
	names := policy.ProtectedNames()
	for _, root := range emitOrder(g.p.WritableRoots()) {
		for j := len(names) - 1; j >= 0; j-- {
			g.deny("file-write*", "protected "+names[j], g.nameFilters(root, names[j])...)
		}
	}
}

// nameFilters returns the filters of what lies within a path that the
// protected name matches under root: literal and subpath of root/name for
// a plain name, a regex for one with * or **.
func (g *gen) nameFilters(root, name string) []string {
	if !strings.Contains(name, "*") {
		return g.both(filepath.Join(root, name), true)
	}
	var re strings.Builder
	for _, c := range strings.Split(name, "/") {
		if c == "**" {
			re.WriteString("(/[^/]+)*")
			continue
		}
		re.WriteString("/" + starRegex(c, g.q))
	}
	return g.regexes(root, re.String()+"(/.*)?$")
}

// network allows what network.mode allows, and pathname unix sockets only
// as network.allowUnixSockets lists (in every mode, as on Linux).
func (g *gen) network() {
	mode := g.p.Network.Mode
	g.comment("network: mode " + string(mode))
	switch mode {
	case policy.NetHost:
		g.allowAll("network*")
	case policy.NetProxy:
		g.denyAll("network*", ruleProxyDirect)
		g.allow("network-outbound", fmt.Sprintf(`(remote ip "localhost:%d")`, g.o.ProxyPort))
	default:
		g.denyAll("network*", "network.mode "+string(mode))
	}
	g.comment("unix sockets: made freely, bound only in writable trees, connected only as network.allowUnixSockets lists")
	g.allow("system-socket", "(socket-domain AF_UNIX)")
	g.deny("network-outbound", ruleSocketNotListed, `(remote unix-socket (path-regex "^/"))`)
	for _, s := range g.sockets {
		var fs []string
		for _, f := range g.paths("subpath", s, false) {
			fs = append(fs, "(remote unix-socket "+f+")")
		}
		g.allow("network-outbound", fs...)
	}
	if mode == policy.NetHost {
		g.comment("the host's name resolution (getaddrinfo asks mDNSResponder through this socket)")
		g.allow("network-outbound",
			`(remote unix-socket (path-literal "/private/var/run/mDNSResponder"))`,
			`(remote unix-socket (path-literal "/var/run/mDNSResponder"))`)
		return
	}
	for _, w := range g.allowWrite {
		var fs []string
		for _, f := range g.paths("subpath", w, false) {
			fs = append(fs, "(local unix-socket "+f+")")
		}
		g.allow("network-bind network-inbound", fs...)
	}
}

// terminal allows, in PTY mode, the pseudo-terminal the command runs on.
func (g *gen) terminal() {
	if !g.o.PTY {
		return
	}
	g.comment("the command's pseudo-terminal")
	g.allowAll("pseudo-tty")
	tty := `(regex "^/dev/ttys[0-9]+$")`
	if g.o.TTY != "" {
		tty = "(literal " + quote(g.o.TTY) + ")"
	}
	g.allow("file-read* file-write-data file-ioctl", `(literal "/dev/ptmx")`, `(literal "/dev/tty")`, tty)
}
