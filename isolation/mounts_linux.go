package isolation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// mountPlan is the mount tree of a sandbox as plain data. The parent builds
// it from the Policy (planMounts); the sandbox's init carries it out
// (buildRoot). Every path is an absolute host path, which is also its path
// inside the sandbox.
type mountPlan struct {
	// Writable are bound read-write, parents before children.
	Writable []string `json:"writable"`
	// Masked are hidden: a directory behind an empty tmpfs, a file behind
	// an empty unreadable file; both read-only.
	Masked []string `json:"masked"`
	// Scaffold are the Masked directories that have Own trees inside
	// (sbshim's private folders): their tmpfs stays writable until the
	// mount points of the Own trees are made in it, then it is made
	// read-only, and it can be searched.
	Scaffold []string `json:"scaffold,omitempty"`
	// Own are writable trees inside a masked directory that the policy
	// still lets the program read (the server's own $CACHE inside
	// sbshim's private folders): bound read-write again after the masks.
	Own []string `json:"own,omitempty"`
	// OwnMasked are denyRead paths inside Own trees, masked after those
	// are bound.
	OwnMasked []string `json:"ownMasked,omitempty"`
	// Readable are the filesystem.allowRead exemptions inside masks
	// (Policy.ReadExemptions): bound again, read-only, from the real
	// host path, opened without following any symlink, after the masks
	// and the Own trees.
	Readable []string `json:"readable,omitempty"`
	// ReadableMasked are denyRead paths inside Readable trees, masked
	// after those are bound.
	ReadableMasked []string `json:"readableMasked,omitempty"`
	// ReadOnly are re-bound read-only on top of a writable tree (denyWrite
	// and the always-protected paths).
	ReadOnly []string `json:"readOnly"`
	// TmpSizeMB sizes the private /tmp; TmpWritable says whether it is
	// writable at all.
	TmpSizeMB   int  `json:"tmpSizeMB"`
	TmpWritable bool `json:"tmpWritable"`
}

// planMounts turns a Policy into a mountPlan.
func planMounts(p *policy.Policy) mountPlan {
	plan := mountPlan{TmpSizeMB: p.Limits.TmpSizeMB}
	tmp := p.Vars.Tmp
	if tmp == "" {
		tmp = "/tmp"
	}
	var writable []string
	for _, w := range p.Filesystem.AllowWrite {
		if w == tmp {
			plan.TmpWritable = true
			continue
		}
		writable = append(writable, w)
	}
	plan.Writable = outermostFirst(writable)
	deny := outermostFirst(p.Filesystem.DenyRead)
	plan.Masked = dropNested(deny)
	// A writable tree under a mask that the policy still lets the program
	// read is bound again on top of the mask (policy's privateCarveOut).
	for _, w := range plan.Writable {
		if policy.UnderAny(w, plan.Masked) && !slices.Contains(plan.Masked, w) {
			if _, ok := p.CanRead(w); ok {
				plan.Own = append(plan.Own, w)
			}
		}
	}
	plan.Own = dropNested(plan.Own)
	var ownMasked []string
	for _, d := range deny {
		if policy.UnderAny(d, plan.Own) {
			ownMasked = append(ownMasked, d)
		}
	}
	plan.OwnMasked = dropNested(ownMasked)
	// What allowRead lifts out of a mask is bound again read-only.
	for _, a := range outermostFirst(p.ReadExemptions()) {
		if policy.UnderAny(a, plan.Masked) && !policy.UnderAny(a, plan.Own) || policy.UnderAny(a, plan.OwnMasked) {
			plan.Readable = append(plan.Readable, a)
		}
	}
	plan.Readable = dropNested(plan.Readable)
	var readableMasked []string
	for _, d := range deny {
		if policy.UnderAny(d, plan.Readable) && !slices.Contains(plan.Readable, d) {
			readableMasked = append(readableMasked, d)
		}
	}
	plan.ReadableMasked = dropNested(readableMasked)
	// A mask with something bound inside it is a scaffold: its tmpfs
	// holds the mount points, then is made read-only.
	for _, m := range append(append([]string(nil), plan.Masked...), plan.OwnMasked...) {
		for _, w := range append(append([]string(nil), plan.Own...), plan.Readable...) {
			if policy.Inside(w, m) && !slices.Contains(plan.Scaffold, m) {
				plan.Scaffold = append(plan.Scaffold, m)
			}
		}
	}
	hidden := func(d string) bool {
		if policy.UnderAny(d, plan.Readable) {
			return true // bound read-only as a whole
		}
		return policy.UnderAny(d, plan.Masked) && !policy.UnderAny(d, plan.Own) || policy.UnderAny(d, plan.OwnMasked)
	}
	var ro []string
	for _, d := range append(append([]string(nil), p.Filesystem.DenyWrite...), p.ProtectedPaths()...) {
		if hidden(d) {
			continue // already hidden
		}
		if policy.UnderAny(d, plan.Writable) || (plan.TmpWritable && policy.Within(d, tmp)) {
			ro = append(ro, d)
		}
	}
	plan.ReadOnly = dropNested(outermostFirst(ro))
	return plan
}

