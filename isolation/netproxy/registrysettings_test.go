package netproxy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistrySettings: only the registry settings of files the sandbox
// cannot read cross into it, each as the variable its package manager
// reads, without user and password, never an auth setting; what the
// environment already says, or a readable or untrusted file says, is left
// alone.
func TestRegistrySettings(t *testing.T) {
	tests := []struct {
		name      string
		npmrc     string            // ~/.npmrc (hidden)
		pipConf   string            // ~/.config/pip/pip.conf (hidden)
		global    string            // a readable global npmrc (npm_config_globalconfig)
		env       map[string]string // the environment
		writable  bool              // the home is writable (untrusted)
		want      []string          // NAME=VALUE
		wantNotes int
	}{
		{name: "npm registry and scopes; tokens stay out",
			npmrc: "registry=http://127.0.0.1:4873/\n@corp:registry=https://npm.corp.example/\n" +
				"//127.0.0.1:4873/:_authToken=SECRET\n_auth=SECRET\n_password=SECRET\ncertfile=/k\nkeyfile=/k\nemail=me@x\n",
			want: []string{"npm_config_registry=http://127.0.0.1:4873/", "npm_config_@corp:registry=https://npm.corp.example/"}},
		{name: "user and password are removed, and said",
			npmrc:     "registry=https://me:pw@mirror.example/npm/\n",
			want:      []string{"npm_config_registry=https://mirror.example/npm/"},
			wantNotes: 1},
		{name: "${VAR} is expanded as npm does",
			npmrc: "registry=${MIRROR}/npm/\n", env: map[string]string{"MIRROR": "https://m.example"},
			want: []string{"npm_config_registry=https://m.example/npm/"}},
		{name: "the environment wins and is left alone",
			npmrc: "registry=https://file.example/\n@a:registry=https://a.example/\n",
			env:   map[string]string{"NPM_CONFIG_REGISTRY": "https://env.example/", "npm_config_@a:registry": "https://envscope.example/"}},
		{name: "a scope npm cannot read from a variable is said, not carried",
			npmrc: "@my_org:registry=https://o.example/\n", wantNotes: 1},
		{name: "a readable global npmrc is left to npm",
			global: "registry=https://global.example/\n"},
		{name: "an untrusted home gives nothing",
			npmrc: "registry=https://evil.example/\n", pipConf: "[global]\nindex-url = https://evil.example/simple\n", writable: true},
		{name: "pip index-url and extra-index-url, continuation lines, no password",
			pipConf: "[global]\nindex-url = https://u:p@pypi.mirror.example/simple\nextra-index-url =\n  https://a.example/simple\n  https://b.example/simple\ntrusted-host = 127.0.0.1:3141\n  a.example\ncert = /k\nclient-cert = /k\n",
			want: []string{"PIP_INDEX_URL=https://pypi.mirror.example/simple",
				"PIP_EXTRA_INDEX_URL=https://a.example/simple https://b.example/simple", "PIP_TRUSTED_HOST=127.0.0.1:3141 a.example"},
			wantNotes: 1},
		{name: "pip settings of other sections are not pip's index",
			pipConf: "[freeze]\nindex-url = https://no.example/\n"},
		{name: "PIP_INDEX_URL set is left alone",
			pipConf: "[install]\nindex_url = https://file.example/simple\n", env: map[string]string{"PIP_INDEX_URL": "https://env.example/simple"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			home := filepath.Join(root, "home")
			npmrc, pipConf, global := filepath.Join(home, ".npmrc"), filepath.Join(home, ".config", "pip", "pip.conf"), filepath.Join(root, "etc", "npmrc")
			if tt.npmrc != "" {
				writeFile(t, npmrc, tt.npmrc)
			}
			if tt.pipConf != "" {
				writeFile(t, pipConf, tt.pipConf)
			}
			vars := map[string]string{"XDG_CONFIG_HOME": filepath.Join(home, ".config"), "npm_config_globalconfig": global}
			if tt.global != "" {
				writeFile(t, global, tt.global)
			}
			var environ []string
			for k, v := range tt.env {
				vars[k] = v
				environ = append(environ, k+"="+v)
			}
			var roots []string
			if tt.writable {
				roots = []string{home}
			}
			env := RegistryEnv{
				Getenv:   func(k string) string { return vars[k] },
				Environ:  environ,
				Writable: writableUnder(roots),
				Hidden:   func(p string) bool { return p == npmrc || p == pipConf },
				Home:     home,
			}
			got, notes := RegistrySettings(env)
			var kv []string
			for _, s := range got {
				kv = append(kv, s.Name+"="+s.Value)
				if strings.Contains(s.Value, "SECRET") || strings.Contains(s.Value, "pw@") || strings.Contains(s.Value, "p@") {
					t.Errorf("a credential crossed: %s", s.Name)
				}
			}
			slices.Sort(kv)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(kv, want) {
				t.Errorf("settings %q, want %q", kv, want)
			}
			if len(notes) != tt.wantNotes {
				t.Errorf("notes %q, want %d", notes, tt.wantNotes)
			}
		})
	}
}

