package configs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{"agent", "default", "host-network", "no-network", "read-only", "workspace-write"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
}

func TestReadEveryProfileHasDescription(t *testing.T) {
	for _, name := range Names() {
		data, err := Read(name)
		if err != nil {
			t.Fatalf("Read(%q): %v", name, err)
		}
		var v struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(v.Description) < 20 {
			t.Errorf("%s: description %q is too short to document it", name, v.Description)
		}
	}
}

func TestReadUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "../default", "default.json", ".", "a/b"} {
		if _, err := Read(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Read(%q) error = %v, want fs.ErrNotExist", name, err)
		}
	}
}

// TestDefaultEnvSection checks the shape of the default profile's env
// section: everything passes except what env.deny names, the deny patterns
// are valid globs written in upper case (matching folds case), and every
// exact name in env.pass is an exception to a deny pattern (an exact name
// there beats env.deny and the value check, so a name that no pattern
// denies has no business there).
func TestDefaultEnvSection(t *testing.T) {
	data, err := Read("default")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Env struct {
			Pass []string `json:"pass"`
			Deny []string `json:"deny"`
		} `json:"env"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Env.Pass) == 0 || v.Env.Pass[0] != "*" {
		t.Fatalf("env.pass %v does not start with *", v.Env.Pass)
	}
	for _, pat := range v.Env.Deny {
		if _, err := path.Match(pat, ""); err != nil || pat != strings.ToUpper(pat) {
			t.Errorf("env.deny %q: want a valid glob in upper case", pat)
		}
	}
	for _, name := range v.Env.Pass[1:] {
		if strings.ContainsAny(name, "*?[\\") {
			t.Errorf("env.pass %q: only exact names may follow *", name)
			continue
		}
		denied := slices.ContainsFunc(v.Env.Deny, func(pat string) bool {
			m, _ := path.Match(pat, name)
			return m
		})
		if !denied {
			t.Errorf("env.pass %q is not an exception: no env.deny pattern matches it", name)
		}
	}
}

func TestServerProfiles(t *testing.T) {
	want := []string{"everything", "fetch", "filesystem", "git", "github", "memory", "sequential-thinking", "time"}
	if got := ServerNames(); !slices.Equal(got, want) {
		t.Fatalf("ServerNames() = %v, want %v", got, want)
	}
	for _, name := range want {
		data, err := ReadServer(name)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(data, &v); err != nil || len(v.Description) < 20 {
			t.Errorf("%s: description %q, %v", name, v.Description, err)
		}
	}
	for _, name := range []string{"", "nope", "../default", "default", ".", "a/b"} {
		if _, err := ReadServer(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadServer(%q): %v, want not-exist", name, err)
		}
	}
}
