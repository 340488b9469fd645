package policy

import (
	"path/filepath"
	"slices"
)

// privateDirs returns sbshim's folders that hold the private state of
// every server: the parent of every $CACHE ($XDG_CACHE_HOME/sbshim, with
// the private caches and the agents' state copies in them) and
// $XDG_STATE_HOME/sbshim (the audit logs), each as the XDG base directory
// specification places it (a relative XDG_* counts as unset), and the
// parent of cache when it is named sbshim.
func privateDirs(home, cache string, env func(string) string) []string {
	var out []string
	for _, d := range []struct{ env, def string }{
		{"XDG_CACHE_HOME", ".cache"}, {"XDG_STATE_HOME", ".local/state"},
	} {
		base := env(d.env)
		if !filepath.IsAbs(base) {
			if home == "" {
				continue
			}
			base = filepath.Join(home, d.def)
		}
		out = appendUnique(out, filepath.Join(filepath.Clean(base), "sbshim"))
	}
	if parent := filepath.Dir(cache); cache != "" && filepath.Base(parent) == "sbshim" {
		out = appendUnique(out, parent)
	}
	return out
}

// hidePrivateState adds sbshim's private folders (Vars.PrivateDirs,
// computed by privateDirs when empty) to filesystem.denyRead, in both
// forms when a symlink leads to them, and keeps the full list in
// Vars.PrivateDirs. They are hidden as a whole, so that no server sees
// another's cache, audit log or agent credentials, whatever its name;
// the allowWrite trees inside them (this server's own $CACHE) stay
// visible and writable (see privateCarveOut).
func (p *Policy) hidePrivateState(c *symCache, env func(string) string) {
	dirs := p.Vars.PrivateDirs
	if len(dirs) == 0 {
		dirs = privateDirs(p.Vars.Home, p.Vars.Cache, env)
	}
	var all []string
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			continue
		}
		for _, f := range symlinkForms(filepath.Clean(d), c) {
			all = appendUnique(all, f)
			p.Filesystem.DenyRead = appendUnique(p.Filesystem.DenyRead, f)
		}
	}
	p.Vars.PrivateDirs = all
}

// privateCarveOut reports whether path, which lies within the denyRead
// entry e, is exempt from it: e is one of sbshim's private folders and
// path leads to or lies within an allowWrite tree strictly inside e (the
// server's own $CACHE). The folders on the way can be looked up (they are
// what the mount tree shows: nothing but the way to the server's own).
func (p *Policy) privateCarveOut(path, e string) bool {
	if !slices.Contains(p.Vars.PrivateDirs, e) {
		return false
	}
	for _, w := range p.Filesystem.AllowWrite {
		if Inside(w, e) && (Within(path, w) || Within(w, path)) {
			return true
		}
	}
	return false
}

// deniedRead returns the denyRead entry that hides path (clean), if any.
func (p *Policy) deniedRead(path string) (string, bool) {
	for _, e := range p.Filesystem.DenyRead {
		if !isClean(e) {
			e = filepath.Clean(e)
		}
		if Within(path, e) && !p.privateCarveOut(path, e) {
			return e, true
		}
	}
	return "", false
}

// readExempt reports whether path, which lies within the denyRead entry
// e, is exempt from it for reading by filesystem.allowRead: an allowRead
// entry lies strictly inside e and path lies within it, or leads to it
// (the folders on the way can be looked up: the mount tree shows nothing
// but the way). An entry equal to or above e lifts nothing of e, and
// sbshim's private folders are never lifted.
func (p *Policy) readExempt(path, e string) bool {
	if slices.Contains(p.Vars.PrivateDirs, e) {
		return false
	}
	for _, a := range p.Filesystem.AllowRead {
		if !isClean(a) {
			a = filepath.Clean(a)
		}
		if Inside(a, e) && (Within(path, a) || Within(a, path)) {
			return true
		}
	}
	return false
}

// hiddenRead returns the denyRead entry that keeps path (clean) from
// being read, if any: deniedRead, less the allowRead exemptions.
func (p *Policy) hiddenRead(path string) (string, bool) {
	for _, e := range p.Filesystem.DenyRead {
		if !isClean(e) {
			e = filepath.Clean(e)
		}
		if Within(path, e) && !p.privateCarveOut(path, e) && !p.readExempt(path, e) {
			return e, true
		}
	}
	return "", false
}

// ReadExemptions returns the filesystem.allowRead entries that lift
// something: those strictly inside a denyRead entry that CanRead lets
// through (not inside a private folder or another entry they do not
// lift), outermost first, nested ones dropped. The sandboxes make these,
// and only these, visible again inside the masks.
func (p *Policy) ReadExemptions() []string {
	var out []string
	for _, a := range p.Filesystem.AllowRead {
		a, abs := cleanAbs(a)
		if !abs || slices.Contains(out, a) {
			continue
		}
		inside := false
		for _, e := range p.Filesystem.DenyRead {
			if Inside(a, filepath.Clean(e)) {
				inside = true
			}
		}
		if _, ok := p.CanRead(a); inside && ok {
			out = append(out, a)
		}
	}
	return out
}
