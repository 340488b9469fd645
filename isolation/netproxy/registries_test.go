package netproxy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// under reports whether path is root or lies under it.
func under(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// writableUnder is a Writable predicate for the trees in roots, and for
// the exact paths in files.
func writableUnder(roots []string, files ...string) func(string) bool {
	return func(p string) bool {
		if slices.Contains(files, p) {
			return true
		}
		for _, r := range roots {
			if under(p, r) {
				return true
			}
		}
		return false
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hosts(rs []Registry) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Host)
	}
	return out
}

func TestRegistriesTrust(t *testing.T) {
	const uvTOML = "[[index]]\nurl = \"https://uv.example.com/simple\"\n"
	const pipConf = "[global]\nindex-url = https://pip.example.com/simple\n"
	const npmrc = "registry=https://npm.example.com/\n"
	tests := []struct {
		name string
		// setup writes files under root (workspace ws, home, venv) and
		// returns the extra environment and the writable trees/files.
		setup    func(t *testing.T, ws, home, venv string) (env map[string]string, roots, files []string)
		nilWrite bool
		want     []string
		notWant  []string
	}{
		{name: "uv.toml in a writable workspace is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(ws, "uv.toml"), uvTOML)
				return nil, []string{ws}, nil
			}, notWant: []string{"uv.example.com:443"}},
		{name: "uv.toml in a read-only workspace is used",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(ws, "uv.toml"), uvTOML)
				return nil, nil, nil
			}, want: []string{"uv.example.com:443"}},
		{name: "pip.conf in a writable VIRTUAL_ENV is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(venv, "pip.conf"), pipConf)
				return map[string]string{"VIRTUAL_ENV": venv}, []string{venv}, nil
			}, notWant: []string{"pip.example.com:443"}},
		{name: "pip.conf in a read-only VIRTUAL_ENV is used",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(venv, "pip.conf"), pipConf)
				return map[string]string{"VIRTUAL_ENV": venv}, []string{ws}, nil
			}, want: []string{"pip.example.com:443"}},
		{name: "project .npmrc in a writable workspace is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(ws, ".npmrc"), npmrc)
				return nil, []string{ws}, nil
			}, notWant: []string{"npm.example.com:443"}},
		{name: "project .npmrc in a read-only workspace is used",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(ws, ".npmrc"), npmrc)
				return nil, nil, nil
			}, want: []string{"npm.example.com:443"}},
		{name: "a read-only file in a writable directory is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(home, ".npmrc"), npmrc)
				return nil, nil, []string{home}
			}, notWant: []string{"npm.example.com:443"}},
		{name: "a writable file alone is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				f := filepath.Join(home, ".npmrc")
				writeFile(t, f, npmrc)
				return nil, nil, []string{f}
			}, notWant: []string{"npm.example.com:443"}},
		{name: "a read-only link to a writable file is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(ws, "npmrc"), npmrc)
				if err := os.Symlink(filepath.Join(ws, "npmrc"), filepath.Join(home, ".npmrc")); err != nil {
					t.Fatal(err)
				}
				return nil, []string{ws}, nil
			}, notWant: []string{"npm.example.com:443"}},
		{name: "a user config named by the environment is checked too",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				f := filepath.Join(ws, "my.npmrc")
				writeFile(t, f, npmrc)
				return map[string]string{"npm_config_userconfig": f, "PIP_CONFIG_FILE": "relative/pip.conf"}, []string{ws}, nil
			}, notWant: []string{"npm.example.com:443"}},
		{name: "GOENV in a writable tree is ignored",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				f := filepath.Join(ws, "go.env")
				writeFile(t, f, "GOPROXY=https://goproxy.example.com\n")
				return map[string]string{"GOENV": f}, []string{ws}, nil
			}, notWant: []string{"goproxy.example.com:443"}},
		{name: "GOENV in a read-only tree is used",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				f := filepath.Join(home, "go.env")
				writeFile(t, f, "GOPROXY=https://goproxy.example.com\n")
				return map[string]string{"GOENV": f}, []string{ws}, nil
			}, want: []string{"goproxy.example.com:443"}},
		{name: "addresses and localhost from a trusted file are allowed exactly; metadata and wildcards are dropped",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(home, ".config", "uv", "uv.toml"), strings.Join([]string{
					`[[index]]`, `url = "http://169.254.169.254/latest"`,
					`[[index]]`, `url = "http://127.0.0.1:8080/"`,
					`[[index]]`, `url = "http://[::1]:3128/"`,
					`[[index]]`, `url = "https://[fd00::1]/"`,
					`[[index]]`, `url = "http://[::ffff:127.0.0.1]/"`,
					`[[index]]`, `url = "http://10.0.0.1:3141/"`,
					`[[index]]`, `url = "http://localhost:4873/"`,
					`[[index]]`, `url = "http://LocalHost./"`,
					`[[index]]`, `url = "http://x.localhost/"`,
					`[[index]]`, `url = "https://*.example.com/"`,
					`[[index]]`, `url = "https://kept.example.com/simple"`,
				}, "\n")+"\n")
				writeFile(t, filepath.Join(home, ".npmrc"), "registry=http://127.0.0.1:4873/\n@s:registry=https://scoped.example.com:8443/\n")
				return nil, []string{ws}, nil
			}, want: []string{"kept.example.com:443", "scoped.example.com:8443", "127.0.0.1:8080", "[::1]:3128",
				"[fd00::1]:443", "127.0.0.1:80", "10.0.0.1:3141", "localhost:4873", "127.0.0.1:4873", "[::1]:4873"},
			notWant: []string{"169.254.169.254:80", "x.localhost:80"}},
		{name: "addresses from the environment are allowed exactly; metadata is dropped",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				return map[string]string{
					"PIP_INDEX_URL":       "http://169.254.169.254/",
					"PIP_EXTRA_INDEX_URL": "http://localhost:3141/ https://extra.example.com/",
					"UV_INDEX":            "a=http://[::1]:8080/ b=https://named.example.com/",
					"npm_config_registry": "http://127.0.0.1:4873/",
					"GOPROXY":             "http://192.168.1.1:3000,https://goproxy.example.com,direct",
					"GOSUMDB":             "sum.example.com+key http://127.0.0.2",
				}, nil, nil
			}, want: []string{"extra.example.com:443", "named.example.com:443", "goproxy.example.com:443",
				"localhost:3141", "127.0.0.1:3141", "[::1]:3141", "[::1]:8080", "127.0.0.1:4873", "192.168.1.1:3000", "127.0.0.2:80"},
			notWant: []string{"169.254.169.254:80"}},
		{name: "no Writable predicate reads no file",
			setup: func(t *testing.T, ws, home, venv string) (map[string]string, []string, []string) {
				writeFile(t, filepath.Join(home, ".npmrc"), npmrc)
				return map[string]string{"PIP_INDEX_URL": "https://env.example.com/"}, nil, nil
			}, nilWrite: true, want: []string{"env.example.com:443"}, notWant: []string{"npm.example.com:443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			ws, home, venv := filepath.Join(root, "ws"), filepath.Join(root, "home"), filepath.Join(root, "venv")
			for _, d := range []string{ws, home, venv} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			vars, roots, files := tt.setup(t, ws, home, venv)
			env := RegistryEnv{
				Getenv: func(k string) string {
					if v, ok := vars[k]; ok {
						return v
					}
					switch k {
					case "XDG_CONFIG_HOME":
						return filepath.Join(home, ".config")
					case "GOENV":
						return "off"
					}
					return ""
				},
				Home: home, Workspace: ws,
			}
			if !tt.nilWrite {
				env.Writable = writableUnder(roots, files...)
			}
			got := hosts(Registries(env))
			for _, h := range got {
				r, err := ParseRule("", h)
				if err != nil || r.Port == 0 || r.Wildcard || r.Name != "localhost" && strings.Contains(r.Name, "localhost") ||
					r.Addr.IsValid() && !slices.Contains([]string{"", "loopback", "private"}, SpecialAddr(r.Addr)) {
					t.Errorf("discovered %q, which is not one host or address at one port", h)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("want %s in %v", w, got)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(got, w) {
					t.Errorf("%s must not be discovered: %v", w, got)
				}
			}
		})
	}
}

