package policy

import (
	"maps"
	"path"
	"slices"
	"strings"
)

// EnvAllowed reports whether the host variable name, with the value value,
// reaches the program, and rule names the deciding entry ("env.pass
// PATH", "env.deny *_TOKEN", "env.value a URL with a password"):
//
//   - a name listed exactly in Pass passes, whatever Deny or its value
//     says: the user asked for that variable by name;
//   - otherwise it must match a Pass pattern (case-sensitively, as the
//     environment is), match no Deny pattern (case-insensitively:
//     github_token is as secret as GITHUB_TOKEN), and its value must carry
//     no credential (credentialIn: a URL with a password, a well-known
//     token, a private key, …).
//
// In Pass and Deny patterns a * matches any run of bytes, / included.
func (p *Policy) EnvAllowed(name, value string) (rule string, ok bool) {
	if slices.Contains(p.Env.Pass, name) {
		return "env.pass " + name, true
	}
	passed := ""
	for _, pat := range p.Env.Pass {
		if envMatch(pat, name, false) {
			passed = pat
			break
		}
	}
	if passed == "" {
		return "env.pass (not listed)", false
	}
	if pat, denied := p.envDenied(name); denied {
		return "env.deny " + pat, false
	}
	if kind := credentialIn(value); kind != "" {
		return "env.value " + kind, false
	}
	return "env.pass " + passed, true
}

// envDenied returns the first Deny pattern that matches name, ignoring
// case.
func (p *Policy) envDenied(name string) (string, bool) {
	for _, pat := range p.Env.Deny {
		if envMatch(pat, name, true) {
			return pat, true
		}
	}
	return "", false
}

// envMatch reports whether the environment variable name matches the glob
// pattern pat (path.Match syntax, but * and ? also match /: a variable
// name has no path separators, and npm reads settings from names like
// npm_config_//registry.example/:_authToken). With fold, ASCII letters
// match whatever their case. A malformed pattern matches nothing (the
// validator refuses those when a profile is loaded).
func envMatch(pat, name string, fold bool) bool {
	if !strings.ContainsAny(pat, "?[\\\x00") && strings.IndexByte(name, 0) < 0 {
		// Only * is special (every deny and pass entry sbshim ships):
		// matched here without the copies below, as path.Match would.
		return envStarMatch(pat, name, fold)
	}
	// Neither a name nor a pattern can hold a NUL byte, so it can stand
	// for / where path.Match would treat / as a separator.
	pat = strings.ReplaceAll(pat, "/", "\x00")
	name = strings.ReplaceAll(name, "/", "\x00")
	if fold {
		pat, name = asciiUpper(pat), asciiUpper(name)
	}
	m, _ := path.Match(pat, name)
	return m
}

// envStarMatch reports whether name matches pat, in which * matches any run
// of bytes and every other byte itself (ASCII letters whatever their case
// with fold): path.Match on a pattern with no ?, [ or \ and no separator.
func envStarMatch(pat, name string, fold bool) bool {
	p, n := 0, 0
	star, mark := -1, 0 // the last * seen, and where in name it matched from
	for n < len(name) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, n
			p++
		case p < len(pat) && sameByte(pat[p], name[n], fold):
			p++
			n++
		case star >= 0:
			// The last * takes one byte more.
			mark++
			p, n = star+1, mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// sameByte compares two bytes, ASCII letters whatever their case with fold.
func sameByte(a, b byte, fold bool) bool {
	if fold {
		if 'a' <= a && a <= 'z' {
			a -= 'a' - 'A'
		}
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
	}
	return a == b
}

// asciiUpper maps a–z to A–Z and leaves every other byte as it is.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// EnvHeld is a host variable held back from the program because it looks
// secret: Rule is the deciding entry as EnvAllowed gives it ("env.deny
// *_PAT", "env.value a GitHub token"). It never holds the value.
type EnvHeld struct {
	Name string
	Rule string
}

// Environ returns the program's environment built from the host's (a list
// of NAME=VALUE, as os.Environ gives): the variables EnvAllowed lets
// through, then Env.Set applied on top. For a name given twice the last
// one counts. The result is sorted by name.
func (p *Policy) Environ(host []string) []string {
	vals, _ := p.environ(host)
	names := slices.Sorted(maps.Keys(vals))
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// EnvHeldBack returns the host variables that Environ leaves out because
// a Deny pattern matches their name or their value carries a credential,
// sorted by name: what sbshim tells the user it held back. Variables that
// Pass does not list are left out silently and are not in it, nor are the
// names that Env.Set gives a value of its own.
func (p *Policy) EnvHeldBack(host []string) []EnvHeld {
	_, held := p.environ(host)
	out := make([]EnvHeld, 0, len(held))
	for _, k := range slices.Sorted(maps.Keys(held)) {
		out = append(out, EnvHeld{Name: k, Rule: held[k]})
	}
	return out
}

// environ decides every host variable once: vals holds what the program
// gets, held the secret-looking variables left out, each with its rule.
func (p *Policy) environ(host []string) (vals, held map[string]string) {
	vals = make(map[string]string, len(host)+len(p.Env.Set))
	held = make(map[string]string)
	for _, kv := range host {
		k, v, found := strings.Cut(kv, "=")
		if !found || k == "" {
			continue
		}
		rule, ok := p.EnvAllowed(k, v)
		delete(held, k)
		if ok {
			vals[k] = v
			continue
		}
		delete(vals, k)
		if strings.HasPrefix(rule, "env.deny ") || strings.HasPrefix(rule, "env.value ") {
			held[k] = rule
		}
	}
	for k, v := range p.Env.Set {
		vals[k] = v
		delete(held, k)
	}
	return vals, held
}
