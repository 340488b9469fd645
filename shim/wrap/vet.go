package wrap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sbshim/sbshim/shim"
)

// A project's configuration file (.mcp.json, .vscode/mcp.json, ...) comes
// with the project: whoever wrote the repository wrote it. Nothing taken
// from such an untrusted entry may widen what the wrapped server can do
// or where sbshim writes. So, for an untrusted entry (WrapOptions.Trusted
// false):
//
//   - it counts as already wrapped only when its command is exactly the
//     sbshim that wrap writes (WrapOptions.Executable, not any program named
//     sbshim) and its arguments are sbshim run flags that cannot widen the
//     sandbox (runFlagRules), ending with "--" and the server's command;
//     any other entry that runs "sbshim" is wrapped again, and wrap says
//     why;
//   - its server name is qualified with the project (projectName), so that
//     it shares neither a private cache nor an audit log with a server
//     named the same elsewhere;
//   - a working directory it sets is not the workspace: wrap pins
//     --workspace to the project folder;
//   - an environment it sets that sbshim itself reads (sbshimReadsEnv: the
//     home and XDG folders, PATH, package-manager settings, the Go
//     runtime's, ...) or an env file makes it Suspicious: sbshim would
//     take those as its own, so wrap leaves it alone and says so.

// trustedProfiles are the built-in profiles that only narrow the default.
var trustedProfiles = map[string]bool{"default": true, "read-only": true, "workspace-write": true, "no-network": true}

// flagRule says whether a value of one sbshim run flag widens the sandbox:
// it returns why, or "" when the value is harmless.
type flagRule struct {
	boolean bool // takes no value unless written --flag=value
	widens  func(v string, o WrapOptions, e *entry) string
}

func always(why string) func(string, WrapOptions, *entry) string {
	return func(string, WrapOptions, *entry) string { return why }
}

func never(string, WrapOptions, *entry) string { return "" }

// runFlagRules classifies every flag of sbshim run (cmd/sbshim/flags.go;
// a test checks that both name the same flags). A flag that is not here
// is not understood, and so taken to widen. The flags that can only
// narrow the sandbox, or change nothing it may do, pass: --deny-net,
// --deny-read, --deny-write, --strict, --no-pty, --net none|proxy,
// --term-grace, --kill-grace, a built-in narrowing --profile, and the
// --name, --workspace and --env-pass that wrap itself writes.
var runFlagRules = map[string]flagRule{
	// The name picks the audit log and the private cache: it must be the
	// one wrap gives, not another server's.
	"name": {widens: func(v string, o WrapOptions, e *entry) string {
		if want := o.runName(e.name); v != want {
			return fmt.Sprintf("--name %q is not the name wrap gives this server (%q): it could share another server's private cache", v, want)
		}
		return ""
	}},
	"profile": {widens: func(v string, o WrapOptions, _ *entry) string {
		if trustedProfiles[v] || v == o.Profile && o.Profile != "" {
			return ""
		}
		return fmt.Sprintf("--profile %q is not one of the built-in profiles that only narrow the default (%s)", v, strings.Join(sortedKeys(trustedProfiles), ", "))
	}},
	"workspace": {widens: func(v string, o WrapOptions, _ *entry) string {
		if o.Project != "" && v == o.Project {
			return ""
		}
		return fmt.Sprintf("--workspace %q makes that folder writable", v)
	}},
	"strict": {boolean: true, widens: func(v string, _ WrapOptions, _ *entry) string {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Sprintf("--strict=%q is not a boolean", v)
		}
		return ""
	}},
	"net": {widens: func(v string, _ WrapOptions, _ *entry) string {
		if v == "none" || v == "proxy" {
			return ""
		}
		return fmt.Sprintf("--net %q: only none and proxy keep the network filtered", v)
	}},
	"allow-net":         {widens: always("--allow-net opens network destinations")},
	"deny-net":          {widens: never},
	"allow-write":       {widens: always("--allow-write makes more paths writable")},
	"deny-read":         {widens: never},
	"deny-write":        {widens: never},
	"allow-unix-socket": {widens: always("--allow-unix-socket opens host services")},
	// wrap passes the variables an entry's env sets as literals
	// (envpass.go); any other name could be one of the user's secrets.
	"env-pass": {widens: func(v string, o WrapOptions, e *entry) string {
		if names, _ := o.envPass(e); slices.Contains(names, v) {
			return ""
		}
		return fmt.Sprintf("--env-pass %s passes a variable of yours that the deny list holds back (a secret), and its env does not set it as written", v)
	}},
	"env-set":   {widens: always("--env-set sets the sandbox's environment")},
	"audit-log": {widens: always("--audit-log moves or turns off the audit log")},
	"term-grace": {widens: func(v string, _ WrapOptions, _ *entry) string {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Sprintf("--term-grace %q is not a duration", v)
		}
		return ""
	}},
	"kill-grace": {widens: func(v string, _ WrapOptions, _ *entry) string {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Sprintf("--kill-grace %q is not a duration", v)
		}
		return ""
	}},
	"max-line": {widens: always("--max-line changes which messages are parsed, and so reported")},
	"pty":      {boolean: true, widens: always("--pty turns the MCP relay and its reports off")},
	// It only turns the built-in server profile off (see recognisedServer).
	"no-server-profile": {boolean: true, widens: never},
	"no-pty": {boolean: true, widens: func(v string, _ WrapOptions, _ *entry) string {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Sprintf("--no-pty=%q is not a boolean", v)
		}
		return ""
	}},
}

