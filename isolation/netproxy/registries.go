package netproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RegistryEnv is what registry discovery reads of the host. Nothing here
// names a registry: every host comes from the package managers' own
// configuration.
//
// Discovery widens the sandbox's allow list, so it never trusts anything
// the sandbox could have written: a file (configuration, a cache key, the
// answer cache, a program it would ask) is used only if neither it nor
// any of its parent directories, before or after resolving symbolic
// links, is Writable. The environment is trusted (it is sbshim's own, out
// of the sandbox's reach), but a path it names still goes through that
// check.
type RegistryEnv struct {
	// Getenv reads the environment the package managers will run with.
	Getenv func(string) string
	// Environ is that environment as NAME=VALUE, for the settings whose
	// names are not fixed (npm_config_@scope:registry); nil has none.
	Environ []string
	// Writable says whether the sandbox could write path (create,
	// replace or change it). nil counts every path as writable: no file
	// is read and no program asked.
	Writable func(path string) bool
	// Home is the user's home directory; Workspace the project directory
	// (for a project .npmrc).
	Home, Workspace string
	// CacheDir holds the answers of package managers that were asked
	// (once) for a default that only they know; "" disables asking.
	CacheDir string
	// LookPath finds a program on the PATH; nil disables asking.
	LookPath func(string) (string, error)
	// AskTimeout bounds a package manager that is asked; 0 means
	// DefaultAskTimeout.
	AskTimeout time.Duration
	// Warn, if set, is told when a package manager that was asked did
	// not answer in time, so that its registry is missing from this
	// session's allow list.
	Warn func(string)
	// Hidden says whether the sandbox cannot read path: a registry
	// setting in such a file is carried in by RegistrySettings. nil
	// carries nothing.
	Hidden func(path string) bool
	// ScratchDir is where a package manager that is asked gets a home of
	// its own for the one question, removed afterwards; "" means
	// os.TempDir.
	ScratchDir string
}

// Registry is one discovered registry host.
type Registry struct {
	Host string // host or host:port, as a rule entry
	From string // where it was found, e.g. "npm registry (~/.npmrc)"
}

// DefaultAskTimeout bounds a package manager that is asked for its
// default.
const DefaultAskTimeout = 5 * time.Second

// Registries discovers the hosts of the registries that npm, pip, uv and
// Go are configured to use: environment variables first, then their
// configuration files. Where a manager's default is known only to the
// manager itself (npm's registry, pip's index), it is asked once and the
// answer is cached in CacheDir, keyed by the manager's own files, so that
// a normal start reads a few small files and spawns nothing.
func Registries(env RegistryEnv) []Registry {
	var out []Registry
	add := func(rawURL, from string) {
		for _, h := range registryHosts(rawURL) {
			if !slices.ContainsFunc(out, func(r Registry) bool { return r.Host == h }) {
				out = append(out, Registry{Host: h, From: from})
			}
		}
	}
	for _, r := range npmRegistries(env) {
		add(r.Host, r.From)
	}
	for _, r := range pipIndexes(env) {
		add(r.Host, r.From)
	}
	for _, r := range goProxies(env) {
		add(r.Host, r.From)
	}
	return out
}

// registryHosts turns a discovered registry URL into the rule entries
// that allow exactly it. A host name is allowed by name, so that the
// rebinding guard (Rules.CheckAddr) still applies: a name that resolves
// to a loopback, private or metadata address is refused like any name.
// A mirror the user configured by address (http://127.0.0.1:4873/,
// http://10.1.2.3:8080/) is allowed as that address and port alone, and
// localhost as itself and the two loopback addresses, at its port: the
// configuration is the user's (discovery reads nothing the sandbox can
// write), and it names that one service. Wildcards, unspecified,
// multicast, link-local and shared addresses (where cloud metadata
// lives) and addresses embedded in others give nothing.
func registryHosts(raw string) []string {
	entry := urlHost(raw)
	if entry == "" {
		return nil
	}
	r, err := ParseRule("", entry)
	if err != nil || r.Wildcard || r.Port == 0 {
		return nil
	}
	port := ":" + strconv.Itoa(int(r.Port))
	switch {
	case r.Addr.IsValid():
		a := r.Addr.Unmap()
		if _, embeds := embeddedV4(a); embeds {
			return nil
		}
		switch SpecialAddr(a) {
		case "", "loopback", "private":
			return []string{hostPort(a) + port}
		}
		return nil
	case r.Name == "localhost":
		return []string{"localhost" + port, "127.0.0.1" + port, "[::1]" + port}
	case r.Name == "" || strings.HasSuffix(r.Name, ".localhost"):
		return nil
	}
	return []string{entry}
}

