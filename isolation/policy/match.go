package policy

import (
	"path/filepath"
	"strings"
)

// Within reports whether path equals root or lies under it, component by
// component: /a/b/c is within /a/b, /a/bc is not. Both must be clean. It
// builds no string: mount planning asks it of every pair of paths.
func Within(path, root string) bool {
	if root == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == root || len(path) > len(root) && path[len(root)] == '/' && strings.HasPrefix(path, root)
}

// UnderAny reports whether path is within one of roots.
func UnderAny(path string, roots []string) bool {
	for _, r := range roots {
		if Within(path, r) {
			return true
		}
	}
	return false
}

// cleanAbs cleans path; ok is false if it is not absolute.
func cleanAbs(path string) (string, bool) {
	if !filepath.IsAbs(path) {
		return "", false
	}
	return filepath.Clean(path), true
}

// findWithin returns the first entry of list that path is within.
func findWithin(path string, list []string) (string, bool) {
	for _, e := range list {
		// Load leaves every entry clean; Clean is for hand-made policies
		// and is the observer's hot path, so it only runs when needed.
		if !isClean(e) {
			e = filepath.Clean(e)
		}
		if Within(path, e) {
			return e, true
		}
	}
	return "", false
}

// ruleFor names a list entry as "KEY ENTRY", the entry written with
// variables where it can be.
func (p *Policy) ruleFor(key, entry string) string {
	return key + " " + p.Vars.displayPath(filepath.Clean(entry))
}

const ruleNotAbsolute = "path is not absolute"

// CanRead reports whether path may be read: everything may, except what
// lies under a filesystem.denyRead entry (but for the own folders inside
// sbshim's private ones, see privateCarveOut, and the filesystem.allowRead
// exemptions, see readExempt). When it may not, rule names the entry, e.g.
// "filesystem.denyRead ~/.ssh". A path that is not absolute is refused.
func (p *Policy) CanRead(path string) (rule string, ok bool) {
	path, abs := cleanAbs(path)
	if !abs {
		return ruleNotAbsolute, false
	}
	if e, hit := p.hiddenRead(path); hit {
		return p.ruleFor("filesystem.denyRead", e), false
	}
	return "", true
}

// CanWrite reports whether path may be written: only if it lies under a
// filesystem.allowWrite entry and not under a filesystem.denyWrite entry, a
// protected path (see ProtectedPaths) or a filesystem.denyRead entry
// (filesystem.allowRead lifts reads only: a secret it shows stays
// read-only). rule
// names the deciding rule, e.g. "filesystem.allowWrite $WORKSPACE" when
// allowed or "protected .git/hooks" when not.
func (p *Policy) CanWrite(path string) (rule string, ok bool) {
	path, abs := cleanAbs(path)
	if !abs {
		return ruleNotAbsolute, false
	}
	if e, hit := findWithin(path, p.Filesystem.DenyWrite); hit {
		return p.ruleFor("filesystem.denyWrite", e), false
	}
	if r, hit := p.protectedRule(path); hit {
		return r, false
	}
	if e, hit := p.deniedRead(path); hit {
		return p.ruleFor("filesystem.denyRead", e), false
	}
	root, hit := "", false
	for _, e := range p.Filesystem.AllowWrite {
		e = filepath.Clean(e)
		if Within(path, e) && len(e) >= len(root) {
			root, hit = e, true
		}
	}
	if !hit {
		return "filesystem.allowWrite (not listed)", false
	}
	return p.ruleFor("filesystem.allowWrite", root), true
}

// CheckCreate decides whether a new name may be created at path: a file,
// directory, device node, socket, symlink, hard link or rename destination.
// It is denied where CanWrite(path) is false, and for a create-only name
// (CreateOnlyNames: .git at the top of a writable root). place is true for an atomic
// placement of something prepared elsewhere (the destination of a rename,
// link or symlink); such a placement is also denied on a proper ancestor of
// a protected, denyWrite or denyRead path that lies inside a writable root,
// since it would swap in a whole tree (mv prepared $WORKSPACE/.git while
// .git/hooks is protected). rule names the rule that denied it.
func (p *Policy) CheckCreate(path string, place bool) (rule string, denied bool) {
	clean, abs := cleanAbs(path)
	if !abs {
		return ruleNotAbsolute, true
	}
	rule, ok := p.CanWrite(clean)
	if !ok {
		return rule, true
	}
	if rule, hit := p.createOnlyRule(clean); hit {
		return rule, true
	}
	if !place {
		return "", false
	}
	if rule, below := p.protectedBelow(clean); below {
		return rule, true
	}
	for _, e := range p.Filesystem.DenyWrite {
		if Inside(filepath.Clean(e), clean) {
			return p.ruleFor("filesystem.denyWrite", e), true
		}
	}
	for _, e := range p.Filesystem.DenyRead {
		if Inside(filepath.Clean(e), clean) {
			return p.ruleFor("filesystem.denyRead", e), true
		}
	}
	if c := filepath.Clean(p.Vars.ConfigDir); p.Vars.ConfigDir != "" && Inside(c, clean) {
		return "protected " + p.Vars.displayPath(c), true
	}
	return "", false
}

// Inside reports whether path lies strictly under dir.
func Inside(path, dir string) bool {
	return path != dir && Within(path, dir)
}

// UnixSocketAllowed reports whether the program may connect to the
// pathname unix socket at path: only if path equals or lies under a
// network.allowUnixSockets entry.
func (p *Policy) UnixSocketAllowed(path string) (rule string, ok bool) {
	path, abs := cleanAbs(path)
	if !abs {
		return ruleNotAbsolute, false
	}
	if e, hit := findWithin(path, p.Network.AllowUnixSockets); hit {
		return p.ruleFor("network.allowUnixSockets", e), true
	}
	return "network.allowUnixSockets (not listed)", false
}

// isClean says whether filepath.Clean would leave the absolute path p as
// it is: no empty, "." or ".." components and no trailing slash.
func isClean(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/' {
		return false
	}
	for i := 0; i < len(p); {
		j := strings.IndexByte(p[i+1:], '/')
		end := len(p)
		if j >= 0 {
			end = i + 1 + j
		}
		switch p[i+1 : end] {
		case "", ".", "..":
			return false
		}
		i = end
	}
	return true
}
