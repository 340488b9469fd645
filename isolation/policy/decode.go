package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The keys each object of a profile accepts, in the order of the docs.
// Functions, not variables, so that no caller can change them.
func keysTop() []string {
	return []string{"description", "filesystem", "network", "env", "limits", "report", "audit", "agent"}
}
func keysFilesystem() []string { return []string{"denyRead", "allowRead", "allowWrite", "denyWrite"} }
func keysNetwork() []string {
	return []string{"mode", "allow", "deny", "allowPackageRegistries", "allowUnixSockets"}
}
func keysEnv() []string    { return []string{"pass", "set", "deny"} }
func keysLimits() []string { return []string{"tmpSizeMB", "pids", "memoryMB"} }
func keysReport() []string { return []string{"stderr", "notify", "annotate"} }
func keysAudit() []string  { return []string{"arguments", "connections"} }
func keysAgent() []string  { return []string{"state"} }
func keysAgentState() []string {
	return []string{"from", "to", "credentials", "skip"}
}

// maxLimit is the largest value a limits key accepts.
const maxLimit = math.MaxInt32

// decoder turns a parsed JSON tree into a Profile, checking types. Values
// are checked afterwards by Profile.Validate.
type decoder struct {
	source string
}

func (d decoder) fail(key, format string, args ...any) error {
	return &ConfigError{Source: d.source, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (d decoder) wrongType(key string, n *jnode, expected string) error {
	return d.fail(key, "got %s, expected %s", n.describe(), expected)
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// object walks the members of an object node; null gives ok=false. Unknown
// keys are an error listing the valid ones and the closest match.
func (d decoder) object(key string, n *jnode, valid []string, member func(k string, v *jnode) error) (ok bool, err error) {
	switch n.kind {
	case jNull:
		return false, nil
	case jObject:
	default:
		if key == "" {
			return false, d.fail("", "got %s, expected a JSON object", n.describe())
		}
		return false, d.wrongType(key, n, "an object")
	}
	if n.dup != "" {
		return false, d.fail(join(key, n.dup), "appears twice in one object")
	}
	for _, m := range n.obj {
		known := false
		for _, v := range valid {
			if v == m.key {
				known = true
				break
			}
		}
		if !known {
			return false, d.unknownKey(key, m.key, valid)
		}
		if err := member(m.key, m.val); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (d decoder) unknownKey(prefix, key string, valid []string) error {
	msg := "unknown key"
	if s := closest(key, valid); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", join(prefix, s))
	}
	where := "here"
	if prefix != "" {
		where = "in " + strconv.Quote(prefix)
	}
	msg += fmt.Sprintf(" (valid keys %s: %s)", where, strings.Join(valid, ", "))
	return d.fail(join(prefix, key), "%s", msg)
}

func (d decoder) str(key string, n *jnode) (*string, error) {
	switch n.kind {
	case jNull:
		return nil, nil
	case jString:
		s := n.s
		return &s, nil
	}
	return nil, d.wrongType(key, n, "a string")
}

func (d decoder) boolean(key string, n *jnode) (*bool, error) {
	switch n.kind {
	case jNull:
		return nil, nil
	case jBool:
		b := n.b
		return &b, nil
	}
	return nil, d.wrongType(key, n, "true or false")
}

func (d decoder) limit(key string, n *jnode) (*int, error) {
	expected := fmt.Sprintf("a whole number from 0 to %d", maxLimit)
	switch n.kind {
	case jNull:
		return nil, nil
	case jNumber:
		v, err := strconv.ParseInt(n.s, 10, 64)
		if err != nil || v < 0 || v > maxLimit {
			return nil, d.wrongType(key, n, expected)
		}
		i := int(v)
		return &i, nil
	}
	return nil, d.wrongType(key, n, expected)
}

func (d decoder) list(key string, n *jnode) ([]string, error) {
	switch n.kind {
	case jNull:
		return nil, nil
	case jArray:
	default:
		return nil, d.wrongType(key, n, "a list of strings")
	}
	out := make([]string, 0, len(n.arr))
	for i, e := range n.arr {
		if e.kind != jString {
			return nil, d.wrongType(fmt.Sprintf("%s[%d]", key, i), e, "a string")
		}
		out = append(out, e.s)
	}
	return out, nil
}

func (d decoder) stringMap(key string, n *jnode) (map[string]string, error) {
	switch n.kind {
	case jNull:
		return nil, nil
	case jObject:
	default:
		return nil, d.wrongType(key, n, "an object of strings")
	}
	out := make(map[string]string, len(n.obj))
	for _, m := range n.obj {
		if m.val.kind != jString {
			return nil, d.wrongType(join(key, m.key), m.val, "a string")
		}
		out[m.key] = m.val.s
	}
	return out, nil
}

func (d decoder) profile(n *jnode) (*Profile, error) {
	p := &Profile{}
	ok, err := d.object("", n, keysTop(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "description":
			p.Description, err = d.str(k, v)
		case "filesystem":
			p.Filesystem, err = d.filesystem(k, v)
		case "network":
			p.Network, err = d.network(k, v)
		case "env":
			p.Env, err = d.env(k, v)
		case "limits":
			p.Limits, err = d.limits(k, v)
		case "report":
			p.Report, err = d.report(k, v)
		case "audit":
			p.Audit, err = d.audit(k, v)
		case "agent":
			p.Agent, err = d.agent(k, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, d.fail("", "got null, expected a JSON object")
	}
	return p, nil
}

func (d decoder) filesystem(key string, n *jnode) (*FilesystemProfile, error) {
	f := &FilesystemProfile{}
	ok, err := d.object(key, n, keysFilesystem(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "denyRead":
			f.DenyRead, err = d.list(join(key, k), v)
		case "allowRead":
			f.AllowRead, err = d.list(join(key, k), v)
		case "allowWrite":
			f.AllowWrite, err = d.list(join(key, k), v)
		case "denyWrite":
			f.DenyWrite, err = d.list(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) network(key string, n *jnode) (*NetworkProfile, error) {
	f := &NetworkProfile{}
	ok, err := d.object(key, n, keysNetwork(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "mode":
			var s *string
			s, err = d.str(join(key, k), v)
			if s != nil {
				m := NetworkMode(*s)
				f.Mode = &m
			}
		case "allow":
			f.Allow, err = d.list(join(key, k), v)
		case "deny":
			f.Deny, err = d.list(join(key, k), v)
		case "allowPackageRegistries":
			f.AllowPackageRegistries, err = d.boolean(join(key, k), v)
		case "allowUnixSockets":
			f.AllowUnixSockets, err = d.list(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) env(key string, n *jnode) (*EnvProfile, error) {
	f := &EnvProfile{}
	ok, err := d.object(key, n, keysEnv(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "pass":
			f.Pass, err = d.list(join(key, k), v)
		case "set":
			f.Set, err = d.stringMap(join(key, k), v)
		case "deny":
			f.Deny, err = d.list(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) limits(key string, n *jnode) (*LimitsProfile, error) {
	f := &LimitsProfile{}
	ok, err := d.object(key, n, keysLimits(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "tmpSizeMB":
			f.TmpSizeMB, err = d.limit(join(key, k), v)
		case "pids":
			f.Pids, err = d.limit(join(key, k), v)
		case "memoryMB":
			f.MemoryMB, err = d.limit(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) report(key string, n *jnode) (*ReportProfile, error) {
	f := &ReportProfile{}
	ok, err := d.object(key, n, keysReport(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "stderr":
			f.Stderr, err = d.boolean(join(key, k), v)
		case "notify":
			f.Notify, err = d.boolean(join(key, k), v)
		case "annotate":
			f.Annotate, err = d.boolean(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) audit(key string, n *jnode) (*AuditProfile, error) {
	f := &AuditProfile{}
	ok, err := d.object(key, n, keysAudit(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "arguments":
			f.Arguments, err = d.boolean(join(key, k), v)
		case "connections":
			f.Connections, err = d.boolean(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) agent(key string, n *jnode) (*AgentProfile, error) {
	f := &AgentProfile{}
	ok, err := d.object(key, n, keysAgent(), func(k string, v *jnode) error {
		var err error
		switch k {
		case "state":
			f.State, err = d.agentState(join(key, k), v)
		}
		return err
	})
	if !ok || err != nil {
		return nil, err
	}
	return f, nil
}

func (d decoder) agentState(key string, n *jnode) ([]AgentStateProfile, error) {
	switch n.kind {
	case jNull:
		return nil, nil
	case jArray:
	default:
		return nil, d.wrongType(key, n, `a list of objects like {"from": "~/.claude", "to": "$CACHE/agent/claude"}`)
	}
	out := make([]AgentStateProfile, 0, len(n.arr))
	for i, e := range n.arr {
		ek := fmt.Sprintf("%s[%d]", key, i)
		var s AgentStateProfile
		var from, to *string
		ok, err := d.object(ek, e, keysAgentState(), func(k string, v *jnode) error {
			var err error
			switch k {
			case "from":
				from, err = d.str(join(ek, k), v)
			case "to":
				to, err = d.str(join(ek, k), v)
			case "credentials":
				s.Credentials, err = d.list(join(ek, k), v)
			case "skip":
				s.Skip, err = d.list(join(ek, k), v)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.wrongType(ek, e, "an object")
		}
		if from == nil {
			return nil, d.fail(join(ek, "from"), "missing, expected the real folder or file to copy, like \"~/.claude\"")
		}
		if to == nil {
			return nil, d.fail(join(ek, "to"), "missing, expected the private copy's path under $CACHE/, like \"$CACHE/agent/claude\"")
		}
		s.From, s.To = *from, *to
		out = append(out, s)
	}
	return out, nil
}

// closest returns the valid key nearest to key, or "" if none is near.
func closest(key string, valid []string) string {
	best, bestDist := "", -1
	lk := strings.ToLower(key)
	for _, v := range valid {
		d := editDistance(lk, strings.ToLower(v))
		if bestDist < 0 || d < bestDist {
			best, bestDist = v, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(key)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
