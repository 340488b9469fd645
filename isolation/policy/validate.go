package policy

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// pathVars are the variables a path may start with, besides ~.
func pathVars() []string { return []string{"$WORKSPACE", "$TMP", "$CACHE"} }

// Validate checks the values of a layer: network mode, host patterns,
// environment names and patterns, limits and paths. source names the layer
// in errors (see ParseProfile); the error is a *ConfigError.
func (p *Profile) Validate(source string) error {
	if p == nil {
		return nil
	}
	v := validator{source: source}
	if f := p.Filesystem; f != nil {
		v.paths("filesystem.denyRead", f.DenyRead)
		v.paths("filesystem.allowRead", f.AllowRead)
		for i, p := range f.AllowRead {
			if strings.Contains(p, "*") {
				v.fail(fmt.Sprintf("filesystem.allowRead[%d]", i), "got %s, expected an exact path (no *): it lifts what it names out of a secret location, nothing more", quoteShort(p))
			}
		}
		v.paths("filesystem.allowWrite", f.AllowWrite)
		v.paths("filesystem.denyWrite", f.DenyWrite)
	}
	if n := p.Network; n != nil {
		if n.Mode != nil {
			switch *n.Mode {
			case NetNone, NetProxy, NetHost:
			default:
				v.fail("network.mode", "got %s, expected one of none, proxy, host", quoteShort(string(*n.Mode)))
			}
		}
		v.hosts("network.allow", n.Allow)
		v.hosts("network.deny", n.Deny)
		v.paths("network.allowUnixSockets", n.AllowUnixSockets)
	}
	if e := p.Env; e != nil {
		v.envPatterns("env.pass", e.Pass)
		v.envPatterns("env.deny", e.Deny)
		keys := make([]string, 0, len(e.Set))
		for k := range e.Set {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if msg := checkEnvName(k); msg != "" {
				v.fail("env.set", "name %s: %s", quoteShort(k), msg)
			} else if strings.ContainsRune(e.Set[k], 0) {
				v.fail("env.set."+k, "got a value with a NUL byte, expected text")
			}
		}
	}
	if l := p.Limits; l != nil {
		v.limit("limits.tmpSizeMB", l.TmpSizeMB)
		v.limit("limits.pids", l.Pids)
		v.limit("limits.memoryMB", l.MemoryMB)
	}
	if a := p.Agent; a != nil {
		v.agentState("agent.state", a.State)
	}
	return v.err
}

// validator keeps the first error found.
type validator struct {
	source string
	err    error
}

func (v *validator) fail(key, format string, args ...any) {
	if v.err == nil {
		v.err = &ConfigError{Source: v.source, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
}

func (v *validator) paths(key string, list []string) {
	for i, p := range list {
		if msg := checkPath(p); msg != "" {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "got %s, %s", quoteShort(p), msg)
		}
	}
}

func (v *validator) hosts(key string, list []string) {
	for i, h := range list {
		if msg := checkHost(h); msg != "" {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "got %s, %s", quoteShort(h), msg)
		}
	}
}

func (v *validator) envPatterns(key string, list []string) {
	for i, p := range list {
		if msg := checkEnvPattern(p); msg != "" {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "got %s, %s", quoteShort(p), msg)
		}
	}
}

func (v *validator) limit(key string, n *int) {
	if n != nil && (*n < 0 || *n > maxLimit) {
		v.fail(key, "got %d, expected a whole number from 0 to %d", *n, maxLimit)
	}
}

// checkPath returns "" if p is a valid profile path, else what was expected.
// A valid path is absolute or starts with ~, ~/, $WORKSPACE, $TMP or $CACHE
// (a variable is a whole first component); it may hold * within components.
func checkPath(p string) string {
	const want = "expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE"
	if p == "" {
		return want
	}
	if strings.ContainsRune(p, 0) {
		return "a path cannot hold a NUL byte"
	}
	rest := p
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		rest = p[1:]
	case p[0] == '~':
		return "~user is not supported, " + want
	case p[0] == '$':
		name, after, _ := strings.Cut(p, "/")
		if !slices.Contains(pathVars(), name) {
			return fmt.Sprintf("unknown variable %s, %s", quoteShort(name), want)
		}
		rest = "/" + after
	case p[0] == '/':
	default:
		return "a relative path, " + want
	}
	if i := strings.IndexByte(rest, '$'); i >= 0 && i+1 < len(rest) {
		if c := rest[i+1]; c == '{' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			return "variables are allowed only as the first path component, " + want
		}
	}
	return ""
}

// checkHost returns "" if h is a valid host pattern, else what was expected:
// a host name, *.domain for its subdomains, an IPv4 address or an IPv6
// address in brackets, each with an optional :port from 1 to 65535.
func checkHost(h string) string {
	const want = "expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port"
	switch {
	case h == "":
		return want
	case strings.Contains(h, "://"):
		return "a URL, " + want + " (drop the scheme)"
	case strings.ContainsAny(h, "/?#@ \t\r\n"):
		return "not a bare host, " + want + " (no path, user or spaces)"
	}
	host, port := h, ""
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "an unclosed [, " + want
		}
		ip, err := netip.ParseAddr(h[1:end])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "not an IPv6 address in brackets, " + want
		}
		host = ""
		switch rest := h[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port = rest[1:]
			if port == "" {
				return "an empty port, " + want
			}
		default:
			return "text after ], " + want
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.Count(h, ":") > 1 {
			return "an IPv6 address must be in brackets, " + want
		}
		host, port = h[:i], h[i+1:]
		if port == "" {
			return "an empty port, " + want
		}
		if host == "" {
			return "an empty host, " + want
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "a bad port, " + want + " (port 1-65535)"
		}
	}
	if host != "" {
		if msg := checkHostName(host); msg != "" {
			return msg + ", " + want
		}
	}
	return ""
}

