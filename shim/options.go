package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
	"github.com/sbshim/sbshim/shim/audit"
)

// Options is what the command line asks of one session.
type Options struct {
	// Argv is the command to sandbox, byte for byte as given.
	Argv []string
	// Name is the server name for the audit log and $CACHE; derived from
	// Argv when empty.
	Name string
	// Profile is --profile: a profile name or a JSON file.
	Profile string
	// Workspace is $WORKSPACE; the working directory when empty. It must
	// be an existing folder; /, the home folder and the like are no
	// workspace (policy.Vars.NoWorkspace).
	Workspace string
	// Strict refuses to run with a layer missing.
	Strict bool
	// Flags are the policy settings given as flags.
	Flags FlagLayer
	// NoServerProfile turns off the built-in server profile sbshim picks
	// for a command it recognises (RecognizeServer).
	NoServerProfile bool

	// AuditLog is the audit log file; DefaultDir/<name>.jsonl when empty,
	// none when "-".
	AuditLog string
	// TermGrace is how long an MCP server has to exit after its stdin was
	// closed before it gets SIGTERM; KillGrace how long after SIGTERM
	// before SIGKILL. Zero selects the defaults.
	TermGrace, KillGrace time.Duration
	// MaxLine is the parse cap for one message; longer lines are relayed
	// unparsed. Zero selects mcp.DefaultMaxLine.
	MaxLine int
	// PTY chooses PTY mode: --pty, --no-pty, or automatic when stdin is a
	// terminal.
	PTY PTYMode

	// trace records the phases of the start when SBSHIM_TRACE_START=1
	// (see Run); nil otherwise.
	trace *isolation.StartTrace
	// prefork is the sandbox's init, started while the policy loads
	// (see run); nil when none could be.
	prefork *isolation.Preforked
}

func (o Options) termGrace() time.Duration { return orDefault(o.TermGrace, DefaultTermGrace) }
func (o Options) killGrace() time.Duration { return orDefault(o.KillGrace, DefaultKillGrace) }

func (o Options) maxLine() int {
	if o.MaxLine > 0 {
		return o.MaxLine
	}
	return mcp.DefaultMaxLine
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// serverName is --name, or the name derived from the command, made safe
// by SafeName: it names the audit log and the private cache folder.
func (o Options) serverName() string {
	if o.Name != "" {
		return SafeName(o.Name)
	}
	return SafeName(ServerName(o.Argv))
}

// FlagLayer holds the policy settings that flags add on top of every
// profile. Lists are appended to what the profiles say.
type FlagLayer struct {
	Net         string
	AllowNet    []string
	DenyNet     []string
	AllowWrite  []string
	DenyRead    []string
	DenyWrite   []string
	UnixSockets []string
	EnvPass     []string
	EnvSet      []string // K=V
}

// profileJSON renders the flags as a profile layer, so that they are
// validated by the same rules, with the same messages, as a profile file.
func (f FlagLayer) profileJSON() ([]byte, error) {
	layer := map[string]map[string]any{}
	put := func(section, key string, v any) {
		if layer[section] == nil {
			layer[section] = map[string]any{}
		}
		layer[section][key] = v
	}
	lists := []struct {
		section, key string
		v            []string
	}{
		{"filesystem", "allowWrite", f.AllowWrite}, {"filesystem", "denyRead", f.DenyRead},
		{"filesystem", "denyWrite", f.DenyWrite}, {"network", "allow", f.AllowNet},
		{"network", "deny", f.DenyNet}, {"network", "allowUnixSockets", f.UnixSockets},
		{"env", "pass", f.EnvPass},
	}
	for _, l := range lists {
		if len(l.v) > 0 {
			put(l.section, l.key, l.v)
		}
	}
	if f.Net != "" {
		put("network", "mode", f.Net)
	}
	if len(f.EnvSet) > 0 {
		set := map[string]string{}
		for _, kv := range f.EnvSet {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--env-set %q: expected NAME=VALUE", kv)
			}
			set[k] = v
		}
		put("env", "set", set)
	}
	return json.Marshal(layer)
}

// ServerName derives the name a server's audit log and cache go by from
// its command: the package a runner (npx, uvx, …) starts, the module or
// script file an interpreter runs, else the program's base name. Code
// given on the command line (python -c, node -e, npx -c, …) never names
// a server.
func ServerName(argv []string) string {
	if len(argv) == 0 {
		return "unnamed"
	}
	prog := filepath.Base(argv[0])
	rest := argv[1:]
	pick := ""
	if t, ok := runnerTarget(prog, rest); ok {
		pick, _ = t.runs()
	} else if t, ok := interpreterTarget(prog, rest); ok {
		if pick = t.module; pick == "" && t.script() != "" {
			pick = scriptName(t.script())
		}
	}
	if pick == "" {
		pick = prog
	}
	return sanitizeName(packageBase(pick))
}