// LoopbackEntry returns the loopback address and port a rule entry (as
// Registry.Host) names; ok is false for anything else, localhost
// included (discovery gives its addresses as entries of their own).
func LoopbackEntry(entry string) (ap netip.AddrPort, ok bool) {
	r, err := ParseRule("", entry)
	if err != nil || !r.Addr.IsValid() || !r.Addr.Unmap().IsLoopback() || r.Port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(r.Addr.Unmap(), r.Port), true
}

// urlHost turns a registry URL (or a bare host) into a rule entry:
// host:port, the port explicit or from the scheme.
func urlHost(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return ""
		}
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	entry := host + ":" + port
	if _, err := ParseRule("", entry); err != nil {
		return ""
	}
	return entry
}

// expandVars replaces ${NAME} as npm does in .npmrc values.
func expandVars(s string, getenv func(string) string) string {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s
		}
		s = s[:i] + getenv(s[i+2:i+j]) + s[i+j+1:]
	}
}

// npmrcRegistries reads registry= and @scope:registry= from an npmrc.
func npmrcRegistries(data []byte, getenv func(string) string) (def string, scoped []string) {
	for _, kv := range npmrcRegistryKeys(data, getenv) {
		if kv[0] == "registry" {
			def = kv[1]
		} else {
			scoped = append(scoped, kv[1])
		}
	}
	return def, scoped
}

func (env RegistryEnv) getenv(k string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(k)
}

// npmEnv reads an npm_config_ variable in either case, as npm does.
func (env RegistryEnv) npmEnv(key string) string {
	if v := env.getenv("npm_config_" + key); v != "" {
		return v
	}
	return env.getenv("NPM_CONFIG_" + strings.ToUpper(key))
}

// npmFiles lists the npmrc files npm reads, most important first, and
// npm's own install directory ("" if npm is not found).
func (env RegistryEnv) npmFiles() (files []string, npmDir string) {
	if env.Workspace != "" {
		files = append(files, filepath.Join(env.Workspace, ".npmrc"))
	}
	if u := env.npmEnv("userconfig"); u != "" {
		files = append(files, u)
	} else if env.Home != "" {
		files = append(files, filepath.Join(env.Home, ".npmrc"))
	}
	prefix := env.npmEnv("prefix")
	if env.LookPath != nil {
		if p, err := env.LookPath("npm"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				// .../lib/node_modules/npm/bin/npm-cli.js
				npmDir = filepath.Dir(filepath.Dir(real))
			}
		}
		if prefix == "" {
			if node, err := env.LookPath("node"); err == nil {
				prefix = filepath.Dir(filepath.Dir(node))
			}
		}
	}
	if g := env.npmEnv("globalconfig"); g != "" {
		files = append(files, g)
	} else if prefix != "" {
		files = append(files, filepath.Join(prefix, "etc", "npmrc"))
	}
	if npmDir != "" {
		files = append(files, filepath.Join(npmDir, "npmrc"))
	}
	return files, npmDir
}

func npmRegistries(env RegistryEnv) []Registry {
	var out []Registry
	def := env.npmEnv("registry")
	defFrom := "npm registry (npm_config_registry)"
	files, npmDir := env.npmFiles()
	for _, f := range files {
		data, ok := env.readTrusted(f)
		if !ok {
			continue
		}
		d, scoped := npmrcRegistries(data, env.getenv)
		if def == "" && d != "" {
			def, defFrom = d, "npm registry ("+f+")"
		}
		for _, s := range scoped {
			out = append(out, Registry{Host: s, From: "npm scoped registry (" + f + ")"})
		}
	}
	if def == "" && npmDir != "" {
		// No configuration names it: npm's built-in default, asked once
		// per npm installation. npm runs on the host, so it and node
		// must be out of the sandbox's reach, and it is kept from every
		// npmrc but its own built-in one (checked above): the user's
		// and global ones are given as files that cannot exist (npm
		// refuses the same file for both), the project one would be
		// /.npmrc.
		cli := filepath.Join(npmDir, "bin", "npm-cli.js")
		var node string
		if env.LookPath != nil {
			node, _ = env.LookPath("node")
		}
		if node != "" && env.trusted(node) && env.trusted(cli) && env.trusted("/.npmrc") {
			if v := env.askCached("npm", []string{filepath.Join(npmDir, "package.json"), node}, func(ctx context.Context, scratch string) ([]string, error) {
				cmd := exec.CommandContext(ctx, node, cli, "config", "get", "registry")
				cmd.Dir = "/"
				// npm keeps a debug log of every run in its cache: the
				// cache and the logs go to the scratch home, and no log
				// is kept.
				cmd.Env = append(hostToolEnv(node, scratch), "npm_config_userconfig=/dev/null", "npm_config_globalconfig=/dev/null/npmrc",
					"NPM_CONFIG_USERCONFIG=/dev/null", "NPM_CONFIG_GLOBALCONFIG=/dev/null/npmrc", "npm_config_update_notifier=false",
					"npm_config_cache="+filepath.Join(scratch, "npm-cache"), "npm_config_logs_dir="+filepath.Join(scratch, "npm-logs"),
					"npm_config_logs_max=0")
				out, err := cmd.Output()
				if err != nil {
					return nil, fmt.Errorf("npm config get registry: %w", err)
				}
				return []string{strings.TrimSpace(string(out))}, nil
			}); len(v) > 0 {
				def, defFrom = v[0], "npm's default registry"
			}
		}
	}
	if def != "" {
		out = append([]Registry{{Host: def, From: defFrom}}, out...)
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if scope, ok := npmScopedEnv(k); ok && v != "" {
			out = append(out, Registry{Host: v, From: "npm scoped registry (npm_config_" + scope + ":registry)"})
		}
	}
	return out
}

