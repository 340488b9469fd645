package policy

// Profile is one policy layer as written in JSON: a shipped profile, the
// user's config file, a --profile file, or the command-line flags. Every
// field is optional: a nil pointer, nil slice or nil map means "not set by
// this layer" (JSON null means the same). An empty list is set, and empty.
//
// Paths may start with ~, $WORKSPACE, $TMP or $CACHE and may hold a * within
// a path component; Load expands them. See Load for how layers merge.
type Profile struct {
	// Description says what the profile is for.
	Description *string            `json:"description,omitempty"`
	Filesystem  *FilesystemProfile `json:"filesystem,omitempty"`
	Network     *NetworkProfile    `json:"network,omitempty"`
	Env         *EnvProfile        `json:"env,omitempty"`
	Limits      *LimitsProfile     `json:"limits,omitempty"`
	Report      *ReportProfile     `json:"report,omitempty"`
	Audit       *AuditProfile      `json:"audit,omitempty"`
	Agent       *AgentProfile      `json:"agent,omitempty"`
}

// FilesystemProfile is the "filesystem" object of a Profile.
type FilesystemProfile struct {
	DenyRead   []string `json:"denyRead,omitzero"`
	AllowRead  []string `json:"allowRead,omitzero"`
	AllowWrite []string `json:"allowWrite,omitzero"`
	DenyWrite  []string `json:"denyWrite,omitzero"`
}

// NetworkProfile is the "network" object of a Profile.
type NetworkProfile struct {
	Mode                   *NetworkMode `json:"mode,omitempty"`
	Allow                  []string     `json:"allow,omitzero"`
	Deny                   []string     `json:"deny,omitzero"`
	AllowPackageRegistries *bool        `json:"allowPackageRegistries,omitempty"`
	AllowUnixSockets       []string     `json:"allowUnixSockets,omitzero"`
}

// EnvProfile is the "env" object of a Profile.
type EnvProfile struct {
	Pass []string          `json:"pass,omitzero"`
	Set  map[string]string `json:"set,omitzero"`
	Deny []string          `json:"deny,omitzero"`
}

// LimitsProfile is the "limits" object of a Profile.
type LimitsProfile struct {
	TmpSizeMB *int `json:"tmpSizeMB,omitempty"`
	Pids      *int `json:"pids,omitempty"`
	MemoryMB  *int `json:"memoryMB,omitempty"`
}

// ReportProfile is the "report" object of a Profile.
type ReportProfile struct {
	Stderr   *bool `json:"stderr,omitempty"`
	Notify   *bool `json:"notify,omitempty"`
	Annotate *bool `json:"annotate,omitempty"`
}

// AuditProfile is the "audit" object of a Profile.
type AuditProfile struct {
	Arguments   *bool `json:"arguments,omitempty"`
	Connections *bool `json:"connections,omitempty"`
}

// AgentProfile is the "agent" object of a Profile.
type AgentProfile struct {
	// State lists the agent state folders and files that sbshim copies
	// into private places before the command starts; nil means not set.
	State []AgentStateProfile `json:"state,omitzero"`
}

// AgentStateProfile is one entry of agent.state: From (a real folder or
// file) is copied to To (under $CACHE) when To does not exist yet; the
// Credentials (names relative to From and To) are copied again at every
// start and are read-only inside the sandbox; Skip names (relative to
// From) are not copied.
type AgentStateProfile struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Credentials []string `json:"credentials,omitzero"`
	Skip        []string `json:"skip,omitzero"`
}

// ParseProfile reads one profile from JSON text. source names where the
// text came from (a file path, or "built-in:NAME") and starts every error
// message. Parsing is strict: the text must be a single JSON object; an
// unknown key, a value of the wrong type or a bad value is an error that
// names the dotted key and what was expected. The error is a *ConfigError.
func ParseProfile(source string, data []byte) (*Profile, error) {
	root, err := parseJSONTree(data)
	if err != nil {
		return nil, &ConfigError{Source: source, Msg: err.Error()}
	}
	d := decoder{source: source}
	p, err := d.profile(root)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(source); err != nil {
		return nil, err
	}
	return p, nil
}
