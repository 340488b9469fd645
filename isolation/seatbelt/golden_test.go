package seatbelt

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/isolation/policy"
)

var update = flag.Bool("update", false, "rewrite the golden profiles in testdata")

// goldenCase is one profile compared with testdata/NAME.sb.
type goldenCase struct {
	name string
	p    *policy.Policy
	o    Options
}

// goldenCases are every built-in profile as loaded (with fakeVars), a
// server profile with a writable grant, the hand-made edge policies, and
// PTY mode with and without the terminal's name.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, name := range configs.Names() {
		out = append(out, goldenCase{name: name, p: loadBuiltin(t, name)})
	}
	out = append(out, goldenCase{name: "servers-filesystem-grant", p: loadServer(t, "filesystem", "/Users/u/docs")})
	for name, p := range edgePolicies() {
		out = append(out, goldenCase{name: "edge-" + strings.ReplaceAll(name, " ", "-"), p: p})
	}
	out = append(out,
		goldenCase{name: "pty-tty", p: loadBuiltin(t, "default"), o: Options{PTY: true, TTY: "/dev/ttys004"}},
		goldenCase{name: "pty-any", p: loadBuiltin(t, "default"), o: Options{PTY: true}},
	)
	return out
}

// loadServer loads the default profile with the built-in server profile
// NAME as shim picks it, the paths in grants made writable.
func loadServer(t *testing.T, name string, grants ...string) *policy.Policy {
	t.Helper()
	data, err := configs.ReadServer(name)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := policy.ParseProfile("built-in:servers/"+name, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) > 0 {
		fs := policy.FilesystemProfile{}
		if prof.Filesystem != nil {
			fs = *prof.Filesystem
		}
		fs.AllowWrite = append(fs.AllowWrite, grants...)
		prof.Filesystem = &fs
	}
	return loadWith(t, &policy.ServerLayer{Name: name, Source: "built-in:servers/" + name, Profile: prof})
}

// TestGolden compares every generated profile with its golden file
// (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		prof, _ := generate(t, c.p, c.o)
		path := filepath.Join("testdata", c.name+".sb")
		if *update {
			if err := os.WriteFile(path, []byte(prof.Text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test -run TestGolden -update)", c.name, err)
		}
		if string(want) != prof.Text {
			t.Errorf("%s: the profile differs from %s (run go test -run TestGolden -update and review the diff)", c.name, path)
		}
	}
}

// TestServerProfiles checks that a built-in server profile changes
// nothing Seatbelt enforces but for the paths it makes writable: their
// network.allow entries are the proxy's business.
func TestServerProfiles(t *testing.T) {
	def, _ := generate(t, loadBuiltin(t, "default"), Options{})
	for _, name := range configs.ServerNames() {
		prof, _ := generate(t, loadServer(t, name), Options{})
		if prof.Text != def.Text {
			t.Errorf("server profile %s changes the Seatbelt profile", name)
		}
	}
	granted, _ := generate(t, loadServer(t, "filesystem", "/Users/u/docs"), Options{})
	if !strings.Contains(granted.Text, `(allow file-write* (subpath "/Users/u/docs"))`) {
		t.Error("the filesystem server's grant is not writable")
	}
}