// npmScopedEnv says whether the variable name sets a scope's registry as
// npm reads it (npm_config_@scope:registry, the prefix in either case)
// and returns @scope.
func npmScopedEnv(name string) (string, bool) {
	if len(name) < len("npm_config_") || !strings.EqualFold(name[:len("npm_config_")], "npm_config_") {
		return "", false
	}
	k := strings.ToLower(name[len("npm_config_"):])
	scope, ok := strings.CutSuffix(k, ":registry")
	if !ok || len(scope) < 2 || scope[0] != '@' {
		return "", false
	}
	return scope, true
}

// HiddenNpmUserconfig returns npm's user configuration file when the
// environment does not name one and the sandbox cannot read it
// (RegistryEnv.Hidden), "" otherwise.
func HiddenNpmUserconfig(env RegistryEnv) string {
	if env.Hidden == nil || env.Home == "" || env.npmEnv("userconfig") != "" {
		return ""
	}
	if f := filepath.Join(env.Home, ".npmrc"); env.Hidden(f) {
		return f
	}
	return ""
}

// pipConfigValues reads index-url and extra-index-url from a pip.conf or
// uv.toml-like file; continuation lines belong to the key above.
func pipConfigValues(data []byte) []string {
	var out []string
	inValue := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			inValue = false
			continue
		}
		if inValue && (raw[0] == ' ' || raw[0] == '\t') {
			out = append(out, strings.Fields(line)...)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		inValue = false
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "index-url", "extra-index-url", "index_url", "extra_index_url", "url", "default-index", "find-links":
			v = strings.Trim(strings.TrimSpace(v), `"'[],`)
			for _, f := range strings.Fields(strings.NewReplacer(",", " ", `"`, " ").Replace(v)) {
				out = append(out, f)
			}
			inValue = true
		}
	}
	return out
}

