package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbshim/sbshim/configs"
)

// LoadOptions says which layers make up a policy and how to expand it.
type LoadOptions struct {
	// Profile is the --profile value: a name (a user profile
	// UserConfigDir/profiles/NAME.json, else a built-in one) or, if it
	// holds a / or ends in .json, a file path. Empty means none.
	Profile string
	// UserConfigDir is sbshim's config folder, holding config.json and
	// profiles/. Empty means the OS user config folder + "/sbshim".
	UserConfigDir string
	// Flags is the layer made of command-line flags; nil means none.
	Flags *Profile
	// Server is the layer of a built-in server profile picked for the
	// command (see ServerLayer); nil means none.
	Server *ServerLayer
	// Vars are the values of ~, $WORKSPACE, $TMP and $CACHE. Empty fields
	// get defaults: the user's home, the working directory, /tmp, the OS
	// user cache folder + "/sbshim/default", and UserConfigDir.
	Vars Vars
}

// Load builds the effective policy. Layers, in order: the built-in
// "default" profile; the server profile (o.Server), whose allow lists add
// to the default's; UserConfigDir/config.json if it exists; the --profile
// layer; the flags. They merge so:
//   - scalars and booleans: the last layer that sets one wins;
//   - deny lists (filesystem.denyRead, filesystem.denyWrite, network.deny,
//     env.deny) accumulate: union in order, duplicates dropped; a later
//     layer can never remove a deny;
//   - allow lists (filesystem.allowWrite, filesystem.allowRead, network.allow,
//     network.allowUnixSockets, env.pass) are replaced by the last layer
//     that sets them, except the flags layer, whose entries are appended;
//   - env.set maps merge key by key;
//   - agent.state is replaced by the last layer that sets it.
//
// Then every path is
// expanded (variables, * globs matched against the filesystem now, symlinks
// of existing paths resolved with both forms kept), made absolute and
// clean, and host patterns lower-cased. A Vars.Workspace that names no
// project (see workspaceRefusal) gives a policy without a workspace:
// Vars.Workspace is "", Vars.NoWorkspace says why, and the entries that
// name $WORKSPACE drop out.
func Load(o LoadOptions) (*Policy, error) {
	userDir, err := userConfigDir(o.UserConfigDir)
	if err != nil {
		return nil, err
	}
	vars, err := fillVars(o.Vars, userDir)
	if err != nil {
		return nil, err
	}
	layers, name, _, err := o.profileLayers(userDir, vars.Home)
	if err != nil {
		return nil, err
	}

	if o.Flags != nil {
		if err := o.Flags.Validate("flags"); err != nil {
			return nil, err
		}
		layers = append(layers, layer{source: "flags", profile: o.Flags, flags: true})
	}

	merged := mergeLayers(layers)
	pol := resolve(merged, vars)
	if why := pol.workspaceRefusal(); why != "" {
		// No workspace: resolved again without one, so that what the
		// policy says is what the sandbox enforces.
		asked := vars.Workspace
		vars.Workspace = ""
		pol = resolve(merged, vars)
		pol.Vars.NoWorkspace = asked + " " + why
	}
	pol.Name = name
	for _, l := range layers {
		pol.Sources = append(pol.Sources, l.source)
	}
	return pol, nil
}

func userConfigDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding the user config folder: %w", err)
		}
		dir = filepath.Join(d, "sbshim")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("user config folder %q: %w", dir, err)
	}
	return abs, nil
}

// fillVars gives every empty variable its default and checks that all are
// absolute.
func fillVars(v Vars, userDir string) (Vars, error) {
	var err error
	if v.Home == "" {
		if v.Home, err = os.UserHomeDir(); err != nil {
			return v, fmt.Errorf("finding the home folder for ~: %w", err)
		}
	}
	if v.Workspace == "" {
		if v.Workspace, err = os.Getwd(); err != nil {
			return v, fmt.Errorf("finding the working directory for $WORKSPACE: %w", err)
		}
	}
	if v.Tmp == "" {
		v.Tmp = "/tmp"
	}
	if v.Cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return v, fmt.Errorf("finding the user cache folder for $CACHE: %w", err)
		}
		v.Cache = filepath.Join(d, "sbshim", "default")
	}
	if v.ConfigDir == "" {
		v.ConfigDir = userDir
	}
	for _, f := range []struct {
		name string
		val  *string
	}{{"~", &v.Home}, {"$WORKSPACE", &v.Workspace}, {"$TMP", &v.Tmp}, {"$CACHE", &v.Cache}, {"config folder", &v.ConfigDir}} {
		if !filepath.IsAbs(*f.val) {
			return v, fmt.Errorf("value of %s: %q is not an absolute path", f.name, *f.val)
		}
		*f.val = filepath.Clean(*f.val)
	}
	return v, nil
}

