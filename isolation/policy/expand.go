package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxGlobMatches bounds what one glob entry may expand to.
const maxGlobMatches = 4096

// varValue returns the value of a path variable ("$WORKSPACE", "~", ...).
func (v Vars) varValue(name string) (string, bool) {
	switch name {
	case "~":
		return v.Home, true
	case "$WORKSPACE":
		return v.Workspace, true
	case "$TMP":
		return v.Tmp, true
	case "$CACHE":
		return v.Cache, true
	}
	return "", false
}

// expandVars replaces a leading ~ or variable of a profile path (already
// checked by checkPath) and cleans the result.
func expandVars(p string, v Vars) string {
	head, rest, _ := strings.Cut(p, "/")
	if val, ok := v.varValue(head); ok {
		p = val + "/" + rest
	}
	return filepath.Clean(p)
}

// expandPath turns one profile path into the absolute, clean host paths it
// stands for: variables expanded, a * within a component matched against
// the filesystem now (no match gives no path), and for each path both its
// own form and its form with symlinks resolved, when they differ.
func expandPath(p string, v Vars, c *symCache) []string {
	abs := expandVars(p, v)
	var out []string
	for _, m := range expandGlob(abs) {
		for _, f := range symlinkForms(m, c) {
			out = appendUnique(out, f)
		}
	}
	return out
}

// expandGlob matches the components of p that hold a * against the
// directory entries found at load time. Only * is special; it may match a
// leading dot. Components after the last * need not exist.
func expandGlob(p string) []string {
	if !strings.Contains(p, "*") {
		return []string{p}
	}
	cur := []string{"/"}
	for _, comp := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if !strings.Contains(comp, "*") {
			for i := range cur {
				cur[i] = filepath.Join(cur[i], comp)
			}
			continue
		}
		var next []string
		for _, dir := range cur {
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue // missing or unreadable: matches nothing
			}
			for _, e := range entries {
				if starMatch(comp, e.Name()) && len(next) < maxGlobMatches {
					next = append(next, filepath.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	slices.Sort(cur)
	return cur
}

// starMatch reports whether name matches pattern, where * matches any run
// of bytes and every other byte matches itself.
func starMatch(pattern, name string) bool {
	switch {
	case pattern == "*":
		return true
	case !strings.Contains(pattern, "*"):
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(name, mid)
		if i < 0 {
			return false
		}
		name = name[i+len(mid):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}

// symlinkForms returns p and, if different, p with symlinks resolved. For a
// path that does not exist, the deepest ancestor that exists is resolved
// and the rest appended unchanged, so that a rule under a symlinked
// directory (a workspace reached through a link) still covers the real
// place. Nothing that does not exist is ever resolved.
func symlinkForms(p string, c *symCache) []string {
	out := []string{p}
	dir, rest := p, ""
	for {
		if c.exists(dir) {
			if r, ok := c.eval(dir); ok {
				if full := filepath.Join(r, rest); full != p {
					out = append(out, full)
				}
				return out
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return out
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}

// symCache remembers, for one Load, which paths exist and where their
// symlinks lead: the default profile names a hundred secret locations
// under the same few folders, most of which do not exist.
type symCache struct {
	present map[string]bool
	real    map[string]string
}

func newSymCache() *symCache {
	return &symCache{present: map[string]bool{}, real: map[string]string{}}
}

// exists reports whether p exists (as itself, not following a final
// symlink); under a missing folder nothing is looked up.
func (c *symCache) exists(p string) bool {
	if ok, seen := c.present[p]; seen {
		return ok
	}
	ok := true
	if parent := filepath.Dir(p); parent != p && !c.exists(parent) {
		ok = false
	} else if _, err := os.Lstat(p); err != nil {
		ok = false
	}
	c.present[p] = ok
	return ok
}

func (c *symCache) eval(p string) (string, bool) {
	if r, seen := c.real[p]; seen {
		return r, r != ""
	}
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		r = ""
	}
	c.real[p] = r
	return r, r != ""
}

// expandValue replaces ~ (alone or before /) at the start of an env.set
// value, and $WORKSPACE, $TMP, $CACHE (or ${WORKSPACE}, ...) anywhere in it
// when not followed by a name character. Other $ text is left as it is.
func expandValue(s string, v Vars) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = v.Home + s[1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' {
			if val, n := matchVar(s[i:], v); n > 0 {
				b.WriteString(val)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// matchVar matches a known variable at the start of s ("$TMP", "${TMP}").
func matchVar(s string, v Vars) (string, int) {
	for _, name := range pathVars() {
		val, _ := v.varValue(name)
		braced := "${" + name[1:] + "}"
		if strings.HasPrefix(s, braced) {
			return val, len(braced)
		}
		if strings.HasPrefix(s, name) && (len(s) == len(name) || !isNameByte(s[len(name)])) {
			return val, len(name)
		}
	}
	return "", 0
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// displayPath writes an absolute path the way a profile would: under the
// longest matching variable ($WORKSPACE, $TMP, $CACHE or ~), else as is.
func (v Vars) displayPath(p string) string {
	best, bestLen := p, 0
	for _, name := range []string{"~", "$WORKSPACE", "$TMP", "$CACHE"} {
		val, _ := v.varValue(name)
		if val == "" || val == "/" || len(val) <= bestLen || !Within(p, val) {
			continue
		}
		best, bestLen = name+p[len(val):], len(val)
	}
	return best
}