func pipIndexes(env RegistryEnv) []Registry {
	var out []Registry
	for _, k := range []string{"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX"} {
		for _, v := range strings.Fields(env.getenv(k)) {
			if _, u, ok := strings.Cut(v, "="); ok && !strings.Contains(v[:strings.Index(v, "=")], "/") {
				v = u // UV_INDEX accepts name=url
			}
			out = append(out, Registry{Host: v, From: k})
		}
	}
	var files []string
	if f := env.getenv("PIP_CONFIG_FILE"); f != "" {
		files = append(files, f)
	}
	files = append(files, "/etc/pip.conf", "/etc/xdg/pip/pip.conf")
	cfg := env.getenv("XDG_CONFIG_HOME")
	if cfg == "" && env.Home != "" {
		cfg = filepath.Join(env.Home, ".config")
	}
	if cfg != "" {
		files = append(files, filepath.Join(cfg, "pip", "pip.conf"), filepath.Join(cfg, "uv", "uv.toml"))
	}
	if env.Home != "" {
		files = append(files, filepath.Join(env.Home, ".pip", "pip.conf"))
	}
	if v := env.getenv("VIRTUAL_ENV"); v != "" {
		files = append(files, filepath.Join(v, "pip.conf"))
	}
	if f := env.getenv("UV_CONFIG_FILE"); f != "" {
		files = append(files, f)
	}
	files = append(files, "/etc/uv/uv.toml")
	if env.Workspace != "" {
		files = append(files, filepath.Join(env.Workspace, "uv.toml"))
	}
	configured := len(out) > 0
	for _, f := range files {
		data, ok := env.readTrusted(f)
		if !ok {
			continue
		}
		for _, v := range pipConfigValues(data) {
			out = append(out, Registry{Host: v, From: "pip/uv index (" + f + ")"})
			configured = true
		}
	}
	if !configured && env.LookPath != nil {
		// pip's default index and the host its files come from are
		// known only to pip: ask the python that has it, once — only a
		// python out of the sandbox's reach, in isolated mode (no
		// current directory, user site or PYTHON* variables on its
		// path): its answer depends on no configuration file.
		if py, err := env.LookPath("python3"); err == nil && env.trusted(py) {
			key := []string{py}
			if real, err := filepath.EvalSymlinks(py); err == nil {
				key = append(key, real)
			}
			for _, v := range env.askCached("pip", key, func(ctx context.Context, scratch string) ([]string, error) {
				// -B: no bytecode written beside pip's sources.
				cmd := exec.CommandContext(ctx, py, "-I", "-B", "-c",
					"from pip._internal.models.index import PyPI as p; print(p.pypi_url); print(p.file_storage_domain)")
				cmd.Dir = "/"
				cmd.Env = hostToolEnv(py, scratch)
				out, err := cmd.Output()
				if err != nil {
					return nil, fmt.Errorf("ask pip for its default index: %w", err)
				}
				return strings.Fields(string(out)), nil
			}) {
				out = append(out, Registry{Host: v, From: "pip's default index"})
			}
		}
	}
	return out
}

// goEnvFile reads KEY=VALUE lines (a go/env or go.env file); a file the
// sandbox could write reads as empty.
func (env RegistryEnv) goEnvFile(path string) map[string]string {
	data, ok := env.readTrusted(path)
	if !ok {
		return nil
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func goProxies(env RegistryEnv) []Registry {
	// The go command's order: the environment, the user's go/env file,
	// then $GOROOT/go.env.
	layers := []struct {
		vals func(string) string
		from string
	}{{env.getenv, "environment"}}
	envFile := env.getenv("GOENV")
	if envFile == "" {
		cfg := env.getenv("XDG_CONFIG_HOME")
		if cfg == "" && env.Home != "" {
			cfg = filepath.Join(env.Home, ".config")
		}
		if cfg != "" {
			envFile = filepath.Join(cfg, "go", "env")
		}
	}
	if envFile != "" && envFile != "off" {
		m := env.goEnvFile(envFile)
		layers = append(layers, struct {
			vals func(string) string
			from string
		}{func(k string) string { return m[k] }, envFile})
	}
	goroot := env.getenv("GOROOT")
	if goroot == "" && env.LookPath != nil {
		if p, err := env.LookPath("go"); err == nil && env.trusted(p) {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				goroot = filepath.Dir(filepath.Dir(real))
			}
		}
	}
	if goroot != "" {
		f := filepath.Join(goroot, "go.env")
		m := env.goEnvFile(f)
		layers = append(layers, struct {
			vals func(string) string
			from string
		}{func(k string) string { return m[k] }, f})
	}
	lookup := func(k string) (string, string) {
		for _, l := range layers {
			if v := l.vals(k); v != "" {
				return v, l.from
			}
		}
		return "", ""
	}
	var out []Registry
	if v, from := lookup("GOPROXY"); v != "" {
		for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
			if p = strings.TrimSpace(p); p != "direct" && p != "off" && p != "" {
				out = append(out, Registry{Host: p, From: "GOPROXY (" + from + ")"})
			}
		}
	}
	if v, from := lookup("GOSUMDB"); v != "" && v != "off" {
		// "name", "name+key" or "name+key url".
		f := strings.Fields(v)
		host := strings.SplitN(f[0], "+", 2)[0]
		if len(f) > 1 {
			host = f[1]
		}
		out = append(out, Registry{Host: host, From: "GOSUMDB (" + from + ")"})
	}
	return out
}

// askCache is the file that keeps the answers of asked package managers.
type askCache map[string]askEntry