func builtinLayer(name string) (layer, error) {
	data, err := configs.Read(name)
	if err != nil {
		return layer{}, err
	}
	source := "built-in:" + name
	p, err := ParseProfile(source, data)
	if err != nil {
		return layer{}, err
	}
	return layer{source: source, profile: p}, nil
}

// fileLayer reads a profile file; a missing file gives an error that wraps
// fs.ErrNotExist.
func fileLayer(path string) (layer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return layer{}, fmt.Errorf("reading profile: %w", err)
	}
	p, err := ParseProfile(path, data)
	if err != nil {
		return layer{}, err
	}
	return layer{source: path, profile: p}, nil
}

// profileLayer finds the --profile layer and the name it adds to the chain.
func profileLayer(value, userDir, home string) (layer, string, error) {
	if strings.Contains(value, "/") || strings.HasSuffix(value, ".json") {
		path := value
		if path == "~" || strings.HasPrefix(path, "~/") {
			path = home + path[1:]
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return layer{}, "", fmt.Errorf("profile %q: %w", value, err)
		}
		l, err := fileLayer(abs)
		if err != nil {
			return layer{}, "", fmt.Errorf("profile %q: %w", value, err)
		}
		return l, strings.TrimSuffix(filepath.Base(abs), ".json"), nil
	}
	l, err := fileLayer(filepath.Join(userDir, "profiles", value+".json"))
	if err == nil {
		return l, value, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return layer{}, "", err
	}
	l, err = builtinLayer(value)
	if err == nil {
		return l, value, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return layer{}, "", err
	}
	return layer{}, "", fmt.Errorf("unknown profile %q; available: %s", value, strings.Join(availableProfiles(userDir), ", "))
}

