package policy

import (
	"maps"
	"slices"
)

// layer is one parsed profile and where it came from.
type layer struct {
	source  string
	profile *Profile
	// flags marks the command-line layer, whose allow lists are appended
	// to instead of replacing.
	flags bool
}

// mergeLayers folds the layers, in order, into one Profile:
//   - scalars and booleans (description, network.mode, allowPackageRegistries,
//     limits, report, audit): the last layer that sets one wins;
//   - deny lists (filesystem.denyRead, filesystem.denyWrite, network.deny,
//     env.deny): the union of every layer, in order, duplicates dropped;
//     no later layer can remove a deny;
//   - allow lists (filesystem.allowWrite, network.allow,
//     network.allowUnixSockets, env.pass): the last layer that sets one
//     replaces it, except the flags layer, whose entries are appended;
//   - env.set: merged key by key, later layers win;
//   - agent.state: the last layer that sets it replaces it (an empty list
//     turns the copies off).
func mergeLayers(layers []layer) *Profile {
	out := &Profile{
		Filesystem: &FilesystemProfile{},
		Network:    &NetworkProfile{},
		Env:        &EnvProfile{},
		Limits:     &LimitsProfile{},
		Report:     &ReportProfile{},
		Audit:      &AuditProfile{},
		Agent:      &AgentProfile{},
	}
	for _, l := range layers {
		mergeInto(out, l.profile, l.flags)
	}
	return out
}

func mergeInto(dst, src *Profile, flags bool) {
	if src == nil {
		return
	}
	override(&dst.Description, src.Description)
	if f := src.Filesystem; f != nil {
		d := dst.Filesystem
		d.DenyRead = union(d.DenyRead, f.DenyRead)
		d.DenyWrite = union(d.DenyWrite, f.DenyWrite)
		d.AllowWrite = replace(d.AllowWrite, f.AllowWrite, flags)
		d.AllowRead = replace(d.AllowRead, f.AllowRead, flags)
	}
	if n := src.Network; n != nil {
		d := dst.Network
		override(&d.Mode, n.Mode)
		d.Allow = replace(d.Allow, n.Allow, flags)
		d.Deny = union(d.Deny, n.Deny)
		override(&d.AllowPackageRegistries, n.AllowPackageRegistries)
		d.AllowUnixSockets = replace(d.AllowUnixSockets, n.AllowUnixSockets, flags)
	}
	if e := src.Env; e != nil {
		d := dst.Env
		d.Pass = replace(d.Pass, e.Pass, flags)
		d.Deny = union(d.Deny, e.Deny)
		if e.Set != nil {
			if d.Set == nil {
				d.Set = map[string]string{}
			}
			maps.Copy(d.Set, e.Set)
		}
	}
	if l := src.Limits; l != nil {
		d := dst.Limits
		override(&d.TmpSizeMB, l.TmpSizeMB)
		override(&d.Pids, l.Pids)
		override(&d.MemoryMB, l.MemoryMB)
	}
	if r := src.Report; r != nil {
		d := dst.Report
		override(&d.Stderr, r.Stderr)
		override(&d.Notify, r.Notify)
		override(&d.Annotate, r.Annotate)
	}
	if a := src.Audit; a != nil {
		override(&dst.Audit.Arguments, a.Arguments)
		override(&dst.Audit.Connections, a.Connections)
	}
	if a := src.Agent; a != nil && a.State != nil {
		dst.Agent.State = make([]AgentStateProfile, len(a.State))
		for i, s := range a.State {
			s.Credentials = slices.Clone(s.Credentials)
			s.Skip = slices.Clone(s.Skip)
			dst.Agent.State[i] = s
		}
	}
}

// override sets *dst to a copy of src's value if src is set.
func override[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}

// union appends the entries of add that list does not hold yet.
func union(list, add []string) []string {
	for _, s := range add {
		list = appendUnique(list, s)
	}
	return list
}

// replace is the merge of an allow list: add replaces list if set, or is
// appended to it for the flags layer.
func replace(list, add []string, appendMode bool) []string {
	if add == nil {
		return list
	}
	if appendMode {
		return union(list, add)
	}
	return union([]string{}, add)
}

func appendUnique(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}
