package isolation

import (
	"os"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// BenchmarkStartPlan measures what sbshim does in its own process before
// the sandbox's init starts: load and expand the default policy against
// this machine's home folder, and plan the mount tree. It is part of the
// launch time that bench/launch.sh measures as a whole.
func BenchmarkStartPlan(b *testing.B) {
	wd, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		pol, err := policy.Load(policy.LoadOptions{UserConfigDir: b.TempDir(), Vars: policy.Vars{Workspace: wd}})
		if err != nil {
			b.Fatal(err)
		}
		_ = buildInitSpec(Config{Policy: pol, Argv: []string{"true"}, Dir: wd}, true, 0)
	}
}
