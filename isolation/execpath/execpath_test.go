package execpath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLook: a shell's answers — found, not executable (126), not found
// (127) — for names with and without a slash, PATH entries that are
// missing, files or unsearchable, and relative names from dir.
func TestLook(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(bin, "adir"), filepath.Join(dir, "other")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range map[string]os.FileMode{"bin/tool": 0o755, "bin/plain": 0o644, "other/plain": 0o755} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	path := func(entries ...string) []string {
		return []string{"HOME=/h", "PATH=" + filepath.Join(entries...)}
	}
	env := []string{"HOME=/h", "PATH=" + filepath.Join(dir, "nowhere") + ":" + bin}
	const found, notExec, notFound = 0, 126, 127
	tests := []struct {
		name     string
		env      []string
		dir      string
		wantPath string
		want     int
	}{
		{"tool", env, "", filepath.Join(bin, "tool"), found},
		{"plain", env, "", "", notExec},
		{"adir", env, "", "", notExec},
		{"missing", env, "", "", notFound},
		// A later folder's runnable program wins over an earlier one
		// that cannot be run.
		{"plain", []string{"PATH=" + bin + ":" + filepath.Join(dir, "other")}, "", filepath.Join(dir, "other", "plain"), found},
		// Without PATH, the default; the caller's own PATH never counts.
		{"tool", nil, "", "", notFound},
		{"tool", []string{"HOME=/h"}, "", "", notFound},
		// A PATH entry that is a file, not a folder, holds nothing.
		{"missing", path(bin, "tool"), "", "", notFound},
		{"tool", []string{"PATH=" + filepath.Join(bin, "plain") + ":" + bin}, "", filepath.Join(bin, "tool"), found},
		// Names with a slash, relative ones from dir.
		{"bin/tool", env, dir, "bin/tool", found},
		{"./bin/plain", env, dir, "", notExec},
		{"bin/tool", env, bin, "", notFound},
		{filepath.Join(bin, "tool"), nil, "", filepath.Join(bin, "tool"), found},
		{filepath.Join(bin, "missing"), nil, "", "", notFound},
		{filepath.Join(bin, "tool", "x"), nil, "", "", notExec},
		// A relative PATH entry is taken from dir.
		{"tool", []string{"PATH=bin"}, dir, "bin/tool", found},
	}
	if os.Geteuid() != 0 {
		// A folder of PATH that cannot be searched holds nothing, as
		// for a shell (root searches every folder).
		locked := filepath.Join(dir, "locked")
		if err := os.Mkdir(locked, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(locked, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(locked, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o700) })
		tests = append(tests,
			struct {
				name     string
				env      []string
				dir      string
				wantPath string
				want     int
			}{"missing", []string{"PATH=" + locked + ":" + bin}, "", "", notFound},
			struct {
				name     string
				env      []string
				dir      string
				wantPath string
				want     int
			}{"tool", []string{"PATH=" + locked + ":" + bin}, "", filepath.Join(bin, "tool"), found})
	}
	for _, tt := range tests {
		got, err := Look(tt.name, tt.env, tt.dir, "/nonexistent")
		code := found
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Look(%q): %v is no *Error", tt.name, err)
			}
			code = notExec
			if e.NotFound {
				code = notFound
			}
		}
		if code != tt.want || (err == nil && got != tt.wantPath) {
			t.Errorf("Look(%q, %q, %q) = %q, %v (%d); want %q, %d", tt.name, tt.env, tt.dir, got, err, code, tt.wantPath, tt.want)
		}
	}
}