// outermostFirst returns the clean paths sorted so that a parent comes
// before anything below it, duplicates dropped.
func outermostFirst(paths []string) []string {
	seen := make(map[string]bool, len(paths))
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sortByDepth(out)
	return out
}

func sortByDepth(paths []string) {
	// Stable, so the policy's order among equals is kept; the depth is
	// counted once per path, not per comparison.
	type entry struct {
		depth int
		path  string
	}
	es := make([]entry, len(paths))
	for i, p := range paths {
		es[i] = entry{strings.Count(p, "/"), p}
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		return strings.Compare(a.path, b.path)
	})
	for i, e := range es {
		paths[i] = e.path
	}
}

// dropNested drops every path that lies under an earlier one (the input is
// sorted outermost first).
func dropNested(paths []string) []string {
	var out []string
	for _, p := range paths {
		if !policy.UnderAny(p, out) {
			out = append(out, p)
		}
	}
	return out
}

// rootBuilder carries out a mountPlan inside fresh user and mount
// namespaces. It builds the new root as a detached read-only copy of the
// host's tree, attaches it under a private staging tmpfs, adds the private
// /proc, /dev and /tmp, the writable binds, the masks, the own writable
// trees under masks (bound again on top of them), the masks inside those,
// and the read-only re-binds, and pivots into it.
//
// Every mount target inside the new root is opened with RESOLVE_IN_ROOT and
// mounted through its /proc/self/fd link, so a symlink planted in a
// writable tree can never redirect a mount outside the sandbox's view.
type rootBuilder struct {
	plan    mountPlan
	staging string // where the staging tmpfs is mounted
	root    string // staging/root: the new root before pivot_root
	rootFD  int
	// sources are O_PATH fds of bind sources, opened before anything is
	// mounted over the host's paths; readable those of plan.Readable.
	sources  map[string]int
	readable map[string]int
	devices  map[string]int
}

// devNodes are the device nodes the sandbox's /dev offers, bound from the
// host's.
func devNodes() []string { return []string{"null", "zero", "full", "random", "urandom", "tty"} }

// buildRoot carries out plan and leaves the calling thread inside the new
// root with "/" as its working directory.
func buildRoot(plan mountPlan) (err error) {
	b := &rootBuilder{plan: plan, sources: map[string]int{}, readable: map[string]int{}, devices: map[string]int{}, rootFD: -1}
	defer b.closeFDs()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := b.openSources(); err != nil {
		return err
	}
	// Clone the host's tree before the staging tmpfs hides anything.
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("clone the host's mount tree (open_tree, Linux ≥ 5.2): %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE,
		&unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}); err != nil {
		return fmt.Errorf("make the host's tree read-only (mount_setattr, Linux ≥ 5.12): %w", err)
	}
	if err := b.mountStaging(); err != nil {
		return err
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, b.root, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach the new root: %w", err)
	}
	b.rootFD, err = unix.Open(b.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the new root: %w", err)
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"private /tmp", b.mountTmp},
		{"writable binds", b.bindWritable},
		{"/proc", b.mountProc},
		{"/dev", b.mountDev},
		{"masks", func() error { return b.mask(b.plan.Masked) }},
		{"own trees under masks", b.bindOwn},
		{"masks in own trees", func() error { return b.mask(b.plan.OwnMasked) }},
		{"filesystem.allowRead binds", b.bindReadable},
		{"masks in filesystem.allowRead trees", func() error { return b.mask(b.plan.ReadableMasked) }},
		{"scaffold masks read-only", b.sealScaffold},
		{"read-only re-binds", b.rebindReadOnly},
		{"pivot_root", b.pivot},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func (b *rootBuilder) closeFDs() {
	for _, fd := range b.sources {
		unix.Close(fd)
	}
	for _, fd := range b.readable {
		unix.Close(fd)
	}
	for _, fd := range b.devices {
		unix.Close(fd)
	}
	if b.rootFD >= 0 {
		unix.Close(b.rootFD)
	}
}

