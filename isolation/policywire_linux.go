package isolation

import (
	"fmt"
	"slices"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The deputy's configuration on the wire: the policy it checks, encoded
// by sbshim and passed on unread by the init (a frame after the spec),
// decoded by the deputy as it starts. A plain binary encoding, read
// without reflection, with the wire helpers of deputywire.go: paths are
// byte strings and arrive exactly, invalid UTF-8 included.
//
// Layout: policyMagic, then every field of policy.Policy in declaration
// order, nested structs inline, lists length-prefixed, Env.Set as a count
// and its entries by increasing name, Agent.State as a count and its
// entries. The encoding is canonical (a message decodes only if encoding
// the result gives back the same bytes); empty lists and maps decode as
// nil.

// policyMagic starts every encoded policy; its last byte is the version
// of the layout, to change with any change of it.
const policyMagic = "sbDP\x01"

// marshalPolicy encodes p.
func marshalPolicy(p *policy.Policy) []byte {
	w := &wire{b: make([]byte, 0, 8192)}
	w.b = append(w.b, policyMagic...)
	w.str(p.Name)
	w.strs(p.Sources)
	w.str(p.Description)
	fs := &p.Filesystem
	w.strs(fs.DenyRead)
	w.strs(fs.AllowRead)
	w.strs(fs.AllowWrite)
	w.strs(fs.DenyWrite)
	n := &p.Network
	w.str(string(n.Mode))
	w.strs(n.Allow)
	w.strs(n.Deny)
	w.flag(n.AllowPackageRegistries)
	w.strs(n.AllowUnixSockets)
	w.strs(p.Env.Pass)
	names := make([]string, 0, len(p.Env.Set))
	for k := range p.Env.Set {
		names = append(names, k)
	}
	slices.Sort(names)
	w.u32(uint32(len(names)))
	for _, k := range names {
		w.str(k)
		w.str(p.Env.Set[k])
	}
	w.strs(p.Env.Deny)
	w.int(p.Limits.TmpSizeMB)
	w.int(p.Limits.Pids)
	w.int(p.Limits.MemoryMB)
	w.flag(p.Report.Stderr)
	w.flag(p.Report.Notify)
	w.flag(p.Report.Annotate)
	w.flag(p.Audit.Arguments)
	w.flag(p.Audit.Connections)
	w.u32(uint32(len(p.Agent.State)))
	for _, s := range p.Agent.State {
		w.str(s.From)
		w.str(s.To)
		w.strs(s.Credentials)
		w.strs(s.Skip)
	}
	v := &p.Vars
	w.str(v.Home)
	w.str(v.Workspace)
	w.str(v.NoWorkspace)
	w.str(v.Tmp)
	w.str(v.Cache)
	w.str(v.ConfigDir)
	w.strs(v.PrivateDirs)
	return w.b
}

// unmarshalPolicy decodes what marshalPolicy encoded. It refuses anything
// but exactly one canonical encoding: a wrong magic or version, a count
// or length larger than what remains, a byte other than 0 or 1 for a
// bool, Env.Set's names out of order, missing or trailing bytes.
func unmarshalPolicy(b []byte) (*policy.Policy, error) {
	body, err := afterMagic(b, policyMagic, "deputy policy", "deputy")
	if err != nil {
		return nil, err
	}
	r := &unwire{b: body}
	p := &policy.Policy{}
	p.Name = r.str()
	p.Sources = r.strs()
	p.Description = r.str()
	p.Filesystem = policy.FilesystemPolicy{
		DenyRead:   r.strs(),
		AllowRead:  r.strs(),
		AllowWrite: r.strs(),
		DenyWrite:  r.strs(),
	}
	p.Network = policy.NetworkPolicy{
		Mode:                   policy.NetworkMode(r.str()),
		Allow:                  r.strs(),
		Deny:                   r.strs(),
		AllowPackageRegistries: r.flag(),
		AllowUnixSockets:       r.strs(),
	}
	p.Env.Pass = r.strs()
	if n := r.count(4 + 4); n > 0 {
		p.Env.Set = make(map[string]string, n)
		prev := ""
		for i := range n {
			k, val := r.str(), r.str()
			if r.err == nil && i > 0 && k <= prev {
				r.err = errDeputyMsg // out of order or repeated: not canonical
			}
			prev = k
			p.Env.Set[k] = val
		}
	}
	p.Env.Deny = r.strs()
	p.Limits = policy.LimitsPolicy{TmpSizeMB: r.int(), Pids: r.int(), MemoryMB: r.int()}
	p.Report = policy.ReportPolicy{Stderr: r.flag(), Notify: r.flag(), Annotate: r.flag()}
	p.Audit = policy.AuditPolicy{Arguments: r.flag(), Connections: r.flag()}
	if n := r.count(4 * 4); n > 0 {
		p.Agent.State = make([]policy.AgentState, n)
		for i := range p.Agent.State {
			p.Agent.State[i] = policy.AgentState{From: r.str(), To: r.str(), Credentials: r.strs(), Skip: r.strs()}
		}
	}
	p.Vars = policy.Vars{
		Home:        r.str(),
		Workspace:   r.str(),
		NoWorkspace: r.str(),
		Tmp:         r.str(),
		Cache:       r.str(),
		ConfigDir:   r.str(),
		PrivateDirs: r.strs(),
	}
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("malformed deputy policy: stopped at byte %d of %d", len(b)-len(r.b), len(b))
	}
	return p, nil
}
