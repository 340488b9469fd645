package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestPackageInitIsSmall: every start of sbshim — the sandbox's init and
// its deputy are sbshim again — runs the package initialisers of all of
// sbshim's packages. None of them may do real work there (compile a
// regular expression, build a table): it is paid three times per
// sandbox. Measured in bytes allocated, which does not depend on the
// machine's load.
func TestPackageInitIsSmall(t *testing.T) {
	const limit = 16 << 10
	cmd := exec.Command(filepath.Join(binDir, "sbshim"), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sbshim version: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^init (github\.com/sbshim/sbshim\S*) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)
	found := line.FindAllSubmatch(out, -1)
	if len(found) == 0 {
		t.Fatalf("no init trace of sbshim's packages in:\n%s", out)
	}
	for _, m := range found {
		n, err := strconv.Atoi(string(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		if n > limit {
			t.Errorf("package %s allocates %d bytes at init (%s allocs), more than %d", m[1], n, m[3], limit)
		}
	}
}