type askEntry struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// askCached returns what ask answers, from the cache when the stamp of
// the key files (paths, sizes, modification times) is unchanged. ask gets
// a fresh, empty scratch folder to use as the tool's home and cache; it
// is removed, with whatever the tool left there, when ask returns.
func (env RegistryEnv) askCached(tool string, keyFiles []string, ask func(ctx context.Context, scratch string) ([]string, error)) []string {
	if env.CacheDir == "" {
		return nil
	}
	var stamp strings.Builder
	for _, f := range keyFiles {
		if !env.trusted(f) {
			return nil
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil
		}
		fmt.Fprintf(&stamp, "%s:%d:%d;", f, st.Size(), st.ModTime().UnixNano())
	}
	path := filepath.Join(env.CacheDir, "registries.json")
	// A cache the sandbox could write is neither read nor written: the
	// manager is asked afresh.
	real, keep := env.trustedPath(path)
	cache := askCache{}
	if keep {
		if data, ok := readRegular(real); ok {
			_ = json.Unmarshal(data, &cache)
		}
	}
	if e, ok := cache[tool]; ok && e.Key == stamp.String() {
		return e.Values
	}
	timeout := env.AskTimeout
	if timeout <= 0 {
		timeout = DefaultAskTimeout
	}
	scratch, err := os.MkdirTemp(env.ScratchDir, "sbshim-ask-")
	if err != nil {
		return nil // not cached: nothing was asked
	}
	defer os.RemoveAll(scratch)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	vals, err := ask(ctx, scratch)
	if err != nil && ctx.Err() != nil {
		// Out of time: a busy machine, not an answer. Not cached, so
		// that the next session asks again.
		if env.Warn != nil {
			env.Warn(fmt.Sprintf("%s did not name its default registry within %v; it is not allowed in this session", tool, timeout))
		}
		return nil
	}
	if err != nil {
		vals = nil // cached too: a manager that cannot answer is not asked again until it changes
	}
	if !keep {
		return vals
	}
	cache[tool] = askEntry{Key: stamp.String(), Values: vals}
	if data, err := json.MarshalIndent(cache, "", "  "); err == nil && os.MkdirAll(env.CacheDir, 0o700) == nil {
		tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, data, 0o600) == nil {
			_ = os.Rename(tmp, path)
		}
	}
	return vals
}

// trusted says whether the sandbox can neither write path nor any of its
// parent directories, both as named and with symbolic links resolved (as
// far as it exists). A relative path is not trusted.
func (env RegistryEnv) trusted(path string) bool {
	_, ok := env.trustedPath(path)
	return ok
}

// trustedPath is trusted, and returns path with its symbolic links
// resolved: the name to open, since no link on it can be changed.
func (env RegistryEnv) trustedPath(path string) (string, bool) {
	if env.Writable == nil || !filepath.IsAbs(path) {
		return "", false
	}
	path = filepath.Clean(path)
	if env.writableChain(path) {
		return "", false
	}
	real, err := resolveExisting(path)
	if err != nil {
		return "", false
	}
	if real != path && env.writableChain(real) {
		return "", false
	}
	return real, true
}

// writableChain says whether path or one of its parents is Writable.
func (env RegistryEnv) writableChain(path string) bool {
	for {
		if env.Writable(path) {
			return true
		}
		dir := filepath.Dir(path)
		if dir == path {
			return false
		}
		path = dir
	}
}

// resolveExisting resolves the symbolic links of the longest existing
// prefix of path and appends the rest.
func resolveExisting(path string) (string, error) {
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		dir := filepath.Dir(path)
		if dir == path {
			return "", err
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = dir
	}
}

// readTrusted reads a regular file the sandbox cannot write (see
// trusted); ok is false for anything else.
func (env RegistryEnv) readTrusted(path string) ([]byte, bool) {
	real, ok := env.trustedPath(path)
	if !ok {
		return nil, false
	}
	return readRegular(real)
}

// readRegular reads real, a path trustedPath returned, if it is a regular
// file.
func readRegular(real string) ([]byte, bool) {
	// A dangling link left by resolveExisting could be made to point
	// somewhere else later: only a regular file is read.
	if st, err := os.Lstat(real); err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, false
	}
	return data, true
}

// hostToolEnv is the whole environment of a package manager that sbshim
// asks on the host, outside the sandbox: nothing of sbshim's own
// environment, which is the server's (a client config's "env" ends up
// there), may steer it — NODE_OPTIONS, LD_PRELOAD, PYTHONSTARTUP and the
// like would run code outside every layer. Its home is home, a scratch
// folder removed after the question: whatever the tool writes there (npm
// its cache and logs) leaves nothing behind. (A fixed home such as
// /nonexistent is created by a tool running as root.)
func hostToolEnv(prog, home string) []string {
	return []string{"PATH=" + filepath.Dir(prog) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "TMPDIR=" + home, "LANG=C.UTF-8"}
}
