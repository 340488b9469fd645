package policy

// NetworkMode says how the sandboxed program reaches the network.
type NetworkMode string

// The network modes of a Policy.
const (
	NetNone  NetworkMode = "none"  // an empty network namespace: loopback only
	NetProxy NetworkMode = "proxy" // empty namespace plus a bridge to sbshim's filtering proxy
	NetHost  NetworkMode = "host"  // the host's network, unfiltered
)

// Policy is the effective policy of one session: every layer merged, every
// variable expanded, every path absolute and clean. It is plain data; the
// sandboxes read it, nothing writes it after Load.
type Policy struct {
	// Name is the profile chain that produced it, e.g. "default" or
	// "default+workspace-write".
	Name string `json:"name"`
	// Sources names every layer merged, in order (built-in:NAME, a file
	// path, or "flags").
	Sources []string `json:"sources"`
	// Description is the description of the last layer that had one.
	Description string `json:"description,omitempty"`

	Filesystem FilesystemPolicy `json:"filesystem"`
	Network    NetworkPolicy    `json:"network"`
	Env        EnvPolicy        `json:"env"`
	Limits     LimitsPolicy     `json:"limits"`
	Report     ReportPolicy     `json:"report"`
	Audit      AuditPolicy      `json:"audit"`
	Agent      AgentPolicy      `json:"agent"`

	// Vars are the values the variables were expanded with.
	Vars Vars `json:"vars"`
}

// FilesystemPolicy lists absolute, clean host paths. Everything is readable
// except DenyRead, but for the AllowRead paths strictly inside a DenyRead
// entry (see ReadExemptions); only AllowWrite trees are writable, minus
// DenyWrite, DenyRead and the always-protected paths. Deny beats allow.
type FilesystemPolicy struct {
	DenyRead []string `json:"denyRead"`
	// AllowRead are exact paths (files or folders) that stay readable
	// although a DenyRead entry covers them: each lifts only what lies
	// within it and only where it lies strictly inside a DenyRead entry
	// (never a whole entry, never sbshim's private folders), for reading
	// only. Their symlinks are not resolved: the sandbox refuses to start
	// when one is, or holds, a symlink on the host.
	AllowRead  []string `json:"allowRead"`
	AllowWrite []string `json:"allowWrite"`
	DenyWrite  []string `json:"denyWrite"`
}

// NetworkPolicy is the network part of a Policy.
type NetworkPolicy struct {
	Mode                   NetworkMode `json:"mode"`
	Allow                  []string    `json:"allow"`
	Deny                   []string    `json:"deny"`
	AllowPackageRegistries bool        `json:"allowPackageRegistries"`
	// AllowUnixSockets lists absolute paths of pathname unix sockets (or
	// directories holding them) that the program may connect to.
	AllowUnixSockets []string `json:"allowUnixSockets"`
}

// EnvPolicy decides which environment variables reach the program. Pass and
// Deny hold names or glob patterns ("LC_*", "*_TOKEN"). A variable passes if
// Pass matches it and Deny does not, unless Pass names it exactly (an exact
// name in Pass beats a pattern in Deny). Set is applied last.
type EnvPolicy struct {
	Pass []string          `json:"pass"`
	Set  map[string]string `json:"set"`
	Deny []string          `json:"deny"`
}

// LimitsPolicy holds resource limits; 0 means no limit.
type LimitsPolicy struct {
	TmpSizeMB int `json:"tmpSizeMB"`
	Pids      int `json:"pids"`
	MemoryMB  int `json:"memoryMB"`
}

// ReportPolicy says where blocked attempts are reported.
type ReportPolicy struct {
	Stderr   bool `json:"stderr"`
	Notify   bool `json:"notify"`
	Annotate bool `json:"annotate"`
}

// AuditPolicy says what the audit log records.
type AuditPolicy struct {
	Arguments bool `json:"arguments"`
	// Connections logs every connection the network proxy made, one
	// record each; otherwise they are counted per tool call.
	Connections bool `json:"connections"`
}

// AgentPolicy lists the agent state that sbshim copies into private
// places before the command starts (PrepareAgentState).
type AgentPolicy struct {
	State []AgentState `json:"state"`
}

// AgentState is one resolved agent.state entry. From and To are absolute
// and clean; To lies under Vars.Cache. Credentials and Skip are clean
// paths relative to From and To. Each credential whose real file existed
// when the policy was loaded is also in Filesystem.DenyWrite, as To/name.
type AgentState struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Credentials []string `json:"credentials"`
	Skip        []string `json:"skip"`
}

// Vars are the values that path variables expand to.
type Vars struct {
	Home string `json:"home"` // ~
	// Workspace is $WORKSPACE, by default the working directory; "" when
	// there is none (NoWorkspace says why), and every profile path under
	// $WORKSPACE and env.set value naming it then drops out.
	Workspace string `json:"workspace"`
	// NoWorkspace says why the folder asked for (the working directory or
	// --workspace), named in it, is no workspace; "" when there is one.
	NoWorkspace string `json:"noWorkspace,omitempty"`
	Tmp         string `json:"tmp"`       // $TMP, the sandbox's private /tmp
	Cache       string `json:"cache"`     // $CACHE, a private per-server host folder
	ConfigDir   string `json:"configDir"` // sbshim's own config folder, always protected
	// PrivateDirs are sbshim's folders of every server's private state
	// (the parent of every $CACHE, the audit logs' folder): hidden but
	// for the allowWrite trees inside them. Computed by Load when empty.
	PrivateDirs []string `json:"privateDirs,omitempty"`
}
