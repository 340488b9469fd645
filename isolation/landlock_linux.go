package isolation

import (
	"fmt"

	"github.com/landlock-lsm/go-landlock/landlock"
	"golang.org/x/sys/unix"
)

// landlockSpec is the Landlock layer of a sandbox as plain data.
type landlockSpec struct {
	// Write lists the trees that may be written (everything else is
	// read-only to Landlock; the mount tree decides what is readable).
	Write []string `json:"write"`
	// UnixSockets lists the trees whose pathname unix sockets may be
	// connected to (enforced from ABI 9 on).
	UnixSockets []string `json:"unixSockets"`
}

// landlockABI returns the Landlock ABI version of the running kernel, 0 if
// it has none (or it is disabled).
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// applyLandlock restricts every thread of the calling process, in one
// Restrict call, as far as the kernel's ABI allows. TCP is not handled: the
// network namespace decides that. Signals and abstract unix sockets are
// scoped to the sandbox (ABI ≥ 6); pathname unix sockets outside the
// listed trees are refused (ABI ≥ 9). It returns the ABI applied.
func applyLandlock(s landlockSpec) (int, error) {
	abi := landlockABI()
	if abi == 0 {
		return 0, nil
	}
	cfg := landlock.Config{
		HandledAccessFS: landlock.V11.HandledAccessFS,
		Scoped:          landlock.V11.Scoped,
	}
	rules := []landlock.Rule{
		landlock.RODirs("/"),
		// Terminals and the null devices need ioctls and writes.
		landlock.RWDirs("/dev").WithIoctlDev().IgnoreIfMissing(),
	}
	if len(s.Write) > 0 {
		rules = append(rules, landlock.RWDirs(s.Write...).WithRefer().WithResolveUnix().IgnoreIfMissing())
	}
	if len(s.UnixSockets) > 0 {
		rules = append(rules, landlock.PathAccess(0, s.UnixSockets...).WithResolveUnix().IgnoreIfMissing())
	}
	if err := cfg.BestEffort().Restrict(rules...); err != nil {
		return 0, fmt.Errorf("landlock (ABI %d): %w", abi, err)
	}
	return abi, nil
}
