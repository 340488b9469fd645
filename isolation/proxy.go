package isolation

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sbshim/sbshim/isolation/netproxy"

	"github.com/sbshim/sbshim/isolation/policy"
)

// ProxyLayer is the Layer of the Events the filtering proxy reports.
const ProxyLayer = "proxy"

// proxyEnvNames are set to the proxy's URL for the program: the generic
// variables in both cases (curl and git read only the lower-case
// http_proxy) and the settings of runtimes that do not read them.
func proxyEnvVars(port int, loopbackAllowed bool) map[string]string {
	httpURL := "http://127.0.0.1:" + strconv.Itoa(port)
	socksURL := "socks5h://127.0.0.1:" + strconv.Itoa(port)
	// The sandbox's own loopback is not the host's: a program talking to
	// a server it started itself goes direct. When the policy allows a
	// loopback address, it means the host's, reached through the proxy.
	noProxy := "localhost,127.0.0.1,::1"
	if loopbackAllowed {
		noProxy = ""
	}
	vars := map[string]string{
		"ALL_PROXY": socksURL, "all_proxy": socksURL,
		"NO_PROXY": noProxy, "no_proxy": noProxy,
		// npm and yarn have settings of their own.
		"npm_config_proxy": httpURL, "npm_config_https_proxy": httpURL, "npm_config_noproxy": noProxy,
		"YARN_HTTP_PROXY": httpURL, "YARN_HTTPS_PROXY": httpURL,
		// pip takes the generic variables too; PIP_PROXY also covers
		// its subprocesses' configuration.
		"PIP_PROXY": httpURL,
		// Node ≥ 22.21/24.5 lets fetch and http honour the variables
		// with this; older Node ignores it (see README).
		"NODE_USE_ENV_PROXY": "1",
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY"} {
		vars[k] = httpURL
		vars[strings.ToLower(k)] = httpURL
	}
	return vars
}

// withProxyEnv sets the proxy variables in env (NAME=VALUE, sorted).
func withProxyEnv(env []string, port int, pol *policy.Policy) []string {
	return withVars(env, proxyEnvVars(port, loopbackAllowed(pol.Network.Allow)))
}

// withVars returns env (NAME=VALUE) with vars set, replacing any value
// env had for them, sorted.
func withVars(env []string, vars map[string]string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, set := vars[k]
		return set
	})
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// loopbackAllowed says whether an allow entry names a loopback address or
// localhost.
func loopbackAllowed(allow []string) bool {
	for _, a := range allow {
		r, err := netproxy.ParseRule("", a)
		if err != nil {
			continue
		}
		if r.Addr.IsValid() && r.Addr.IsLoopback() || r.Name == "localhost" && !r.Wildcard {
			return true
		}
	}
	return false
}

