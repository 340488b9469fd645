package isolation

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPresence: a listed folder rules out only the names it holds under
// no spelling; anything it cannot tell is opened.
func TestPresence(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"FOO", "bar", "cafe\u0301", "LONGNA~1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	b := &rootBuilder{rootFD: root}
	in := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	lone := filepath.Join(t.TempDir(), "absent")
	crowded := t.TempDir()
	for i := range maxListed + 1 {
		if err := os.WriteFile(filepath.Join(crowded, fmt.Sprint(i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "no-such-folder")
	paths := append(in("foo", "BAR", "absent", "caf\u00e9", "longname.txt~", "other"),
		lone, filepath.Join(missing, "a"), filepath.Join(missing, "b"), filepath.Join(missing, "c"),
		filepath.Join(crowded, "x"), filepath.Join(crowded, "y"), filepath.Join(crowded, "z"))
	seen := b.newPresence(paths)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{filepath.Join(dir, "foo"), true},           // FOO under another case
		{filepath.Join(dir, "BAR"), true},           // bar under another case
		{filepath.Join(dir, "absent"), false},       // listed, not there
		{filepath.Join(dir, "other"), false},        // listed, not there
		{filepath.Join(dir, "caf\u00e9"), true},     // not ASCII: another normalisation may find it
		{filepath.Join(dir, "longname.txt~"), true}, // a ~: an 8.3 alias may find it
		{lone, true},                         // the only path in its folder: opened
		{filepath.Join(missing, "a"), false}, // no such folder
		{filepath.Join(crowded, "x"), true},  // too many names to list: opened
	} {
		if got := seen.mayExist(tc.path); got != tc.want {
			t.Errorf("mayExist(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
