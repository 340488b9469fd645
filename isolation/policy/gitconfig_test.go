package policy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// gitConfigCases are config files and what git-config(1) makes of them,
// as "name=value" lines (a key without "=" is listed as its name alone).
var gitConfigCases = []struct {
	name, in string
	want     []string
	bad      bool
}{
	{"plain", "[core]\n\thooksPath = .husky/_\n", []string{"core.hookspath=.husky/_"}, false},
	{"same line", "[core] hooksPath=x", []string{"core.hookspath=x"}, false},
	{"subsection", "[includeIf \"gitdir:~/w/\"]\n path = ~/w.inc\n", []string{"includeif.gitdir:~/w/.path=~/w.inc"}, false},
	{"subsection escapes", "[a \"x\\\"y\\\\z\"]\nk=v", []string{"a.x\"y\\z.k=v"}, false},
	{"legacy subsection", "[Remote.Origin]\nURL=u", []string{"remote.origin.url=u"}, false},
	{"boolean", "[core]\nbare\nfilemode = false", []string{"core.bare", "core.filemode=false"}, false},
	{"quotes and comments", "[a]\nb = \" x ; y \" # c\nc = p;q\n", []string{"a.b= x ; y ", "a.c=p"}, false},
	{"inner spaces", "[a]\nb =  x   y  \n", []string{"a.b=x   y"}, false},
	{"escapes", "[a]\nb = x\\ty\\nz\\\\\\\"", []string{"a.b=x\ty\nz\\\""}, false},
	{"continuation", "[a]\nb = one \\\n two\n", []string{"a.b=one  two"}, false},
	{"crlf", "[a]\r\nb = c\r\n", []string{"a.b=c"}, false},
	{"bom", "\xef\xbb\xbf[a]\nb=c", []string{"a.b=c"}, false},
	{"comment lines", "# x\n; y\n[a] ; z\nb=c", []string{"a.b=c"}, false},
	{"empty value", "[a]\nb =\n", []string{"a.b="}, false},
	{"dash key", "[a]\nb-c = d", []string{"a.b-c=d"}, false},
	{"key outside section", "k = v\n[a]\nb=c", []string{"a.b=c"}, false},
	{"unterminated header", "[core\nk=v", nil, true},
	{"unterminated quote", "[a]\nb = \"x\n", nil, true},
	{"bad escape", "[a]\nb = \\q\n", nil, true},
	{"bad key", "[a]\nb.c = d\n", nil, true},
	{"no space after header", "[a]b=c\n[a \"B\"]C=d", []string{"a.b=c", "a.B.c=d"}, false},
	{"tabs", "[a\t\"b\"]\n\tk\t=\tv\t\n", []string{"a.b.k=v"}, false},
	{"upper section", "[A]\nB=C", []string{"a.b=C"}, false},
	{"empty quotes", "[a]\nb=\"\"\nc = \"  \" x", []string{"a.b=", "a.c=   x"}, false},
	{"empty subsection", "[a \"\"]\nb=c", []string{"a..b=c"}, false},
	{"space before bracket", "[a \"b\" ]\nk=v", nil, true},
	{"backslash at end", "[a]\nb=c\\", []string{"a.b=c"}, false},
	{"escaped space", "[a]\nb=c\\ d", nil, true},
	{"digit key", "[a]\n1b=c", nil, true},
	{"error keeps earlier", "[a]\nb = 1\n[c\n", []string{"a.b=1"}, true},
}

func gitConfigLines(entries []gitConfigEntry) []string {
	var out []string
	for _, e := range entries {
		if e.HasValue {
			out = append(out, e.name()+"="+e.Value)
		} else {
			out = append(out, e.name())
		}
	}
	return out
}

func TestParseGitConfig(t *testing.T) {
	for _, c := range gitConfigCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseGitConfig([]byte(c.in))
			if (err != nil) != c.bad {
				t.Fatalf("error %v, want error: %v", err, c.bad)
			}
			if lines := gitConfigLines(got); !slices.Equal(lines, c.want) {
				t.Errorf("got %q, want %q", lines, c.want)
			}
		})
	}
}

// TestParseGitConfigAgreesWithGit reads the same files with git itself:
// what git accepts, the parser reads the same way; what git refuses, the
// parser refuses too.
func TestParseGitConfigAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed to compare the parser with it: %v", err)
	}
	dir := t.TempDir()
	for i, c := range gitConfigCases {
		if msg := compareWithGit(t, git, dir, []byte(c.in)); msg != "" {
			t.Errorf("case %d %s: %s", i, c.name, msg)
		}
	}
}

// compareWithGit reads data with parseGitConfig and with git config
// --list and says how they differ ("" if they agree).
func compareWithGit(t testing.TB, git, dir string, data []byte) string {
	f := filepath.Join(dir, "config")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(git, "config", "--file", f, "--list", "-z")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.Output()
	got, perr := parseGitConfig(data)
	if (err != nil) != (perr != nil) {
		return "git error " + errString(err) + ", parser error " + errString(perr)
	}
	if err != nil {
		return ""
	}
	var want []string
	for _, rec := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if rec == "" {
			continue
		}
		// -z prints NAME\nVALUE, or NAME alone for a key without "=".
		name, value, ok := strings.Cut(rec, "\n")
		if strings.HasPrefix(name, ".") || !strings.Contains(name, ".") {
			continue // outside any section: no name that counts
		}
		if ok {
			want = append(want, name+"="+value)
		} else {
			want = append(want, name)
		}
	}
	if lines := gitConfigLines(got); !slices.Equal(lines, want) {
		return "parser " + strings.Join(quoteAll(lines), " ") + ", git " + strings.Join(quoteAll(want), " ")
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}

// FuzzParseGitConfig checks that no input panics or loops, and that what
// is read has a lower-case section and key made of git's key characters.
func FuzzParseGitConfig(f *testing.F) {
	for _, c := range gitConfigCases {
		f.Add([]byte(c.in))
	}
	// When git is at hand (the tests need it), every input is also read
	// by git config, and both must agree.
	git, _ := exec.LookPath("git")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if git != "" && !bytes.ContainsRune(data, 0) {
			if msg := compareWithGit(t, git, dir, data); msg != "" {
				t.Fatalf("%q: %s", data, msg)
			}
		}
		entries, _ := parseGitConfig(data)
		for _, e := range entries {
			if e.Section == "" || e.Key == "" || e.Section != strings.ToLower(e.Section) || e.Key != strings.ToLower(e.Key) {
				t.Fatalf("bad entry %+v", e)
			}
			for i := 0; i < len(e.Key); i++ {
				if !isGitKeyChar(int(e.Key[i])) {
					t.Fatalf("key %q", e.Key)
				}
			}
		}
		_ = shellWords(string(data))
	})
}