// loopbackRegistries are the loopback addresses and ports of the package
// registries that allowPackageRegistries allows on the host's loopback
// (local mirrors): the sandbox reaches each at the same address of its
// own loopback, forwarded through the proxy, so that every client —
// also one that never uses a proxy for loopback, as Go's — gets there.
// Only the package managers' configuration is read: no package manager
// is asked (one that must be asked names its built-in default, never a
// loopback mirror).
//
// writable, when not nil, remembers pol.CanWrite's answers (see
// writableMemo).
func loopbackRegistries(pol *policy.Policy, env []string, writable writableMemo) []netip.AddrPort {
	if !pol.Network.AllowPackageRegistries {
		return nil
	}
	renv := registryEnv(pol, env, nil, writable)
	renv.CacheDir = ""
	var out []netip.AddrPort
	for _, r := range netproxy.Registries(renv) {
		if ap, ok := netproxy.LoopbackEntry(r.Host); ok && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}

// withRegistrySettings adds to env (NAME=VALUE, sorted) the registry
// settings of the user's that the sandbox cannot read where they are
// (netproxy.RegistrySettings: ~/.npmrc and the user's pip.conf are
// hidden), so that its package managers use the user's registries and
// mirrors. warn, if set, hears what could not be carried whole. writable,
// when not nil, remembers pol.CanWrite's answers (see writableMemo).
func withRegistrySettings(env []string, pol *policy.Policy, warn func(string), writable writableMemo) []string {
	renv := registryEnv(pol, env, nil, writable)
	renv.Hidden = func(path string) bool { _, ok := pol.CanRead(path); return !ok }
	vars, notes := netproxy.RegistrySettings(renv)
	if warn != nil {
		for _, n := range notes {
			warn(n)
		}
	}
	if u := netproxy.HiddenNpmUserconfig(renv); u != "" && pol.Vars.Cache != "" {
		// npm would still try the hidden file, and each try is a
		// blocked read: its user configuration is a private one.
		vars = append(vars, netproxy.Setting{Name: "npm_config_userconfig", Value: filepath.Join(pol.Vars.Cache, "npmrc"), From: u})
	}
	if len(vars) == 0 {
		return env
	}
	out := slices.Clone(env)
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	slices.Sort(out)
	return out
}

// proxyRules builds the proxy's rules from the policy: network.allow, the
// package registries when allowPackageRegistries is on (discovered from
// the package managers' configuration in env, the program's environment),
// and network.deny. Validation has checked every entry. warn, if set,
// hears of a package manager that did not answer in time.
func proxyRules(pol *policy.Policy, env []string, warn func(string)) *netproxy.Rules {
	allow := []netproxy.KeyedList{{Key: "network.allow", Entries: pol.Network.Allow}}
	if pol.Network.AllowPackageRegistries {
		var hosts []string
		for _, r := range netproxy.Registries(registryEnv(pol, env, warn, nil)) {
			hosts = append(hosts, r.Host)
		}
		allow = append(allow, netproxy.KeyedList{Key: "network.allowPackageRegistries", Entries: hosts})
	}
	rs, err := netproxy.NewRules(allow, []netproxy.KeyedList{{Key: "network.deny", Entries: pol.Network.Deny}})
	if err != nil {
		// Only a policy that skipped validation gets here: refuse all.
		return &netproxy.Rules{}
	}
	return rs
}

// registryEnv is what registry discovery reads of the host for pol, with
// env the program's environment. writable, when not nil, remembers
// pol.CanWrite's answers for the paths discovery asks about; nil asks the
// policy every time.
func registryEnv(pol *policy.Policy, env []string, warn func(string), writable writableMemo) netproxy.RegistryEnv {
	vals := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vals[k] = v
		}
	}
	// Answers of asked package managers live beside the per-server
	// caches, normally out of the sandbox's reach; discovery checks that
	// with Writable, as for every file it reads.
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "sbshim")
	}
	return netproxy.RegistryEnv{
		Getenv:  func(k string) string { return vals[k] },
		Environ: env,
		// A file the sandbox could write is not read: a program must not
		// add hosts to its own allow list.
		Writable:  writable.canWrite(pol),
		Home:      pol.Vars.Home,
		Workspace: pol.Vars.Workspace,
		CacheDir:  cacheDir,
		LookPath:  exec.LookPath,
		Warn:      warn,
	}
}

// refusalEvent turns a refusal of the proxy into an Event.
func refusalEvent(r netproxy.Refusal, pid int, exe string) Event {
	return Event{Time: r.Time, Kind: "net", Op: "connect", Target: r.Target(), PID: pid, Exe: exe,
		Rule: r.Reason, Layer: ProxyLayer}
}

// connectionEvent turns a connection the proxy made into an Event for
// Config.Connected.
func connectionEvent(c netproxy.Connection) Event {
	return Event{Time: c.Time, Kind: "net", Op: "connect", Target: c.Target(), Rule: c.Rule, Layer: ProxyLayer}
}

// writableMemo remembers, for the discoveries of one start, whether the
// policy lets the sandbox write a path: each file discovery reads is
// checked with all its parent directories, and the files of npm, pip and
// Go share most of them (the home, its .config). It lives only while the
// init's spec is built: the policy does not change meanwhile, and no
// process of the sandbox runs yet.
type writableMemo map[string]bool

// canWrite is the Writable of a RegistryEnv: pol.CanWrite, its answers
// remembered in m when m is not nil.
func (m writableMemo) canWrite(pol *policy.Policy) func(string) bool {
	return func(path string) bool {
		if w, ok := m[path]; ok {
			return w
		}
		_, w := pol.CanWrite(path)
		if m != nil {
			m[path] = w
		}
		return w
	}
}
