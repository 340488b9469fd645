package isolation

import (
	"maps"
	"path"
	"slices"
	"strings"
)

// EnvAllowed reports whether the host variable name reaches the program:
// it must match a Pass pattern and no Deny pattern, except that a name
// listed exactly in Pass passes whatever Deny says. rule names the deciding
// entry, e.g. "env.deny *_TOKEN".
func (p *Policy) EnvAllowed(name string) (rule string, ok bool) {
	if slices.Contains(p.Env.Pass, name) {
		return "env.pass " + name, true
	}
	passed := ""
	for _, pat := range p.Env.Pass {
		if m, _ := path.Match(pat, name); m {
			passed = pat
			break
		}
	}
	if passed == "" {
		return "env.pass (not listed)", false
	}
	for _, pat := range p.Env.Deny {
		if m, _ := path.Match(pat, name); m {
			return "env.deny " + pat, false
		}
	}
	return "env.pass " + passed, true
}

// Environ returns the program's environment built from the host's (a list
// of NAME=VALUE, as os.Environ gives): the variables EnvAllowed lets
// through, then Env.Set applied on top. For a name given twice the last
// one counts. The result is sorted by name.
func (p *Policy) Environ(host []string) []string {
	vals := make(map[string]string, len(host)+len(p.Env.Set))
	for _, kv := range host {
		k, v, found := strings.Cut(kv, "=")
		if !found || k == "" {
			continue
		}
		if _, ok := p.EnvAllowed(k); ok {
			vals[k] = v
		} else {
			delete(vals, k)
		}
	}
	for k, v := range p.Env.Set {
		vals[k] = v
	}
	names := slices.Sorted(maps.Keys(vals))
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, k+"="+vals[k])
	}
	return out
}
