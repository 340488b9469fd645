package wrap

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// envCall finds the variables sbshim's own code reads by name.
var envCall = regexp.MustCompile(`(?:Getenv|getenv|LookupEnv|env)\("([A-Za-z_][A-Za-z0-9_]*)"\)|npmEnv\("([a-z_]+)"\)`)

// envList finds names in string lists such as the package registries'
// variables ("PIP_INDEX_URL", "UV_INDEX", ...).
var envList = regexp.MustCompile(`"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"`)

// TestEnvSbshimReadsIsCovered scans sbshim's sources for the environment
// variables it reads for itself: each must make a project's entry that
// sets it suspicious, or a project could steer sbshim through its env.
func TestEnvSbshimReadsIsCovered(t *testing.T) {
	root := filepath.Join("..", "..")
	found := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, string(filepath.Separator)+"wrap"+string(filepath.Separator)) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envCall.FindAllStringSubmatch(string(src), -1) {
			if m[1] != "" {
				found[m[1]] = path
			} else {
				found["npm_config_"+m[2]] = path
			}
		}
		if strings.Contains(string(src), "Getenv") {
			for _, m := range envList.FindAllStringSubmatch(string(src), -1) {
				found[m[1]] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 5 {
		t.Fatalf("found only %v: the scan is broken", found)
	}
	// The terminal filter reads the locale to learn whether the user's
	// terminal decodes UTF-8. Either answer is safe: in 8-bit mode bytes
	// 0x80–0x9F are dropped everywhere, so no C1 control can be formed
	// in UTF-8 either; in UTF-8 mode a raw C1 byte is invalid and
	// replaced. A project may set the locale.
	harmless := map[string]bool{"LC_ALL": true, "LC_CTYPE": true, "LANG": true}
	for name, path := range found {
		if !sbshimReadsEnv(name) && !harmless[name] {
			t.Errorf("%s reads %s, which a project's entry may set without being suspicious", path, name)
		}
	}
}

func TestSbshimReadsEnv(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"HOME", true}, {"home", true}, {"PATH", true}, {"Path", true}, {"XDG_CONFIG_HOME", true},
		{"XDG_STATE_HOME", true}, {"CLAUDE_CONFIG_DIR", true}, {"CODEX_HOME", true}, {"GEMINI_CLI_HOME", true},
		{"NODE_OPTIONS", true}, {"npm_config_registry", true}, {"NPM_CONFIG_USERCONFIG", true},
		{"PIP_INDEX_URL", true}, {"UV_DEFAULT_INDEX", true}, {"GOPROXY", true}, {"GODEBUG", true},
		{"LD_PRELOAD", true}, {"HTTPS_PROXY", true}, {"SSL_CERT_FILE", true}, {"NODE_EXTRA_CA_CERTS", true},
		{"VIRTUAL_ENV", true}, {"TMPDIR", true}, {"SBSHIM_X", true},
		{"NODE_ENV", false}, {"API_KEY", false}, {"GITHUB_TOKEN", false}, {"PYTHONUNBUFFERED", false},
		{"DEBUG", false}, {"LOG_LEVEL", false}, {"GOOGLE_API_KEY", false}, {"PERPLEXITY_API_KEY", false},
	} {
		if got := sbshimReadsEnv(c.name); got != c.want {
			t.Errorf("sbshimReadsEnv(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzParseRunFlags: whatever the args, an entry counts as wrapped only
// if sbshim's flags end at the first "--" and hold no widening flag.
func FuzzParseRunFlags(f *testing.F) {
	f.Add("--name\x00x.4c3b4937\x00--\x00node")
	f.Add("--name\x00--\x00--\x00node")
	f.Add("-net=host\x00--\x00x")
	f.Add("--strict\x00--profile\x00read-only\x00--\x00x")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o := WrapOptions{Executable: "/usr/local/bin/sbshim", Project: "/home/me/proj"}
		e := &entry{name: "s", obj: &node{kind: kindObject}}
		flags, end, why := parseRunFlags(args)
		if why != "" {
			return
		}
		if args[end] != "--" || end+1 >= len(args) {
			t.Fatalf("%q: end %d is not a \"--\" before a command", args, end)
		}
		for _, fl := range flags {
			r, ok := runFlagRules[fl.name]
			if !ok {
				t.Fatalf("%q: unknown flag %q accepted", args, fl.name)
			}
			if fl.name == "net" && r.widens(fl.value, o, e) == "" && fl.value != "none" && fl.value != "proxy" {
				t.Fatalf("%q: --net %q passes", args, fl.value)
			}
			for _, bad := range []string{"allow-write", "allow-net", "allow-unix-socket", "env-pass", "env-set", "audit-log", "pty", "max-line"} {
				if fl.name == bad && r.widens(fl.value, o, e) == "" {
					t.Fatalf("%q: --%s passes", args, bad)
				}
			}
		}
	})
}
