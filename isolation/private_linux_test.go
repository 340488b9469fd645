package isolation

import (
	"slices"
	"testing"
)

// TestPlanMountsPrivate: the private folders are masked, the own $CACHE
// bound again on top (the mask it lies in being a scaffold), and what is
// protected in the own $CACHE re-bound read-only after it.
func TestPlanMountsPrivate(t *testing.T) {
	p := privatePolicy()
	p.Filesystem.DenyRead = append(p.Filesystem.DenyRead, "/home/u/.cache/sbshim/srv/secret")
	plan := planMounts(p)
	for _, m := range []string{"/home/u/.cache/sbshim", "/home/u/.local/state/sbshim"} {
		if !slices.Contains(plan.Masked, m) {
			t.Errorf("%s is not masked: %v", m, plan.Masked)
		}
	}
	if !slices.Equal(plan.Own, []string{"/home/u/.cache/sbshim/srv"}) {
		t.Errorf("own %v", plan.Own)
	}
	if !slices.Equal(plan.Scaffold, []string{"/home/u/.cache/sbshim"}) {
		t.Errorf("scaffold %v", plan.Scaffold)
	}
	if !slices.Equal(plan.OwnMasked, []string{"/home/u/.cache/sbshim/srv/secret"}) {
		t.Errorf("masks in the own cache %v", plan.OwnMasked)
	}
	if !slices.Contains(plan.ReadOnly, "/home/u/.cache/sbshim/srv/agent/c/.credentials.json") {
		t.Errorf("the own cache's credential is not re-bound read-only: %v", plan.ReadOnly)
	}
	// Without the carve-out (a user's denyRead over $CACHE) nothing is
	// bound again.
	q := matchPolicy()
	q.Filesystem.DenyRead = append(q.Filesystem.DenyRead, "/home/u/.cache")
	if plan := planMounts(q); len(plan.Own) != 0 || len(plan.Scaffold) != 0 {
		t.Errorf("a user's denyRead over $CACHE: own %v scaffold %v", plan.Own, plan.Scaffold)
	}
}