func (b *rootBuilder) openSources() error {
	for _, w := range b.plan.Writable {
		fd, err := unix.Open(w, unix.O_PATH|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // nothing to bind; it cannot be created from inside either
		}
		if err != nil {
			return fmt.Errorf("open writable path %s: %w", w, err)
		}
		b.sources[w] = fd
	}
	for _, a := range b.plan.Readable {
		// No symlink anywhere on the way: the policy lifts exactly this
		// path, and a symlink (~/.ssh/known_hosts -> id_rsa, or a folder
		// on the way) would show something else.
		fd, err := unix.Openat2(unix.AT_FDCWD, a, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue // nothing to show
		}
		if errors.Is(err, unix.ELOOP) {
			return fmt.Errorf("filesystem.allowRead %s is a symlink or has one on its way: name the real path (a symlink would show something else than what the entry names)", a)
		}
		if err != nil {
			return fmt.Errorf("open filesystem.allowRead path %s: %w", a, err)
		}
		b.readable[a] = fd
	}
	for _, d := range devNodes() {
		fd, err := unix.Open("/dev/"+d, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // a host without it gets a sandbox without it
		}
		b.devices[d] = fd
	}
	return nil
}

// mountStaging mounts a small private tmpfs over a directory of the host
// (visible only in this mount namespace) to hold the new root's mount point
// and the empty file that masks unreadable files.
func (b *rootBuilder) mountStaging() error {
	var errs []error
	for _, dir := range []string{"/tmp", "/mnt", "/var/tmp", "/run"} {
		err := unix.Mount("sbshim", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64k,mode=0700")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dir, err))
			continue
		}
		b.staging = dir
		b.root = filepath.Join(dir, "root")
		if err := os.Mkdir(b.root, 0o755); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(dir, "empty"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0)
		if err != nil {
			return fmt.Errorf("staging: %w", err)
		}
		return f.Close()
	}
	return fmt.Errorf("no directory to stage the new root in: %w", errors.Join(errs...))
}

// openIn opens p inside the new root, resolving symlinks and ".." as the
// sandbox will see them, never escaping it.
func (b *rootBuilder) openIn(p string, flags uint64) (int, error) {
	return unix.Openat2(b.rootFD, p, &unix.OpenHow{
		Flags:   flags | unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// minListed is how many paths of a plan list must share a folder for
// the folder to be listed rather than each path opened; maxListed is how
// many names a listing may hold before the paths are opened after all
// (a home or a workspace with tens of thousands of entries).
const (
	minListed = 3
	maxListed = 4096
)

// presence tells which paths of a plan list may exist in the new root,
// from one listing of each folder that holds several of them: the plan
// names hundreds of denyRead and protected paths, most of them absent,
// under a few folders (the home, ~/.config, each writable tree), and an
// open per path was most of the cost of building the mount tree. A
// presence reflects the tree when it was made: make one per step.
type presence struct {
	b     *rootBuilder
	names map[string]map[string]bool // by folder; nil: not listed, open each path
}

// newPresence prepares to answer for paths.
func (b *rootBuilder) newPresence(paths []string) *presence {
	count := map[string]int{}
	for _, p := range paths {
		count[filepath.Dir(p)]++
	}
	s := &presence{b: b, names: map[string]map[string]bool{}}
	for dir, n := range count {
		if n >= minListed {
			s.names[dir] = nil // listed when first asked
		}
	}
	return s
}

// mayExist says false only when p's folder was listed, as the sandbox
// will resolve it, and has no entry of p's name: then opening p would
// fail with ENOENT. It says true when unsure. Names are compared without
// ASCII case, and a name with other bytes than printable ASCII, or a ~,
// is always opened: a folder of a case-folding filesystem (ext4 casefold,
// vfat) finds an entry under other spellings than the one it lists
// (another case, another Unicode normalisation, an 8.3 alias).
func (s *presence) mayExist(p string) bool {
	dir, name := filepath.Dir(p), filepath.Base(p)
	names, listable := s.names[dir]
	if !listable || !plainName(name) {
		return true
	}
	if names == nil {
		names = s.b.list(dir)
		if names == nil {
			delete(s.names, dir) // not listable: open each path
			return true
		}
		s.names[dir] = names
	}
	return names[strings.ToLower(name)]
}

// plainName says whether name is printable ASCII without a ~.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '~' {
			return false
		}
	}
	return true
}

