package isolation

import (
	"slices"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// TestPlanMountsAllowRead: what filesystem.allowRead lifts out of a mask
// is bound again read-only inside it (the mask a scaffold), denyRead
// entries inside it masked again after; entries that lift nothing bind
// nothing.
func TestPlanMountsAllowRead(t *testing.T) {
	p := &policy.Policy{
		Filesystem: policy.FilesystemPolicy{
			DenyRead:   []string{"/home/u/.ssh", "/home/u/.aws", "/home/u/.aws/sub/deep", "/home/u/.cache/sbshim"},
			AllowRead:  []string{"/home/u/.ssh/known_hosts", "/home/u/.aws/sub", "/", "/home/u", "/home/u/.ssh", "/home/u/.cache/sbshim/other"},
			AllowWrite: []string{"/home/u/proj", "/home/u/.cache/sbshim/srv"},
		},
		Vars: policy.Vars{Home: "/home/u", Workspace: "/home/u/proj", Tmp: "/tmp", PrivateDirs: []string{"/home/u/.cache/sbshim"}},
	}
	plan := planMounts(p)
	if want := []string{"/home/u/.aws/sub", "/home/u/.ssh/known_hosts"}; !slices.Equal(plan.Readable, want) {
		t.Errorf("readable %v, want %v", plan.Readable, want)
	}
	if want := []string{"/home/u/.aws/sub/deep"}; !slices.Equal(plan.ReadableMasked, want) {
		t.Errorf("masks in readable trees %v, want %v", plan.ReadableMasked, want)
	}
	for _, m := range []string{"/home/u/.ssh", "/home/u/.aws", "/home/u/.cache/sbshim"} {
		if !slices.Contains(plan.Scaffold, m) {
			t.Errorf("%s is no scaffold: %v", m, plan.Scaffold)
		}
	}
	for _, w := range plan.Writable {
		if policy.Within(w, "/home/u/.ssh") {
			t.Errorf("writable %s", w)
		}
	}
}
