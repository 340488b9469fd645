package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/isolation/policy"
)

// ServerMatch is a server sbshim recognised from its command line.
type ServerMatch struct {
	// Profile names the built-in server profile (configs/servers).
	Profile string
	// From says how it was recognised, e.g. "npm package
	// @modelcontextprotocol/server-filesystem".
	From string
	// Args are the server's own arguments, after the package.
	Args []string
}

// Known packages and their server profiles.
var (
	npmServers = map[string]string{
		"@modelcontextprotocol/server-filesystem":          "filesystem",
		"@modelcontextprotocol/server-memory":              "memory",
		"@modelcontextprotocol/server-everything":          "everything",
		"@modelcontextprotocol/server-sequential-thinking": "sequential-thinking",
		"@modelcontextprotocol/server-github":              "github",
	}
	pypiServers = map[string]string{
		"mcp-server-fetch": "fetch",
		"mcp-server-git":   "git",
		"mcp-server-time":  "time",
	}
	goServers = map[string]string{
		"github.com/github/github-mcp-server/cmd/github-mcp-server": "github",
	}
)

// Options of the package runners that take a value (the value is not the
// package).
var (
	npxValueOpts = []string{"--registry", "--cache", "--prefix", "--userconfig", "-w", "--workspace", "--node-options", "--loglevel"}
	uvxValueOpts = []string{"--with", "--with-requirements", "--with-editable", "--python", "-p", "--index", "--index-url", "--extra-index-url",
		"--default-index", "--find-links", "-f", "--directory", "--project", "--cache-dir", "--config-file", "--constraints", "-c", "--overrides", "--build-constraints", "-b", "--python-platform"}
	pipxValueOpts = []string{"--python", "--pip-args", "--index-url", "-i"}
	goValueOpts   = []string{"-C", "-p", "-mod", "-modfile", "-tags", "-ldflags", "-gcflags", "-o", "-exec", "-overlay", "-pgo", "-toolexec", "-asmflags", "-buildmode", "-compiler", "-installsuffix", "-pkgdir"}
)

// RecognizeServer says which built-in server profile a command runs, if
// any: an npm package started by npx, npm exec, pnpm dlx, yarn dlx or bunx;
// a PyPI package started by uvx, uv tool run or pipx run; a Go module
// started by go run. Anything else, or an inline script, is not
// recognised.
func RecognizeServer(argv []string) (ServerMatch, bool) {
	if len(argv) == 0 {
		return ServerMatch{}, false
	}
	prog := filepath.Base(argv[0])
	rest := argv[1:]
	switch prog {
	case "npx", "pnpx", "bunx":
		return npmMatch(rest)
	case "npm", "pnpm", "yarn", "bun":
		if len(rest) > 0 && (rest[0] == "exec" || rest[0] == "x" || rest[0] == "dlx") {
			return npmMatch(rest[1:])
		}
	case "uvx":
		return pypiMatch(rest, uvxValueOpts, "--from")
	case "uv":
		if len(rest) > 1 && rest[0] == "tool" && rest[1] == "run" {
			return pypiMatch(rest[2:], uvxValueOpts, "--from")
		}
	case "pipx":
		if len(rest) > 0 && rest[0] == "run" {
			return pypiMatch(rest[1:], pipxValueOpts, "--spec")
		}
	case "go":
		if len(rest) > 0 && rest[0] == "run" {
			pkg, args, ok := operand(rest[1:], goValueOpts)
			if !ok {
				return ServerMatch{}, false
			}
			mod, _, _ := strings.Cut(pkg, "@")
			if p, ok := goServers[mod]; ok {
				return ServerMatch{Profile: p, From: "Go module " + mod, Args: args}, true
			}
		}
	}
	return ServerMatch{}, false
}

// operand finds the first operand of args, skipping options (and the
// values of those in valueOpts); it returns the operand and what follows.
// ok is false when there is none.
func operand(args, valueOpts []string) (op string, after []string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1], args[i+2:], true
			}
			return "", nil, false
		case strings.HasPrefix(a, "-"):
			if slices.Contains(valueOpts, a) {
				i++
			}
		default:
			return a, args[i+1:], true
		}
	}
	return "", nil, false
}

func npmMatch(args []string) (ServerMatch, bool) {
	// -c/--call runs a shell line: not a package we can vouch for; -p
	// names packages apart from the command run.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-c" || a == "--call" || a == "-p" || a == "--package" || strings.HasPrefix(a, "--package=") || strings.HasPrefix(a, "--call=") {
			return ServerMatch{}, false
		}
	}
	pkg, rest, ok := operand(args, npxValueOpts)
	if !ok {
		return ServerMatch{}, false
	}
	name := npmPackageName(pkg)
	if p, ok := npmServers[name]; ok {
		return ServerMatch{Profile: p, From: "npm package " + name, Args: rest}, true
	}
	return ServerMatch{}, false
}

// npmPackageName drops the version or tag of an npm package spec.
func npmPackageName(spec string) string {
	if i := strings.LastIndex(spec, "@"); i > 0 {
		spec = spec[:i]
	}
	return strings.ToLower(spec)
}

func pypiMatch(args, valueOpts []string, fromOpt string) (ServerMatch, bool) {
	from := ""
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		if args[i] == fromOpt && i+1 < len(args) {
			from = args[i+1]
		} else if v, ok := strings.CutPrefix(args[i], fromOpt+"="); ok {
			from = v
		}
	}
	pkg, rest, ok := operand(args, append(slices.Clone(valueOpts), fromOpt))
	if !ok {
		return ServerMatch{}, false
	}
	if from != "" {
		pkg = from
	}
	name := pypiName(pkg)
	if p, ok := pypiServers[name]; ok {
		return ServerMatch{Profile: p, From: "PyPI package " + name, Args: rest}, true
	}
	return ServerMatch{}, false
}