// RunFlagNames lists the sbshim run flags wrap knows how to judge.
func RunFlagNames() []string {
	names := make([]string, 0, len(runFlagRules))
	for n := range runFlagRules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runName is the --name wrap gives a server: its own name in a trusted
// file; in a project's file, the name and a tag of the project folder, so
// that a project cannot pick the name of another server's private cache.
func (o WrapOptions) runName(server string) string {
	if o.Trusted {
		return server
	}
	sum := sha256.Sum256([]byte(o.Project))
	return server + "." + hex.EncodeToString(sum[:4])
}

// runFlags are the flags wrap puts in front of an entry's command.
func (o WrapOptions) runFlags(e *entry) []string {
	flags := []string{"--name", o.runName(e.name)}
	if o.Profile != "" {
		flags = append(flags, "--profile", o.Profile)
	}
	switch {
	case !o.Trusted && e.setsCwd():
		flags = append(flags, "--workspace", o.Project)
	case o.Trusted && o.cwdWorkspace(e) != "":
		flags = append(flags, "--workspace", o.cwdWorkspace(e))
	}
	names, _ := o.envPass(e)
	for _, n := range names {
		flags = append(flags, "--env-pass", n)
	}
	if !o.Trusted && recognisedServer(e.command()) != "" {
		flags = append(flags, "--no-server-profile")
	}
	return append(flags, "--")
}

// recognisedServer names the built-in server profile sbshim would add
// for the command, or "". Such a profile takes grants from the command
// line and environment (server-filesystem's folders, MEMORY_FILE_PATH):
// from a project's entry, the project would choose them, so wrap turns
// the server profile off for untrusted entries.
func recognisedServer(cmd string, args []string) string {
	if m, ok := shim.RecognizeServer(append([]string{cmd}, args...)); ok {
		return m.Profile
	}
	return ""
}

// vet gives an entry's state as wrap sees it: the syntactic state for a
// trusted file; for an untrusted one, Wrapped only for an entry that runs
// the real sbshim with no widening flag, Suspicious for an entry whose
// environment sbshim would read. A NotWrapped entry that runs something
// called sbshim gets the reason it is wrapped again.
func (o WrapOptions) vet(e *entry) (State, string) {
	if o.Trusted {
		return e.state, e.reason
	}
	switch e.state {
	case Remote:
		if e.cmd != nil {
			return Suspicious, "it has a command as well as a remote server (" + e.reason + "): a client may run the command"
		}
		return e.state, e.reason
	case Docker:
		if why := e.riskyEnv(); why != "" {
			return Suspicious, why // PATH, for one, picks which docker runs
		}
		// A program the project ships and calls docker is no container.
		cmd, _ := e.command()
		if cmd != "docker" && cmd != "podman" && (!filepath.IsAbs(cmd) || within(filepath.Clean(cmd), o.Project)) {
			return o.vetLocal(e, NotWrapped, fmt.Sprintf("suspicious: it runs %q, which is not the system's %s", cmd, commandBase(cmd)))
		}
		return e.state, e.reason
	case NotWrapped, Wrapped:
		return o.vetLocal(e, e.state, "")
	}
	return e.state, e.reason
}

// vetLocal judges a local server of an untrusted file (see vet).
func (o WrapOptions) vetLocal(e *entry, st State, why string) (State, string) {
	if why := e.riskyEnv(); why != "" {
		return Suspicious, why
	}
	if !o.Trusted && e.setsCwd() && o.Project == "" {
		return Suspicious, "it sets a working directory, and the project folder it belongs to is not known"
	}
	if st == NotWrapped {
		return NotWrapped, why
	}
	if why := o.notRealWrap(e); why != "" {
		return NotWrapped, "suspicious: " + why
	}
	return Wrapped, ""
}

// notRealWrap says why an entry whose command is named sbshim is not
// wrapped as wrap would wrap it, or "".
func (o WrapOptions) notRealWrap(e *entry) string {
	cmd, _ := e.command()
	if cmd != o.Executable {
		return fmt.Sprintf("it runs %q, not this sbshim (%s)", cmd, o.Executable)
	}
	var args []string
	if e.args != nil {
		for _, el := range e.args.value.elems {
			if el.kind != kindString {
				return "its args are not all strings"
			}
			args = append(args, el.str)
		}
	}
	flags, end, why := parseRunFlags(args)
	if why != "" {
		return why
	}
	// unwrap takes the first "--" for the end of sbshim's flags: it
	// must be the one sbshim's flag parser stops at.
	first := -1
	for i, a := range args {
		if a == "--" {
			first = i
			break
		}
	}
	if first != end {
		return `the first "--" in its args is a flag's value`
	}
	var reasons []string
	seen := map[string]bool{}
	for _, f := range flags {
		seen[f.name] = true
		if w := runFlagRules[f.name].widens(f.value, o, e); w != "" {
			reasons = append(reasons, w)
		}
	}
	if p := recognisedServer(args[end+1], args[end+2:]); p != "" && !seen["no-server-profile"] {
		reasons = append(reasons, "it runs a server sbshim recognises ("+p+") without --no-server-profile: its built-in profile would take grants from what the project's entry says")
	}
	if !seen["name"] {
		reasons = append(reasons, "it has no --name: the name derived from its command could be another server's")
	}
	if e.setsCwd() && !seen["workspace"] {
		reasons = append(reasons, "it sets a working directory, which would be its writable workspace")
	}
	return strings.Join(reasons, "; ")
}

type runFlag struct{ name, value string }

// parseRunFlags reads sbshim's run flags at the start of args as Go's
// flag package does (-f or --f, with =value or the next argument, boolean
// flags only with =value), up to "--". It returns the flags and the index
// of the "--", or why args are not flags followed by "--" and a command.
func parseRunFlags(args []string) ([]runFlag, int, string) {
	var flags []runFlag
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 >= len(args) {
				return nil, 0, `no command after "--"`
			}
			return flags, i, ""
		}
		if len(a) < 2 || a[0] != '-' {
			return nil, 0, fmt.Sprintf(`%q stands where wrap puts sbshim's flags and "--"`, a)
		}
		name := strings.TrimPrefix(a[1:], "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, 0, fmt.Sprintf("bad flag syntax %q", a)
		}
		name, value, hasValue := strings.Cut(name, "=")
		rule, known := runFlagRules[name]
		if !known {
			return nil, 0, fmt.Sprintf("--%s is not a run flag sbshim knows", name)
		}
		if !hasValue {
			switch {
			case rule.boolean:
				value = "true"
			case i+1 < len(args):
				i++
				value = args[i]
			default:
				return nil, 0, fmt.Sprintf("flag %q has no value", a)
			}
		}
		flags = append(flags, runFlag{name, value})
	}
	return nil, 0, `no "--" before the command`
}

