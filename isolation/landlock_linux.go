package isolation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// landlockSpec is the Landlock layer of a sandbox as plain data.
type landlockSpec struct {
	// Write lists the trees that may be written (everything else is
	// read-only to Landlock; the mount tree decides what is readable).
	Write []string `json:"write"`
	// UnixSockets lists the trees whose pathname unix sockets may be
	// connected to (enforced from ABI 9 on).
	UnixSockets []string `json:"unixSockets"`
	// ReadDeny, set only when there is no mount namespace to hide them,
	// lists paths Landlock itself must keep unreadable.
	ReadDeny []string `json:"readDeny,omitempty"`
	// ReadAllow, with ReadDeny, are the filesystem.allowRead exemptions
	// inside it (Policy.ReadExemptions): readable although a denied
	// entry holds them. A symlink on their way is refused.
	ReadAllow []string `json:"readAllow,omitempty"`
	// ConnectTCP, when set, are the only TCP ports the program may
	// connect to (proxy mode: the bridge; enforced from ABI 4 on).
	ConnectTCP []int `json:"connectTCP,omitempty"`
}

// landlockABI returns the Landlock ABI version of the running kernel, 0 if
// it has none (or it is disabled).
func landlockABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// fsRights returns every filesystem right an ABI version knows.
func fsRights(abi int) uint64 {
	switch {
	case abi >= 9:
		return 1<<17 - 1
	case abi >= 5:
		return 1<<16 - 1
	case abi >= 3:
		return 1<<15 - 1
	case abi == 2:
		return 1<<14 - 1
	case abi == 1:
		return 1<<13 - 1
	}
	return 0
}

// landlockRuleset builds the sandbox's Landlock ruleset, as far as the
// kernel's ABI allows, and returns its descriptor (-1 without Landlock)
// and the ABI; the init restricts its threads with it. TCP connect is handled only
// in proxy mode (ABI ≥ 4), to the bridge's port alone; otherwise the
// network namespace decides. Signals and abstract unix sockets are scoped to
// the sandbox (ABI ≥ 6); pathname unix sockets outside the listed trees are
// refused (ABI ≥ 9).
func landlockRuleset(s landlockSpec) (int, int, error) {
	abi := landlockABI()
	if abi == 0 {
		return -1, 0, nil
	}
	all := fsRights(abi)
	attr := ll.RulesetAttr{HandledAccessFS: all}
	if abi >= 6 {
		attr.Scoped = ll.ScopeAbstractUnixSocket | ll.ScopeSignal
	}
	if abi >= 4 && len(s.ConnectTCP) > 0 {
		attr.HandledAccessNet = ll.AccessNetConnectTCP
	}
	rs, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("landlock_create_ruleset (ABI %d): %w", abi, err)
	}
	unix.CloseOnExec(rs)
	ok := false
	defer func() {
		if !ok {
			unix.Close(rs)
		}
	}()
	read := uint64(ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir)
	readable, listable := []string{"/"}, []string(nil)
	if len(s.ReadDeny) > 0 {
		readable, listable = readAllowList(s.ReadDeny)
	}
	rules := []struct {
		paths  []string
		access uint64
	}{
		{readable, read},
		{listable, ll.AccessFSReadDir},
		// Terminals and the null devices need writes and ioctls; the
		// sandbox's /dev is a read-only tmpfs, so nothing can be made
		// there.
		{[]string{"/dev"}, all},
		{s.Write, all},
		{s.UnixSockets, ll.AccessFSResolveUnix},
	}
	if len(s.ReadDeny) > 0 {
		for _, p := range s.ReadAllow {
			if err := addExactPathRule(rs, p, read&all); err != nil {
				return -1, 0, err
			}
		}
	}
	for _, r := range rules {
		access := r.access & all
		if access == 0 {
			continue
		}
		for _, p := range r.paths {
			if err := addPathRule(rs, p, access); err != nil {
				return -1, 0, err
			}
		}
	}
	if attr.HandledAccessNet != 0 {
		for _, port := range s.ConnectTCP {
			if err := ll.LandlockAddNetPortRule(rs, &ll.NetPortAttr{AllowedAccess: ll.AccessNetConnectTCP, Port: uint64(port)}, 0); err != nil {
				return -1, 0, fmt.Errorf("landlock rule for TCP port %d: %w", port, err)
			}
		}
	}
	ok = true
	return rs, abi, nil
}

// addPathRule allows access beneath p. A missing path is skipped: there is
// nothing to allow.
func addPathRule(rs int, p string, access uint64) error {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	return addFDRule(rs, p, fd, err, access)
}

// addExactPathRule is addPathRule for a path that must name itself: a
// symlink on its way (or at its end) is an error, not followed. (It opens
// p and compares the path the kernel resolved: openat2 may be emulated
// when sbshim runs inside another sandbox.)
func addExactPathRule(rs int, p string, access uint64) error {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err == nil {
		real, rerr := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if rerr != nil || real != p {
			unix.Close(fd)
			return fmt.Errorf("filesystem.allowRead %s is a symlink or has one on its way: name the real path", p)
		}
	}
	return addFDRule(rs, p, fd, err, access)
}

// addFDRule adds the rule for p, opened as fd (or failed with err).
func addFDRule(rs int, p string, fd int, err error, access uint64) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("landlock rule for %s: %w", p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("landlock rule for %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// Rights that only make sense on directories are refused on
		// files (EINVAL).
		access &= ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile |
			ll.AccessFSTruncate | ll.AccessFSIoctlDev | ll.AccessFSResolveUnix
	}
	if err := ll.LandlockAddPathBeneathRule(rs, &ll.PathBeneathAttr{AllowedAccess: access, ParentFd: fd}, 0); err != nil {
		return fmt.Errorf("landlock rule for %s: %w", p, err)
	}
	return nil
}

// readAllowList expresses "everything but deny" in Landlock's allow-only
// terms: it descends from / along the paths to the denied entries and
// returns the entries beside them, readable in full, and the directories
// on the way, listable only. Landlock rights reach everything beneath a
// rule, so a denied entry must never lie under a granted one; as a
// consequence, names created later directly in such a directory are not
// readable, and the names (not the contents) in denied directories can be
// listed.
func readAllowList(deny []string) (readable, listable []string) {
	var walk func(dir string)
	walk = func(dir string) {
		listable = append(listable, dir)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case policy.UnderAny(p, deny):
			case ancestorOfAny(p, deny):
				walk(p)
			default:
				readable = append(readable, p)
			}
		}
	}
	walk("/")
	return readable, listable
}

// ancestorOfAny says whether some path in paths lies strictly below dir.
func ancestorOfAny(dir string, paths []string) bool {
	for _, p := range paths {
		if policy.Inside(p, dir) {
			return true
		}
	}
	return false
}
