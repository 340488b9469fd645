package netproxy

import (
	"bufio"
	"bytes"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// Setting is one environment variable that carries a registry setting of
// the user's into the sandbox.
type Setting struct {
	Name, Value string
	From        string // the file it was read from
}

// RegistrySettings returns the variables that give a program in the
// sandbox the registries the user configured in files it cannot read
// itself (RegistryEnv.Hidden; ~/.npmrc and the user's pip.conf are
// secret files): npm's registry and @scope:registry as npm_config_*
// variables, pip's index-url, extra-index-url and trusted-host as
// PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and PIP_TRUSTED_HOST. Nothing else of those files crosses — no auth
// token, password, certificate or other setting — and a URL's user name
// and password are removed (notes say so). A setting the environment
// already gives is left alone, as is one the sandbox can read where it
// is. Only files discovery trusts are read, and no program is run.
//
// npm ranks its environment above a project .npmrc, so a carried setting
// also wins over the same key in the project's .npmrc.
func RegistrySettings(env RegistryEnv) (vars []Setting, notes []string) {
	if env.Hidden == nil {
		return nil, nil
	}
	npmVars, npmNotes := npmSettings(env)
	pipVars, pipNotes := pipSettings(env)
	return append(npmVars, pipVars...), append(npmNotes, pipNotes...)
}

// npmSettings carries registry and @scope:registry from hidden npmrc
// files, in npm's order (the first file that sets a key wins).
func npmSettings(env RegistryEnv) (vars []Setting, notes []string) {
	files, _ := env.npmFiles()
	seen := map[string]bool{}
	for _, f := range files {
		data, ok := env.readTrusted(f)
		if !ok {
			continue
		}
		for _, kv := range npmrcRegistryKeys(data, env.getenv) {
			if seen[kv[0]] {
				continue
			}
			seen[kv[0]] = true
			if !env.Hidden(f) || env.npmEnv(kv[0]) != "" {
				continue
			}
			// npm turns _ into - in the names of its variables: a
			// scope with _ cannot be carried by one.
			if strings.Contains(kv[0], "_") {
				notes = append(notes, "the npm setting "+kv[0]+" in "+f+" cannot be passed into the sandbox as a variable; set it in the environment")
				continue
			}
			v, stripped := stripUserinfo(kv[1])
			if v == "" {
				continue
			}
			if stripped {
				notes = append(notes, "the npm setting "+kv[0]+" in "+f+" names a user and password in its URL; the sandbox gets the URL without them")
			}
			vars = append(vars, Setting{Name: "npm_config_" + kv[0], Value: v, From: f})
		}
	}
	return vars, notes
}

// npmrcRegistryKeys returns the registry and @scope:registry keys of an
// npmrc (lower-cased, as npm reads them) with their values, ${VAR}
// expanded, in file order; a later line for a key replaces an earlier.
func npmrcRegistryKeys(data []byte, getenv func(string) string) [][2]string {
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "registry" && !(strings.HasPrefix(k, "@") && strings.HasSuffix(k, ":registry") && len(k) > len("@:registry")) {
			continue
		}
		v = expandVars(strings.Trim(strings.TrimSpace(v), `"'`), getenv)
		out = slices.DeleteFunc(out, func(kv [2]string) bool { return kv[0] == k })
		out = append(out, [2]string{k, v})
	}
	return out
}

// pipSettings carries index-url and extra-index-url from hidden pip.conf
// files, in pip's order (a later file wins).
func pipSettings(env RegistryEnv) (vars []Setting, notes []string) {
	files := []string{"/etc/xdg/pip/pip.conf", "/etc/pip.conf"}
	if env.Home != "" {
		files = append(files, filepath.Join(env.Home, ".pip", "pip.conf"))
	}
	cfg := env.getenv("XDG_CONFIG_HOME")
	if cfg == "" && env.Home != "" {
		cfg = filepath.Join(env.Home, ".config")
	}
	if cfg != "" {
		files = append(files, filepath.Join(cfg, "pip", "pip.conf"))
	}
	if v := env.getenv("VIRTUAL_ENV"); v != "" {
		files = append(files, filepath.Join(v, "pip.conf"))
	}
	if f := env.getenv("PIP_CONFIG_FILE"); f != "" {
		files = append(files, f)
	}
	type won struct{ value, file string }
	win := map[string]won{}
	for _, f := range files {
		data, ok := env.readTrusted(f)
		if !ok {
			continue
		}
		for k, v := range pipConfKeys(data) {
			win[k] = won{v, f}
		}
	}
	for _, k := range []string{"index-url", "extra-index-url", "trusted-host"} {
		w, ok := win[k]
		name := "PIP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if !ok || !env.Hidden(w.file) || env.getenv(name) != "" {
			continue
		}
		if k == "trusted-host" {
			// Host names (with an optional port) that pip may reach
			// over plain HTTP or without checking the certificate: a
			// mirror on loopback needs it.
			if hosts := strings.Fields(w.value); len(hosts) > 0 && !strings.ContainsAny(w.value, "@/") {
				vars = append(vars, Setting{Name: name, Value: strings.Join(hosts, " "), From: w.file})
			}
			continue
		}
		var urls []string
		for _, u := range strings.Fields(w.value) {
			clean, stripped := stripUserinfo(u)
			if stripped {
				notes = append(notes, "the pip setting "+k+" in "+w.file+" names a user and password in its URL; the sandbox gets the URL without them")
			}
			if clean != "" {
				urls = append(urls, clean)
			}
		}
		if len(urls) > 0 {
			vars = append(vars, Setting{Name: name, Value: strings.Join(urls, " "), From: w.file})
		}
	}
	return vars, notes
}

// pipConfKeys reads index-url, extra-index-url and trusted-host (also
// spelled with _)
// from the [global], [install] and [download] sections of a pip.conf, as
// pip does; a value may go on over indented continuation lines. A later
// line for a key replaces an earlier.
func pipConfKeys(data []byte) map[string]string {
	out := map[string]string{}
	section, key := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section, key = strings.ToLower(strings.Trim(line, "[] \t")), ""
			continue
		}
		if key != "" && (raw[0] == ' ' || raw[0] == '\t') {
			out[key] = strings.TrimSpace(out[key] + " " + line)
			continue
		}
		key = ""
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok || section != "global" && section != "install" && section != "download" {
			continue
		}
		k = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "_", "-")
		if k == "index-url" || k == "extra-index-url" || k == "trusted-host" {
			key = k
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// stripUserinfo removes the user name and password from a URL; stripped
// says whether there were any. Something that is not an absolute URL
// gives "".
func stripUserinfo(raw string) (clean string, stripped bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	if u.User == nil {
		return u.String(), false
	}
	u.User = nil
	return u.String(), true
}