// TestNpmScopedEnvIsDiscovered: a scope's registry given as a variable,
// as RegistrySettings carries it, is allowed like one from a file.
func TestNpmScopedEnvIsDiscovered(t *testing.T) {
	env := RegistryEnv{Getenv: func(string) string { return "" },
		Environ: []string{"npm_config_@corp:registry=https://npm.corp.example/", "NPM_CONFIG_@UP:REGISTRY=http://127.0.0.1:4873/",
			"npm_config_@:registry=https://no.example/", "npm_config_registryx=https://no2.example/"}}
	got := hosts(Registries(env))
	want := []string{"npm.corp.example:443", "127.0.0.1:4873"}
	if !slices.Equal(got, want) {
		t.Errorf("discovered %q, want %q", got, want)
	}
}

// TestHiddenNpmUserconfig: npm's user config is replaced inside only when
// the environment names none and the sandbox cannot read ~/.npmrc.
func TestHiddenNpmUserconfig(t *testing.T) {
	home := "/home/u"
	hidden := func(p string) bool { return p == "/home/u/.npmrc" }
	for _, tt := range []struct {
		env    map[string]string
		hidden func(string) bool
		want   string
	}{
		{nil, hidden, "/home/u/.npmrc"},
		{map[string]string{"npm_config_userconfig": "/etc/u"}, hidden, ""},
		{map[string]string{"NPM_CONFIG_USERCONFIG": "/etc/u"}, hidden, ""},
		{nil, func(string) bool { return false }, ""},
		{nil, nil, ""},
	} {
		env := RegistryEnv{Getenv: func(k string) string { return tt.env[k] }, Hidden: tt.hidden, Home: home}
		if got := HiddenNpmUserconfig(env); got != tt.want {
			t.Errorf("env %v: %q, want %q", tt.env, got, tt.want)
		}
	}
}

// FuzzRegistryConfigParsers: the npmrc and pip.conf readers never panic,
// and what they return is only a registry key or an index key.
func FuzzRegistryConfigParsers(f *testing.F) {
	f.Add([]byte("registry=https://a/\n@s:registry=\"https://b/\"\n//a/:_authToken=x\n"))
	f.Add([]byte("[global]\nindex-url = https://a/\nextra-index-url =\n  https://b/\n\tc\n[install]\nindex_url: d\n"))
	f.Add([]byte("\t\n[\n=\n:\n  x\n@:registry=1\n${A}${\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kv := range npmrcRegistryKeys(data, func(string) string { return "" }) {
			if kv[0] != "registry" && !(strings.HasPrefix(kv[0], "@") && strings.HasSuffix(kv[0], ":registry")) {
				t.Fatalf("npmrc key %q", kv[0])
			}
		}
		for k := range pipConfKeys(data) {
			if k != "index-url" && k != "extra-index-url" && k != "trusted-host" {
				t.Fatalf("pip key %q", k)
			}
		}
		for _, line := range strings.Split(string(data), "\n") {
			if c, _ := stripUserinfo(line); strings.Contains(c, "@") && strings.Contains(strings.SplitN(strings.SplitN(c, "://", 2)[len(strings.SplitN(c, "://", 2))-1], "/", 2)[0], "@") {
				t.Fatalf("userinfo left in %q", c)
			}
		}
	})
}

// TestAskGetsAScratchHomeThatGoes: a package manager asked on the host
// gets a fresh, empty folder as its home, and nothing it writes there
// outlives the question.
func TestAskGetsAScratchHomeThatGoes(t *testing.T) {
	root := t.TempDir()
	key := filepath.Join(root, "tool", "package.json")
	writeFile(t, key, "{}")
	scratchDir := filepath.Join(root, "scratch")
	writeFile(t, filepath.Join(scratchDir, ".keep"), "")
	env := RegistryEnv{CacheDir: filepath.Join(root, "cache"), Writable: writableUnder(nil), ScratchDir: scratchDir}
	var home string
	env.askCached("tool", []string{key}, func(_ context.Context, scratch string) ([]string, error) {
		home = scratch
		if filepath.Dir(scratch) != scratchDir {
			t.Errorf("scratch %s is not in %s", scratch, scratchDir)
		}
		writeFile(t, filepath.Join(scratch, ".npm", "_logs", "debug-0.log"), "log")
		return []string{"https://a.example/"}, nil
	})
	if home == "" {
		t.Fatal("not asked")
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("the scratch home %s is still there: %v", home, err)
	}
	if env := hostToolEnv("/usr/bin/node", home); !slices.Contains(env, "HOME="+home) {
		t.Errorf("hostToolEnv %q does not make %s the home", env, home)
	}
}