// list returns the names in folder dir of the new root, resolved as
// openIn resolves (none where there is no such folder); nil if it cannot
// be listed.
func (b *rootBuilder) list(dir string) map[string]bool {
	fd, err := unix.Openat2(b.rootFD, dir, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return map[string]bool{}
	}
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	entries, err := f.Readdirnames(maxListed + 1)
	if err != nil && !errors.Is(err, io.EOF) || len(entries) > maxListed {
		return nil
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[strings.ToLower(e)] = true // lowering more than ASCII only opens more
	}
	return names
}

// mountAt mounts a filesystem on the target p inside the new root.
func (b *rootBuilder) mountAt(p, fstype string, flags uintptr, data string) error {
	fd, err := b.openIn(p, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(fstype, fdPath(fd), fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, p, err)
	}
	return nil
}

// bindFD attaches a copy of the mount tree at srcFD onto the target p
// inside the new root, read-only if ro.
func (b *rootBuilder) bindFD(srcFD int, p string, ro, recursive bool) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(srcFD, "", flags)
	if err != nil {
		return fmt.Errorf("clone %s: %w", p, err)
	}
	defer unix.Close(tree)
	if ro {
		setFlags := uint(unix.AT_EMPTY_PATH)
		if recursive {
			setFlags |= unix.AT_RECURSIVE
		}
		if err := unix.MountSetattr(tree, "", setFlags, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	dst, err := b.openIn(p, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(dst)
	if err := unix.MoveMount(tree, "", dst, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind %s: %w", p, err)
	}
	return nil
}

func (b *rootBuilder) mountTmp() error {
	data := "mode=1777"
	if b.plan.TmpSizeMB > 0 {
		data += ",size=" + strconv.Itoa(b.plan.TmpSizeMB) + "m"
	}
	var flags uintptr = unix.MS_NOSUID | unix.MS_NODEV
	if !b.plan.TmpWritable {
		flags |= unix.MS_RDONLY
	}
	return b.mountAt("/tmp", "tmpfs", flags, data)
}

// ensureMountPoint makes p exist inside the new root so that something of
// kind dir (or file) can be bound on it. Only places that are writable
// during set-up — the private tmpfs mounts — can get new entries; a path
// of the read-only host tree that does not exist is an error.
func (b *rootBuilder) ensureMountPoint(p string, dir bool) error {
	if fd, err := b.openIn(p, 0); err == nil {
		unix.Close(fd)
		return nil
	}
	parent := filepath.Dir(p)
	if parent != p {
		if err := b.ensureMountPoint(parent, true); err != nil {
			return err
		}
	}
	pfd, err := b.openIn(parent, unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open %s: %w", parent, err)
	}
	defer unix.Close(pfd)
	// mkdirat and openat on an O_PATH fd go through /proc/self/fd, which
	// is the exact directory resolved above.
	name := filepath.Base(p)
	if dir {
		err = unix.Mkdirat(unix.AT_FDCWD, fdPath(pfd)+"/"+name, 0o755)
	} else {
		var fd int
		fd, err = unix.Open(fdPath(pfd)+"/"+name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
		if err == nil {
			unix.Close(fd)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create mount point %s: %w", p, err)
	}
	return nil
}

func (b *rootBuilder) bindWritable() error { return b.bindReadWrite(b.plan.Writable) }

// bindReadWrite binds each of the trees read-write at its own path.
func (b *rootBuilder) bindReadWrite(trees []string) error {
	for _, w := range trees {
		src, ok := b.sources[w]
		if !ok {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(src, &st); err != nil {
			return fmt.Errorf("stat %s: %w", w, err)
		}
		if err := b.ensureMountPoint(w, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
			return err
		}
		if err := b.bindFD(src, w, false, true); err != nil {
			return err
		}
	}
	return nil
}

func (b *rootBuilder) mountProc() error {
	return b.mountAt("/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// mountDev gives the sandbox a minimal /dev: a few device nodes bound from
// the host, its own devpts instance, a private /dev/shm, the usual links.
func (b *rootBuilder) mountDev() error {
	if err := b.mountAt("/dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, d := range devNodes() {
		src, ok := b.devices[d]
		if !ok {
			continue
		}
		if err := b.ensureMountPoint("/dev/"+d, false); err != nil {
			return err
		}
		if err := b.bindFD(src, "/dev/"+d, false, false); err != nil {
			return err
		}
	}
	for _, dir := range []string{"/dev/pts", "/dev/shm"} {
		if err := b.ensureMountPoint(dir, true); err != nil {
			return err
		}
	}
	if err := b.mountAt("/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return err
	}
	if err := b.mountAt("/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return err
	}
	links := [][2]string{{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}}
	dev, err := b.openIn("/dev", unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	for _, l := range links {
		if err := unix.Symlinkat(l[0], unix.AT_FDCWD, fdPath(dev)+"/"+l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("link /dev/%s: %w", l[1], err)
		}
	}
	// The tmpfs itself is read-only from here on; pts and shm stay writable.
	if err := unix.MountSetattr(dev, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("make /dev read-only: %w", err)
	}
	return nil
}

// mask hides each of paths (denyRead paths) that exists in the new root.
func (b *rootBuilder) mask(paths []string) error {
	empty, err := unix.Open(filepath.Join(b.staging, "empty"), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the empty file: %w", err)
	}
	defer unix.Close(empty)
	seen := b.newPresence(paths)
	for _, m := range paths {
		if !seen.mayExist(m) {
			continue
		}
		fd, err := b.openIn(m, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EACCES) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", m, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("stat %s: %w", m, err)
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFDIR && slices.Contains(b.plan.Scaffold, m):
			// Read-only once bindOwn has made its mount points.
			err = b.mountAt(m, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k,mode=0755")
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			err = b.mountAt(m, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0000")
		default:
			err = b.bindFD(empty, m, true, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bindOwn binds the Own trees again, read-write, on top of the masks
// they lie under.
func (b *rootBuilder) bindOwn() error { return b.bindReadWrite(b.plan.Own) }

// bindReadable binds the Readable trees again, read-only, on top of the
// masks they lie under, from the fds openSources made.
func (b *rootBuilder) bindReadable() error {
	for _, a := range b.plan.Readable {
		src, ok := b.readable[a]
		if !ok {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(src, &st); err != nil {
			return fmt.Errorf("stat %s: %w", a, err)
		}
		if err := b.ensureMountPoint(a, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
			return err
		}
		if err := b.bindFD(src, a, true, true); err != nil {
			return err
		}
	}
	return nil
}

// sealScaffold makes the scaffold masks read-only (not what is bound in
// them) once their mount points are made.
func (b *rootBuilder) sealScaffold() error {
	for _, m := range b.plan.Scaffold {
		fd, err := b.openIn(m, unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EACCES) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", m, err)
		}
		err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("make the mask %s read-only: %w", m, err)
		}
	}
	return nil
}

// rebindReadOnly binds each existing denyWrite or protected path onto
// itself, read-only. Paths that do not exist yet are kept from being
// created by the supervisor.
func (b *rootBuilder) rebindReadOnly() error {
	seen := b.newPresence(b.plan.ReadOnly)
	for _, p := range b.plan.ReadOnly {
		if !seen.mayExist(p) {
			continue
		}
		fd, err := b.openIn(p, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EACCES) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		err = b.bindFD(fd, p, true, true)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// pivot makes the new root the root and detaches the old one, staging
// tmpfs and all.
func (b *rootBuilder) pivot() error {
	if err := unix.Fchdir(b.rootFD); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return unix.Chdir("/")
}