// setsCwd reports whether the entry sets its working directory.
func (e *entry) setsCwd() bool {
	for _, m := range e.obj.members {
		if m.key == "cwd" {
			return true
		}
	}
	return false
}

// riskyEnv says why the environment an entry sets would be read by
// sbshim itself, or "".
func (e *entry) riskyEnv() string {
	var risky []string
	for _, m := range e.obj.members {
		switch {
		case m.key == "envFile" || m.key == "env_file":
			return "it reads its environment from a file (" + m.key + "), which sbshim would take as its own"
		case m.key == "env" && m.value.kind != kindObject:
			return "its env is not an object"
		case m.key == "env":
			for _, v := range m.value.members {
				if sbshimReadsEnv(v.key) {
					risky = append(risky, v.key)
				}
			}
		case strings.HasPrefix(m.key, "env."):
			if k := strings.TrimPrefix(m.key, "env."); sbshimReadsEnv(k) {
				risky = append(risky, k)
			}
		}
	}
	for _, k := range e.extraEnv {
		if sbshimReadsEnv(k) {
			risky = append(risky, k)
		}
	}
	if len(risky) == 0 {
		return ""
	}
	return fmt.Sprintf("its env sets %s, which sbshim itself reads (where your home, secrets, caches and package registries are): it would widen the sandbox", strings.Join(risky, ", "))
}