func checkHostName(host string) string {
	if host == "*" {
		return "" // every host name (never an address)
	}
	name := host
	if strings.HasPrefix(name, "*.") {
		name = name[2:]
	}
	if len(name) > 253 {
		return "a host name longer than 253 characters"
	}
	if strings.Contains(name, "*") {
		return "a * other than a leading *."
	}
	labels := strings.Split(name, ".")
	numeric := true
	for _, l := range labels {
		if l == "" {
			return "an empty label in the host name"
		}
		if len(l) > 63 {
			return "a host name label longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a host name label that starts or ends with -"
		}
		for _, c := range []byte(l) {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				numeric = false
			default:
				return fmt.Sprintf("a bad character %q in the host name", c)
			}
		}
	}
	if numeric {
		if ip, err := netip.ParseAddr(name); err != nil || !ip.Is4() || host != name {
			return "not a valid IPv4 address"
		}
	}
	return ""
}

// checkEnvPattern returns "" if p is a valid environment variable name or
// glob pattern (path.Match syntax), else what was expected.
func checkEnvPattern(p string) string {
	const want = "expected a variable name or a glob pattern like LC_* or *_TOKEN"
	if p == "" {
		return want
	}
	for _, c := range []byte(p) {
		if c == '=' || c <= ' ' || c == 0x7f {
			return fmt.Sprintf("a name cannot hold %q, %s", c, want)
		}
	}
	if _, err := path.Match(p, ""); err != nil {
		return "a malformed pattern, " + want
	}
	return ""
}

// checkEnvName returns "" if n is a valid name for env.set.
func checkEnvName(n string) string {
	const want = "expected a variable name (no =, spaces or glob characters)"
	if n == "" {
		return want
	}
	for _, c := range []byte(n) {
		if c == '=' || c <= ' ' || c == 0x7f || c == '*' || c == '?' || c == '[' || c == '\\' {
			return want
		}
	}
	return ""
}

// agentState checks the entries of agent.state: From is a real path (~,
// absolute or $WORKSPACE), To a path under $CACHE/, neither with a * or a
// .. component; Credentials and Skip are relative names inside them; no
// two entries share a To.
func (v *validator) agentState(key string, list []AgentStateProfile) {
	seen := map[string]int{}
	for i, s := range list {
		ek := fmt.Sprintf("%s[%d]", key, i)
		if msg := checkPath(s.From); msg != "" {
			v.fail(ek+".from", "got %s, %s", quoteShort(s.From), msg)
		} else if strings.HasPrefix(s.From, "$TMP") || strings.HasPrefix(s.From, "$CACHE") {
			v.fail(ek+".from", "got %s, expected a real folder or file starting with ~/, / or $WORKSPACE", quoteShort(s.From))
		} else if msg := checkPlainPath(s.From); msg != "" {
			v.fail(ek+".from", "got %s, %s", quoteShort(s.From), msg)
		}
		const wantTo = "expected a path under $CACHE/, like \"$CACHE/agent/claude\""
		if !strings.HasPrefix(s.To, "$CACHE/") || path.Clean(s.To) == "$CACHE" {
			v.fail(ek+".to", "got %s, %s", quoteShort(s.To), wantTo)
		} else if msg := checkPath(s.To); msg != "" {
			v.fail(ek+".to", "got %s, %s", quoteShort(s.To), msg)
		} else if msg := checkPlainPath(s.To); msg != "" {
			v.fail(ek+".to", "got %s, %s", quoteShort(s.To), msg)
		} else if j, dup := seen[path.Clean(s.To)]; dup {
			v.fail(ek+".to", "got %s, the same as %s[%d].to; expected each copy in a place of its own", quoteShort(s.To), key, j)
		} else {
			seen[path.Clean(s.To)] = i
		}
		v.relNames(ek+".credentials", s.Credentials)
		v.relNames(ek+".skip", s.Skip)
	}
}

// checkPlainPath returns "" if p (already valid for checkPath) has no *
// and no .. component, else what was expected.
func checkPlainPath(p string) string {
	if strings.Contains(p, "*") {
		return "expected a path without *"
	}
	if slices.Contains(strings.Split(p, "/"), "..") {
		return "expected a path without .. components"
	}
	return ""
}

// relNames checks names relative to an agent.state folder.
func (v *validator) relNames(key string, list []string) {
	for i, n := range list {
		if msg := checkRelName(n); msg != "" {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "got %s, %s", quoteShort(n), msg)
		}
	}
}

// checkRelName returns "" if n is a path relative to a folder that stays
// inside it, like ".credentials.json" or "sub/auth.json".
func checkRelName(n string) string {
	const want = "expected a path relative to the folder, like \".credentials.json\" (no leading /, no .., no *)"
	if n == "" || strings.ContainsRune(n, 0) || n[0] == '/' || n[0] == '~' || n[0] == '$' ||
		checkPlainPath(n) != "" || path.Clean(n) == "." {
		return want
	}
	return ""
}