// pypiName is the normalised name of a PyPI requirement: no version,
// extras or markers; lower case, runs of -, _ and . as one -.
func pypiName(spec string) string {
	if i := strings.IndexAny(spec, "=<>!~[;@ "); i >= 0 {
		spec = spec[:i]
	}
	spec = strings.ToLower(spec)
	var b strings.Builder
	dash := false
	for _, c := range spec {
		if c == '-' || c == '_' || c == '.' {
			if !dash {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(c)
	}
	return b.String()
}

// serverPick is a recognised server's profile and the paths its command
// line asks to be writable, before they are checked.
type serverPick struct {
	match  ServerMatch
	base   *policy.Profile
	grants []string
}

// pickServer recognises the command and reads its server profile; nil
// when there is none (or it is turned off).
func (o Options) pickServer(home string) (*serverPick, error) {
	if o.NoServerProfile {
		return nil, nil
	}
	m, ok := RecognizeServer(o.Argv)
	if !ok {
		return nil, nil
	}
	data, err := configs.ReadServer(m.Profile)
	if err != nil {
		return nil, err
	}
	base, err := policy.ParseProfile("built-in:servers/"+m.Profile, data)
	if err != nil {
		return nil, err
	}
	return &serverPick{match: m, base: base, grants: serverGrants(m, home, os.Getenv)}, nil
}

// serverGrants are the paths a server's command line or environment
// names for it to write: server-filesystem's directory arguments, the
// folder of server-memory's MEMORY_FILE_PATH, mcp-server-git's
// --repository. Only existing, absolute (after
// ~ and the working directory) paths.
func serverGrants(m ServerMatch, home string, getenv func(string) string) []string {
	abs := func(p string) string {
		switch {
		case p == "~":
			p = home
		case strings.HasPrefix(p, "~/"):
			p = filepath.Join(home, p[2:])
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return ""
		}
		return a
	}
	isDir := func(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	switch m.Profile {
	case "filesystem":
		for _, a := range m.Args {
			if !strings.HasPrefix(a, "-") {
				if p := abs(a); isDir(p) {
					add(p)
				}
			}
		}
	case "memory":
		// Its folder, not the file alone: the server replaces the file
		// with a temporary one renamed over it.
		if f := getenv("MEMORY_FILE_PATH"); filepath.IsAbs(f) {
			if d := filepath.Dir(filepath.Clean(f)); isDir(d) {
				add(d)
			}
		}
	case "git":
		for i, a := range m.Args {
			v := ""
			switch {
			case (a == "--repository" || a == "-r") && i+1 < len(m.Args):
				v = m.Args[i+1]
			case strings.HasPrefix(a, "--repository="):
				v = strings.TrimPrefix(a, "--repository=")
			}
			if p := abs(v); v != "" && isDir(p) {
				add(p)
			}
		}
	}
	return out
}

// layer is the server layer with the grants kept; notes say what was not
// granted and why.
func (s *serverPick) layer(kept, notes []string) *policy.ServerLayer {
	p := *s.base
	fsys := policy.FilesystemProfile{}
	if p.Filesystem != nil {
		fsys = *p.Filesystem
	}
	fsys.AllowWrite = append(slices.Clone(fsys.AllowWrite), kept...)
	p.Filesystem = &fsys
	src := "built-in:servers/" + s.match.Profile + " (" + s.match.From
	if len(kept) > 0 {
		src += "; writable: " + strings.Join(kept, ", ")
	}
	if len(notes) > 0 {
		src += "; not granted: " + strings.Join(notes, "; ")
	}
	src += ")"
	return &policy.ServerLayer{Name: s.match.Profile, Source: src, Profile: &p}
}

// serverGrantRefusal says why a path a server's command line names must
// not become writable, or "": never /, a folder directly under /, the
// home folder or a folder above it, anything under a secret location
// (filesystem.denyRead) or a folder holding one, or sbshim's own
// configuration and state. A path reached through a symlink is judged in
// both forms.
func serverGrantRefusal(pol *policy.Policy, p string) string {
	forms := []string{p}
	if r, err := filepath.EvalSymlinks(p); err == nil && r != p {
		forms = append(forms, r)
	}
	home := pol.Vars.Home
	for _, f := range forms {
		switch {
		case f == "/":
			return "/ is never granted"
		case home != "" && (f == home || within(home, f)):
			return "your home folder or a folder above it is never granted"
		case strings.Count(f, "/") == 1:
			return "a folder directly under / is never granted"
		}
		if rule, ok := pol.CanRead(f); !ok {
			return "under a secret location (" + rule + ")"
		}
		for _, s := range pol.Filesystem.DenyRead {
			if f != s && within(s, f) {
				return "it holds the secret location " + s
			}
		}
		for _, own := range append([]string{pol.Vars.ConfigDir}, pol.Vars.PrivateDirs...) {
			if own != "" && within(own, f) {
				return "it holds sbshim's own configuration or state"
			}
		}
	}
	return ""
}

// within reports whether path is root or lies under it.
func within(path, root string) bool {
	if root == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == root || strings.HasPrefix(path, root) && len(path) > len(root) && path[len(root)] == '/'
}

// checkServerGrants splits the grants into those the policy allows and
// notes on the others.
func checkServerGrants(pol *policy.Policy, grants []string) (kept, notes []string) {
	for _, g := range grants {
		if r := serverGrantRefusal(pol, g); r != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", g, r))
			continue
		}
		kept = append(kept, g)
	}
	return kept, notes
}