// packageBase turns "@scope/name@1.2" into "name", "name@latest" into
// "name", and a Python requirement ("name[extra]==1.0") into "name".
func packageBase(p string) string {
	if i := strings.IndexAny(p, "=<>!~[; "); i > 0 {
		p = p[:i]
	}
	if strings.HasPrefix(p, "@") {
		if i := strings.Index(p, "/"); i >= 0 {
			p = p[i+1:]
		}
	}
	if i := strings.Index(p, "@"); i > 0 {
		p = p[:i]
	}
	if i := strings.LastIndex(p, "/"); i >= 0 && i < len(p)-1 {
		p = p[i+1:]
	}
	return p
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Bounds of the names SafeName gives.
const (
	maxPlainName  = 64 // a name kept as it is has at most this many bytes
	maxHashedBase = 40 // the readable part of a hashed name
	nameHashHex   = 16 // hex digits of the hash that ends a hashed name
)

// SafeName is the one place where a server name, from --name or derived
// from the command (and so, through sbshim wrap, possibly from a cloned
// project's configuration), becomes the file name of its audit log
// (AUDITDIR/<name>.jsonl) and of its private cache folder
// (CACHEDIR/sbshim/<name>). The result is always a single, ordinary
// path element: 1 to 64 bytes of a-z, 0-9, '.', '_' and '-', starting
// with a letter or digit and ending with a letter, digit or '_', so never
// "", "." or "..", never a '/', a NUL, a hidden file or a flag, and the
// same whatever the file system folds (case, Unicode normalisation).
//
// A name that already has that form, and holds no "--", is kept as it is.
// Any other name becomes a readable part (lower case, other runs of bytes
// as '-', at most 40 bytes), "--", and 16 hex digits of the SHA-256 of the
// whole name. So two different names never share a folder: a plain name
// holds no "--" and a hashed one does, and hashed names differ by their
// hash ("GitHub", "github" and "github\x00" are three names).
func SafeName(name string) string {
	if plainName(name) {
		return name
	}
	var b strings.Builder
	dash := false
	for i := 0; i < len(name) && b.Len() < maxHashedBase; i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' {
			b.WriteByte(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.Trim(b.String(), ".-")
	if base == "" {
		base = "unnamed"
	}
	sum := sha256.Sum256([]byte(name))
	return base + "--" + hex.EncodeToString(sum[:])[:nameHashHex]
}

// plainName reports whether SafeName keeps name as it is.
func plainName(name string) bool {
	if name == "" || len(name) > maxPlainName || strings.Contains(name, "--") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case alnum:
		case c == '_' && i > 0:
		case (c == '.' || c == '-') && i > 0 && i < len(name)-1:
		default:
			return false
		}
	}
	return true
}

func sanitizeName(s string) string {
	s = unsafeNameChars.ReplaceAllString(s, "-")
	s = strings.Trim(s, ".-")
	if s == "" {
		return "unnamed"
	}
	return s
}

// cacheName is the name of the session's private cache folder ($CACHE):
// the server name and, when sbshim derived that name from the command, a
// short hash of what the command runs. Two different servers that share
// a derived name (every "node …/index.js" is "index"; "@a/server-x" and
// "@b/server-x" are both "server-x") must never share their private
// state. With --name the user chose to share it.
func (o Options) cacheName() string {
	name := o.serverName()
	if o.Name != "" {
		return name
	}
	sum := sha256.Sum256([]byte(serverIdentity(o.Argv)))
	return name + "." + hex.EncodeToString(sum[:4])
}

// serverIdentity names what a command runs, as precisely as sbshim can
// tell: the package a runner fetches (its scope kept, its version
// dropped) and its arguments, the absolute path of the script an
// interpreter runs, the module it runs with -m, or the program itself.
func serverIdentity(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	prog := filepath.Base(argv[0])
	rest := argv[1:]
	if t, ok := runnerTarget(prog, rest); ok {
		if pkg, after := t.runs(); pkg != "" {
			return prog + " " + packageNoVersion(pkg) + " " + strings.Join(after, " ")
		}
	} else if t, ok := interpreterTarget(prog, rest); ok {
		if t.module != "" {
			return prog + " -m " + t.module
		}
		if sc := t.script(); sc != "" {
			if abs, err := filepath.Abs(sc); err == nil {
				return prog + " " + abs
			}
		}
	}
	if p, err := exec.LookPath(argv[0]); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return argv[0]
}