// TestRegistryHosts: a registry named by host is allowed by name (the
// rebinding guard still applies); one configured by address — a mirror
// on loopback or in the private network — is allowed as exactly that
// address and port; metadata, link-local, shared, unspecified and
// embedded addresses, wildcards and other schemes give nothing.
func TestRegistryHosts(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want []string
	}{
		{"https://pkgs.example.com/simple", []string{"pkgs.example.com:443"}},
		{"http://pkgs.example.com:8080/x", []string{"pkgs.example.com:8080"}},
		{"pkgs.example.com", []string{"pkgs.example.com:443"}},
		{"http://127.0.0.1:8080", []string{"127.0.0.1:8080"}},
		{"http://user:pw@127.0.0.1:4873/", []string{"127.0.0.1:4873"}},
		{"http://10.1.2.3/", []string{"10.1.2.3:80"}},
		{"http://[::1]/", []string{"[::1]:80"}},
		{"[::1]:443", []string{"[::1]:443"}},
		{"http://localhost:4873/", []string{"localhost:4873", "127.0.0.1:4873", "[::1]:4873"}},
		{"http://LOCALHOST:80/", []string{"localhost:80", "127.0.0.1:80", "[::1]:80"}},
		{"http://169.254.169.254/", nil},
		{"169.254.169.254", nil},
		{"http://100.100.100.200/", nil},
		{"http://0.0.0.0:80/", nil},
		{"http://[::]/", nil},
		{"http://224.0.0.1/", nil},
		{"http://[fe80::1]/", nil},
		{"http://[::ffff:169.254.169.254]/", nil},
		{"http://[::ffff:127.0.0.1]:80/", []string{"127.0.0.1:80"}},
		{"http://[64:ff9b::7f00:1]/", nil},
		{"http://a.localhost/", nil},
		{"https://*.example.com/", nil},
		{"ftp://pkgs.example.com/", nil},
		{"", nil},
	} {
		if got := registryHosts(tt.raw); !slices.Equal(got, tt.want) {
			t.Errorf("registryHosts(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestAskCachedTrust(t *testing.T) {
	tests := []struct {
		name          string
		cacheWritable bool
		keyWritable   bool
		wantAsked     bool
		wantWritten   bool
		want          string
	}{
		{"read-only cache is read", false, false, false, false, "cached.example.com"},
		{"writable cache is not read nor written", true, false, true, false, "asked.example.com"},
		{"writable key file: the tool is not asked", false, true, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cacheDir, key := filepath.Join(root, "cache"), filepath.Join(root, "tool", "package.json")
			writeFile(t, key, "{}")
			st, _ := os.Stat(key)
			stamp := key + ":" + "2:" + strconv.FormatInt(st.ModTime().UnixNano(), 10) + ";"
			seed, _ := json.Marshal(askCache{"tool": {Key: stamp, Values: []string{"cached.example.com"}}})
			writeFile(t, filepath.Join(cacheDir, "registries.json"), string(seed))
			var roots []string
			if tt.cacheWritable {
				roots = append(roots, cacheDir)
			}
			if tt.keyWritable {
				roots = append(roots, filepath.Dir(key))
			}
			env := RegistryEnv{CacheDir: cacheDir, Writable: writableUnder(roots)}
			asked := false
			got := env.askCached("tool", []string{key}, func(context.Context, string) ([]string, error) {
				asked = true
				return []string{"asked.example.com"}, nil
			})
			if asked != tt.wantAsked {
				t.Errorf("asked = %v, want %v", asked, tt.wantAsked)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %v, want %q", got, tt.want)
			}
			data, _ := os.ReadFile(filepath.Join(cacheDir, "registries.json"))
			if written := string(data) != string(seed); written != tt.wantWritten {
				t.Errorf("cache written = %v, want %v: %s", written, tt.wantWritten, data)
			}
		})
	}
}

// A package manager that does not answer in time is not taken for one
// that cannot: the silence is not cached, the user is told, and the next
// session asks again. One that answers with an error is not asked again.
func TestAskCachedTimeout(t *testing.T) {
	root := t.TempDir()
	key := filepath.Join(root, "tool", "package.json")
	writeFile(t, key, "{}")
	var warned []string
	env := RegistryEnv{CacheDir: filepath.Join(root, "cache"), Writable: writableUnder(nil),
		AskTimeout: 50 * time.Millisecond, Warn: func(m string) { warned = append(warned, m) }}
	asks := 0
	slow := func(ctx context.Context, _ string) ([]string, error) {
		asks++
		<-ctx.Done()
		return nil, ctx.Err()
	}
	for i := range 2 {
		if got := env.askCached("tool", []string{key}, slow); got != nil {
			t.Fatalf("ask %d: got %v from a manager that did not answer", i, got)
		}
	}
	if asks != 2 {
		t.Errorf("asked %d times, want 2: a timeout must not be cached", asks)
	}
	if len(warned) != 2 || !strings.Contains(warned[0], "tool did not name its default registry within 50ms") {
		t.Errorf("warnings %q", warned)
	}
	failing := func(context.Context, string) ([]string, error) {
		asks++
		return nil, errors.New("exit status 1")
	}
	asks, warned = 0, nil
	for range 2 {
		env.askCached("tool", []string{key}, failing)
	}
	if asks != 1 || len(warned) != 0 {
		t.Errorf("a manager that failed was asked %d times (want 1) with warnings %q (want none)", asks, warned)
	}
}

func itoa(n int64) string {
	return strings.TrimSpace(strings.Replace(string(mustJSON(n)), "\n", "", -1))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestAskedToolsGetNoneOfSbshimsEnvironment: the package manager sbshim
// asks on the host runs with an environment of its own, never sbshim's,
// which a client config sets for the server (NODE_OPTIONS would run code
// outside the sandbox).
func TestAskedToolsGetNoneOfSbshimsEnvironment(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	npmDir := filepath.Join(root, "lib", "node_modules", "npm")
	seen := filepath.Join(root, "seen-env")
	writeFile(t, filepath.Join(npmDir, "bin", "npm-cli.js"), "// npm\n")
	writeFile(t, filepath.Join(npmDir, "package.json"), `{"version":"0"}`)
	writeFile(t, filepath.Join(bin, "node"), "#!/bin/sh\nenv > '"+seen+"'\necho https://default.example.com/\n")
	if err := os.Chmod(filepath.Join(bin, "node"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(npmDir, "bin", "npm-cli.js"), filepath.Join(bin, "npm")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_OPTIONS", "--require=/tmp/evil.js")
	t.Setenv("LD_PRELOAD", "/tmp/evil.so")
	env := RegistryEnv{
		Getenv:   func(string) string { return "" },
		Writable: func(string) bool { return false },
		Home:     filepath.Join(root, "home"),
		CacheDir: filepath.Join(root, "cache"),
		LookPath: func(name string) (string, error) { return filepath.Join(bin, name), nil },
	}
	var hosts []string
	for _, r := range npmRegistries(env) {
		hosts = append(hosts, r.Host)
	}
	got, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("npm was not asked (registries %v): %v", hosts, err)
	}
	for _, bad := range []string{"NODE_OPTIONS", "LD_PRELOAD"} {
		if strings.Contains(string(got), bad+"=") {
			t.Fatalf("the package manager asked on the host got %s:\n%s", bad, got)
		}
	}
}
