package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkLaunch measures a whole `sbshim -- true`: both Go starts, the
// namespaces, the mount tree, Landlock, seccomp, the command and the
// teardown. bench/launch.sh compares it with bare bwrap.
func BenchmarkLaunch(b *testing.B) {
	sb := filepath.Join(binDir, "sbshim")
	for b.Loop() {
		if out, err := exec.Command(sb, "--", "true").CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