// envReadByShim matches, case-insensitively, the names of the variables
// that sbshim reads for itself, or that programs it runs outside the
// sandbox (package managers asked for their registries) read: where the
// home, configuration, caches and state are; the search path; package
// managers' settings; proxies and certificates; the Go runtime's; and
// the dynamic loader's. It is compiled on first use, not at every start
// of sbshim (and of its init and deputy, the same program).
var envReadByShim = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(` +
		`HOME|USER|LOGNAME|PATH|PWD|SHELL|TMPDIR|TMP|TEMP|VIRTUAL_ENV|CONDA_PREFIX|` +
		`XDG_.*|SBSHIM.*|LD_.*|DYLD_.*|GCONV_PATH|LOCPATH|` +
		`GO[A-Z0-9]*|NODE_.*|NPM_CONFIG_.*|PIP_.*|UV_.*|YARN_.*|PNPM_.*|BUN_.*|DENO_.*|CARGO_.*|` +
		`SSL_CERT_.*|.*_CA_CERTS?|.*_CA_BUNDLE|` +
		`.*_HOME|.*_CONFIG_DIR|.*_CONFIG_FILE|.*_CONFIG_HOME|.*_USERCONFIG|.*_GLOBALCONFIG|.*_PROXY|` +
		`MEMORY_FILE_PATH` +
		`)$`)
})

// sbshimReadsEnv reports whether sbshim reads the variable name for
// itself (see envReadByShim). NODE_ENV is only a mode; PYTHON* variables
// are not matched because sbshim runs Python isolated (-I), which ignores
// them.
func sbshimReadsEnv(name string) bool {
	return !strings.EqualFold(name, "NODE_ENV") && envReadByShim().MatchString(name)
}

// projectRoot is the project folder of a configuration file given by its
// path: its folder, or the folder above a client's own folder (.vscode,
// .cursor, .gemini, .codex, .claude).
func projectRoot(path string) string {
	dir := filepath.Dir(path)
	switch filepath.Base(dir) {
	case ".vscode", ".cursor", ".gemini", ".codex", ".claude":
		return filepath.Dir(dir)
	}
	return dir
}
