package learn

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// secretReads turns the reads under a secret location that --allow-secrets
// names into filesystem.allowRead grants: each file itself, or their
// folder when SiblingThreshold files of it were needed and the folder
// lies strictly inside the secret location (never the location itself:
// an allowRead entry equal to a denyRead entry lifts nothing of it).
func (g *generaliser) secretReads(as []*Attempt) {
	units := map[string]*unit{}
	var order []string
	for _, a := range as {
		if dir := filepath.Dir(a.Target); badPath(a.Target) == "" {
			if real, err := g.c.FS.EvalSymlinks(dir); err == nil && real != dir {
				g.refuse(a, "reached through a symlink (its folder is "+quote(real)+"): filesystem.allowRead never follows one")
				continue
			}
		}
		mode, err := g.c.FS.Lstat(a.Target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			g.refuse(a, "under a secret location that --allow-secrets names, but it does not exist now: nothing to let it read")
			continue
		case err != nil:
			g.refuse(a, "cannot be inspected: "+quote(err.Error()))
			continue
		case mode&fs.ModeSymlink != 0:
			g.refuse(a, "a symlink: filesystem.allowRead never follows one (the sandbox would refuse to start); name the file it points to with --allow-secrets if you mean it")
			continue
		case !mode.IsDir() && !mode.IsRegular():
			g.refuse(a, "neither a file nor a folder ("+mode.Type().String()+")")
			continue
		}
		if u := units[a.Target]; u != nil {
			u.from = append(u.from, a)
			continue
		}
		why := "the file itself"
		if mode.IsDir() {
			why = "the folder itself"
		}
		units[a.Target] = &unit{path: a.Target, dir: mode.IsDir(), why: why, from: []*Attempt{a}}
		order = append(order, a.Target)
	}
	slices.Sort(order)
	byParent := map[string][]*unit{}
	var parents []string
	for _, p := range order {
		parent := filepath.Dir(p)
		if byParent[parent] == nil {
			parents = append(parents, parent)
		}
		byParent[parent] = append(byParent[parent], units[p])
	}
	g.byFolder(parents, byParent, "entries", g.readUnsafe, g.grantRead)
}

// grantRead adds a KeyAllowRead grant, unless the proposal is full.
func (g *generaliser) grantRead(p, why string, from []*Attempt) {
	if len(g.p.Grants) >= MaxGrants {
		for _, a := range from {
			g.refuse(a, fmt.Sprintf("more than %d grants: run learn again once these are settled", MaxGrants))
		}
		return
	}
	g.p.Grants = append(g.p.Grants, Grant{Key: KeyAllowRead, Entry: displayPath(p, g.c.Policy.Vars.Home), Path: p,
		Why: why + "; readable only, inside a secret location --allow-secrets names", From: from})
}

// readUnsafe says why p must never be proposed as a filesystem.allowRead
// entry, or "": it must lie within an --allow-secrets path and strictly
// inside every denyRead entry that covers it (none of them sbshim's
// private folders), hold no symlink, not be sbshim's configuration, and
// the entry must make it readable.
func (g *generaliser) readUnsafe(p string) string {
	pol := g.c.Policy
	home := pol.Vars.Home
	if reason := badPath(p); reason != "" {
		return reason
	}
	if !g.secretAllowed(p) {
		return "not within a path --allow-secrets names: never proposed"
	}
	covered := false
	for _, e := range pol.Filesystem.DenyRead {
		e = filepath.Clean(e)
		if !within(p, e) {
			continue
		}
		covered = true
		switch {
		case slices.Contains(pol.Vars.PrivateDirs, e):
			return "in sbshim's private state (" + quote(displayPath(e, home)) + ": other servers' caches, the audit logs): no profile lifts it"
		case p == e:
			return "the secret location " + quote(displayPath(e, home)) + " itself: filesystem.allowRead lifts only what lies strictly inside one; name the file or folder the server needs"
		}
	}
	if !covered {
		return "under no secret location: nothing for filesystem.allowRead to lift"
	}
	for _, o := range append([]string{pol.Vars.ConfigDir}, pol.Vars.PrivateDirs...) {
		if o != "" && (within(p, o) || within(o, p)) {
			return "in or above sbshim's own configuration or state (" + quote(displayPath(o, home)) + "): never proposed"
		}
	}
	real, err := g.c.FS.EvalSymlinks(p)
	if err != nil {
		return "cannot be resolved: " + quote(err.Error())
	}
	if real != p {
		return "reached through a symlink (it is " + quote(real) + "): filesystem.allowRead never follows one"
	}
	q := *pol
	q.Filesystem.AllowRead = append(slices.Clone(pol.Filesystem.AllowRead), p)
	if rule, ok := q.CanRead(p); !ok {
		return "still hidden by " + quote(rule) + " with it: no allowRead entry lifts that"
	}
	if strings.ContainsAny(p, "*") {
		return "holds a *, which a profile reads as a pattern: never proposed"
	}
	return ""
}