// packageNoVersion drops the version of a package spec: "@s/n@1.2" is
// "@s/n", "n@latest" is "n".
func packageNoVersion(p string) string {
	if i := strings.LastIndex(p, "@"); i > 0 {
		return p[:i]
	}
	return p
}

// vars computes the path variables for a session; name is the private
// cache folder's (cacheName).
func (o Options) vars(name string) (policy.Vars, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return policy.Vars{}, fmt.Errorf("home directory: %w", err)
	}
	ws := o.Workspace
	if ws == "" {
		if ws, err = os.Getwd(); err != nil {
			return policy.Vars{}, fmt.Errorf("working directory: %w", err)
		}
	} else if err := checkWorkspace(ws); err != nil {
		return policy.Vars{}, err
	}
	if ws, err = filepath.Abs(ws); err != nil {
		return policy.Vars{}, err
	}
	cacheHome := os.Getenv("XDG_CACHE_HOME")
	if cacheHome == "" {
		cacheHome = filepath.Join(home, ".cache")
	}
	tmp, err := sessionTmp(runtime.GOOS, os.TempDir())
	if err != nil {
		return policy.Vars{}, err
	}
	return policy.Vars{
		Home:      home,
		Workspace: ws,
		Tmp:       tmp,
		Cache:     filepath.Join(cacheHome, "sbshim", name),
		ConfigDir: ConfigDir(home),
	}, nil
}

// checkWorkspace refuses a --workspace that is not an existing folder: a
// typo must not leave the server silently without a writable workspace.
func checkWorkspace(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--workspace %s: no such folder", dir)
	case err != nil:
		return fmt.Errorf("--workspace: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("--workspace %s: not a folder", dir)
	}
	return nil
}

// WorkspaceNotice is the one line sbshim prints on stderr when the policy
// has no writable workspace (policy.Vars.NoWorkspace), "" otherwise.
func WorkspaceNotice(o Options, pol *policy.Policy) string {
	if pol.Vars.NoWorkspace == "" {
		return ""
	}
	what := "the working directory"
	if o.Workspace != "" {
		what = "--workspace"
	}
	return "sbshim: no writable workspace: " + what + " " + audit.Escape(pol.Vars.NoWorkspace) +
		"; name the project folder with --workspace DIR\n"
}

// ConfigDir is sbshim's own configuration folder.
func ConfigDir(home string) string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "sbshim")
	}
	return filepath.Join(home, ".config", "sbshim")
}

// Policy loads the effective policy of a session.
func (o Options) Policy() (*policy.Policy, error) {
	pol, _, err := o.policy()
	return pol, err
}

// PolicyLayers loads the effective policy and, for a tool that writes a
// profile to replace the --profile layer (sbshim learn), the layers it
// is made of before expansion, the flags excluded.
func (o Options) PolicyLayers() (*policy.Policy, *policy.ProfileLayers, error) {
	pol, lo, err := o.policy()
	if err != nil {
		return nil, nil, err
	}
	layers, err := policy.LoadProfileLayers(lo)
	if err != nil {
		return nil, nil, err
	}
	return pol, layers, nil
}

// policy loads the effective policy and returns the options it was
// loaded with.
func (o Options) policy() (*policy.Policy, policy.LoadOptions, error) {
	vars, err := o.vars(o.cacheName())
	if err != nil {
		return nil, policy.LoadOptions{}, err
	}
	flagJSON, err := o.Flags.profileJSON()
	if err != nil {
		return nil, policy.LoadOptions{}, err
	}
	flags, err := policy.ParseProfile("flags", flagJSON)
	if err != nil {
		return nil, policy.LoadOptions{}, err
	}
	lo := policy.LoadOptions{
		Profile:       o.Profile,
		UserConfigDir: vars.ConfigDir,
		Flags:         flags,
		Vars:          vars,
	}
	pick, err := o.pickServer(vars.Home)
	if err != nil {
		return nil, lo, err
	}
	if pick == nil {
		pol, err := policy.Load(lo)
		return pol, lo, err
	}
	lo.Server = pick.layer(pick.grants, nil)
	pol, err := policy.Load(lo)
	if err != nil {
		return nil, lo, err
	}
	// What the command line asks to be writable passes the same checks as
	// what sbshim learn proposes; a path that fails is left out, and the
	// policy's sources say so.
	kept, notes := checkServerGrants(pol, pick.grants)
	if len(notes) == 0 {
		return pol, lo, nil
	}
	lo.Server = pick.layer(kept, notes)
	pol, err = policy.Load(lo)
	return pol, lo, err
}