// availableProfiles lists the built-in and user profile names, sorted.
func availableProfiles(userDir string) []string {
	names := configs.Names()
	entries, _ := os.ReadDir(filepath.Join(userDir, "profiles"))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// resolve turns the merged layers into a Policy with everything expanded.
func resolve(m *Profile, v Vars) *Policy {
	p := &Policy{Vars: v}
	c := newSymCache()
	if m.Description != nil {
		p.Description = *m.Description
	}
	p.Filesystem = FilesystemPolicy{
		DenyRead:   expandPaths(m.Filesystem.DenyRead, v, c),
		AllowRead:  expandExact(m.Filesystem.AllowRead, v),
		AllowWrite: expandPaths(m.Filesystem.AllowWrite, v, c),
		DenyWrite:  expandPaths(m.Filesystem.DenyWrite, v, c),
	}
	n := m.Network
	p.Network = NetworkPolicy{
		Mode:             NetNone,
		Allow:            lowerAll(n.Allow),
		Deny:             lowerAll(n.Deny),
		AllowUnixSockets: expandPaths(n.AllowUnixSockets, v, c),
	}
	if n.Mode != nil {
		p.Network.Mode = *n.Mode
	}
	p.Network.AllowPackageRegistries = deref(n.AllowPackageRegistries)
	p.Env = EnvPolicy{
		Pass: union([]string{}, m.Env.Pass),
		Deny: union([]string{}, m.Env.Deny),
		Set:  map[string]string{},
	}
	for k, val := range m.Env.Set {
		if !valueNeedsWorkspace(val, v) {
			p.Env.Set[k] = expandValue(val, v)
		}
	}
	p.Limits = LimitsPolicy{
		TmpSizeMB: deref(m.Limits.TmpSizeMB),
		Pids:      deref(m.Limits.Pids),
		MemoryMB:  deref(m.Limits.MemoryMB),
	}
	p.Report = ReportPolicy{
		Stderr:   deref(m.Report.Stderr),
		Notify:   deref(m.Report.Notify),
		Annotate: deref(m.Report.Annotate),
	}
	p.Audit = AuditPolicy{Arguments: deref(m.Audit.Arguments), Connections: deref(m.Audit.Connections)}
	p.Agent.State = []AgentState{}
	for _, s := range m.Agent.State {
		if pathNeedsWorkspace(s.From, v) {
			continue
		}
		a := AgentState{
			From:        expandVars(s.From, v),
			To:          expandVars(s.To, v),
			Credentials: cleanRel(s.Credentials),
			Skip:        cleanRel(s.Skip),
		}
		p.Agent.State = append(p.Agent.State, a)
		// A credential is injected read-only when there is a real one to
		// inject; otherwise the agent may log in inside and keep its own.
		for _, name := range a.Credentials {
			if fi, err := os.Stat(filepath.Join(a.From, name)); err == nil && fi.Mode().IsRegular() {
				for _, f := range symlinkForms(filepath.Join(a.To, name), c) {
					p.Filesystem.DenyWrite = appendUnique(p.Filesystem.DenyWrite, f)
				}
			}
		}
	}
	p.hidePrivateState(c, os.Getenv)
	// Only what the program could write counts; the host's /tmp is not
	// the sandbox's $TMP.
	var hostWritable []string
	for _, w := range p.Filesystem.AllowWrite {
		if w != v.Tmp {
			hostWritable = append(hostWritable, w)
		}
	}
	for _, d := range p.gitDerived(os.Getenv) {
		for _, f := range symlinkForms(d, c) {
			if UnderAny(f, hostWritable) {
				p.Filesystem.DenyWrite = appendUnique(p.Filesystem.DenyWrite, f)
			}
		}
	}
	return p
}

// cleanRel cleans the relative names of an agent.state entry.
func cleanRel(list []string) []string {
	out := []string{}
	for _, n := range list {
		out = appendUnique(out, filepath.Clean(n))
	}
	return out
}

func expandPaths(list []string, v Vars, c *symCache) []string {
	out := []string{}
	for _, raw := range list {
		if pathNeedsWorkspace(raw, v) {
			continue
		}
		for _, p := range expandPath(raw, v, c) {
			out = appendUnique(out, p)
		}
	}
	return out
}

// expandExact expands the variables of each path, nothing else: no glob,
// no symlink form (an allowRead entry must name what it lifts exactly; a
// symlink's target would lift something else).
func expandExact(list []string, v Vars) []string {
	out := []string{}
	for _, raw := range list {
		if pathNeedsWorkspace(raw, v) {
			continue
		}
		out = appendUnique(out, expandVars(raw, v))
	}
	return out
}

func lowerAll(list []string) []string {
	out := []string{}
	for _, s := range list {
		out = appendUnique(out, strings.ToLower(s))
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// profileLayers reads the layers Load merges before the flags: the
// built-in default, the server layer, config.json and the --profile
// layer. It returns them, the policy's name, and the --profile layer
// alone (nil when there is none or it is the default, already the base).
func (o LoadOptions) profileLayers(userDir, home string) ([]layer, string, *layer, error) {
	base, err := builtinLayer("default")
	if err != nil {
		return nil, "", nil, err
	}
	layers := []layer{base}
	name := "default"
	if l, ok := o.Server.layer(); ok {
		if err := l.profile.Validate(l.source); err != nil {
			return nil, "", nil, err
		}
		layers = append(layers, l)
		name += "+" + o.Server.Name
	}
	if l, err := fileLayer(filepath.Join(userDir, "config.json")); err == nil {
		layers = append(layers, l)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil, err
	}
	var top *layer
	if o.Profile != "" {
		l, chain, err := profileLayer(o.Profile, userDir, home)
		if err != nil {
			return nil, "", nil, err
		}
		// The built-in default is already the base.
		if l.source != base.source {
			layers = append(layers, l)
			top = &l
			if chain != "default" {
				name += "+" + chain
			}
		}
	}
	return layers, name, top, nil
}
