package isolation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The deputy performs, inside the sandbox, the calls that the supervisor
// must answer itself because only a check can tell an allowed one from a
// refused one (creating a name beside a protected one that does not exist
// yet, connecting a unix socket by path). It is a process of the sandbox
// started by the init after every restriction but the user-notification
// filter is in force: the same mount namespace, credentials, Landlock
// domain (the command's is nested inside it), seccomp deny list and
// no_new_privs, no capabilities, and not dumpable. A bug in its checks can
// at worst allow what the sandbox could already do. sbshim's own process
// never opens, connects or binds for the sandbox.
//
// The deputy talks only to the supervisor, over two SOCK_SEQPACKET
// sockets: fd 3 carries calls answered one at a time in order, fd 4 calls
// that may block (each answered in its own goroutine). fd 5 is a pipe
// with its configuration: one byte, deputyReady when the init asks for
// the ready byte (sent on fd 3 once the deputy is not dumpable), then the
// policy (policywire_linux.go), encoded by sbshim (the init passes it on
// as it is), up to the pipe's end.
const (
	deputySyncFD   = 3
	deputyAsyncFD  = 4
	deputyConfigFD = 5
)

// deputyConfig is what the deputy needs to know: the policy it checks.
type deputyConfig struct {
	Policy *policy.Policy
}

// deputyReady is the first byte of the configuration pipe when the init
// asks for the ready byte; deputyNoReady when it does not.
const (
	deputyReady   = 'R'
	deputyNoReady = '-'
)

// encodeDeputyConfig is the deputy's configuration for pol, as the init
// passes it on.
func encodeDeputyConfig(pol *policy.Policy) ([]byte, error) {
	b := marshalPolicy(pol)
	if len(b) > maxSpecLen {
		return nil, fmt.Errorf("the deputy's configuration of %d bytes is too large (at most %d)", len(b), maxSpecLen)
	}
	return b, nil
}

// readDeputyConfig reads what startDeputy writes on the configuration
// pipe: whether the ready byte is asked for, and the configuration.
func readDeputyConfig(r io.Reader) (deputyConfig, bool, error) {
	var cfg deputyConfig
	var first [1]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return cfg, false, err
	}
	if first[0] != deputyReady && first[0] != deputyNoReady {
		return cfg, false, fmt.Errorf("bad first byte %q", first[0])
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSpecLen+1))
	if err != nil {
		return cfg, false, err
	}
	if len(b) > maxSpecLen {
		return cfg, false, errors.New("configuration too large")
	}
	if cfg.Policy, err = unmarshalPolicy(b); err != nil {
		return cfg, false, err
	}
	return cfg, first[0] == deputyReady, nil
}

// DeputyMain is the deputy's life. It never returns.
func DeputyMain() {
	// Nothing of the sandbox may read or write this process: it lacks the
	// user-notification filter that the command runs under.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: deputy: %v\n", err)
		os.Exit(ExitSetup)
	}
	cf := os.NewFile(deputyConfigFD, "sbshim-deputy-config")
	cfg, ready, err := readDeputyConfig(cf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: deputy: read configuration: %v\n", err)
		os.Exit(ExitSetup)
	}
	cf.Close()
	d := &deputy{rules: cfg.Policy, bound: map[[2]uint64]bool{}}
	if ready {
		if _, err := unix.Write(deputySyncFD, []byte{'R'}); err != nil {
			os.Exit(ExitSetup)
		}
	}
	go d.serve(deputyAsyncFD, true)
	d.serve(deputySyncFD, false)
	os.Exit(0)
}

// deputy answers the supervisor's requests.
type deputy struct {
	rules superviseRules
	wmu   sync.Mutex // one answer at a time on the async socket
	mu    sync.Mutex
	bound map[[2]uint64]bool // (dev, ino) of unix sockets this sandbox bound
}

// serve answers requests on fd until the supervisor closes it.
func (d *deputy) serve(fd int, async bool) {
	buf := make([]byte, maxDeputyReq)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		in := -1
		if fds := rightsOf(oob[:oobn]); len(fds) > 0 {
			in = fds[0]
			closeAll(fds[1:])
		}
		var q deputyReq
		if q.unmarshal(buf[:n]) != nil {
			if in >= 0 {
				unix.Close(in)
			}
			return // not the supervisor speaking: stop serving
		}
		if !async {
			d.answer(fd, &q, in)
			continue
		}
		go d.answer(fd, &q, in)
	}
}

// rightsOf returns the descriptors of the SCM_RIGHTS messages in oob.
func rightsOf(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

func (d *deputy) answer(fd int, q *deputyReq, in int) {
	a, out := d.perform(q, in)
	if in >= 0 {
		unix.Close(in)
	}
	a.ID = q.ID
	var oob []byte
	if out >= 0 {
		oob = unix.UnixRights(out)
	}
	d.wmu.Lock()
	_ = unix.Sendmsg(fd, a.marshal(), oob, nil, 0)
	d.wmu.Unlock()
	if out >= 0 {
		unix.Close(out)
	}
}

// perform carries out one request; out is a descriptor for the caller, or
// -1.
func (d *deputy) perform(q *deputyReq, in int) (deputyResp, int) {
	switch q.Op {
	case opOpen:
		return d.open(q)
	case opMkdir:
		return d.create(q, "create", false, func(e entry) error { return unix.Mkdirat(e.dir, e.name, uint32(q.Mode)) })
	case opMknod:
		return d.create(q, "create", true, func(e entry) error {
			return unix.Mknodat(e.dir, e.name, uint32(q.Mode), int(q.Dev))
		})
	case opSymlink:
		return d.create(q, "create", true, func(e entry) error {
			if rule, denied := d.rules.CheckSymlink(e.path, q.Path2); denied {
				return refusal{rule}
			}
			return unix.Symlinkat(q.Path2, e.dir, e.name)
		})
	case opLink:
		return d.create(q, "link", true, func(e entry) error {
			old, err := parentOf(q.Path2, q.Caller)
			if err != nil {
				return err
			}
			defer old.close()
			if rule, denied := d.rules.CheckMove(old.path, e.path, false); denied {
				return refusal{rule}
			}
			return unix.Linkat(old.dir, old.name, e.dir, e.name, int(q.Flags)&unix.AT_SYMLINK_FOLLOW)
		})
	case opLinkFD:
		if in < 0 {
			return errResp(unix.EBADF), -1
		}
		return d.create(q, "link", true, func(e entry) error {
			// The open file's name: a symlink opened with O_PATH inside a
			// .git would be linked out of it.
			if name, err := os.Readlink(fdPath(in)); err != nil {
				return unix.EACCES
			} else if rule, denied := d.rules.CheckMove(strings.TrimSuffix(name, " (deleted)"), e.path, false); denied {
				return refusal{rule}
			}
			return unix.Linkat(unix.AT_FDCWD, fdPath(in), e.dir, e.name, unix.AT_SYMLINK_FOLLOW)
		})
	case opRename:
		return d.rename(q)
	case opConnect, opBind:
		if in < 0 {
			return errResp(unix.EBADF), -1
		}
		return d.sockCall(q, in)
	case opReopen:
		return d.openChecked(q, unix.AT_FDCWD, "/proc/"+strconv.Itoa(int(q.Caller))+"/fd/"+strconv.FormatUint(q.Dev, 10), q.Flags, q.Mode)
	case opCtty:
		return openPts(q.Dev, q.Flags)
	case opAttr:
		return d.attr(q, in)
	case opUnlink:
		return d.unlink(q)
	}
	return errResp(unix.ENOSYS), -1
}

func errResp(errno syscall.Errno) deputyResp { return deputyResp{Errno: int32(errno)} }

// give hands fd to the caller, unless it is a /proc entry of another
// process than the caller: the deputy's own above all (its memory, its
// descriptors), which the command must never hold.
func (d *deputy) give(q *deputyReq, fd int) (deputyResp, int) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return errResp(errnoOf(err)), -1
	}
	if fs.Type == unix.PROC_SUPER_MAGIC && !callersProc(fd, q.Caller) {
		unix.Close(fd)
		return errResp(unix.EACCES), -1
	}
	return deputyResp{}, fd
}

// callersProc says whether fd, a file of procfs, is outside every
// process's directory or inside the caller's own.
func callersProc(fd int, caller int32) bool {
	name, err := os.Readlink(fdPath(fd))
	if err != nil {
		return false
	}
	rest, ok := strings.CutPrefix(name, "/proc/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, "/")
	if _, err := strconv.Atoi(first); err != nil {
		return first != "self" && first != "thread-self"
	}
	return caller > 0 && first == strconv.Itoa(int(caller))
}

// entry is a directory entry of the sandbox, opened for acting on.
type entry struct {
	dir  int    // O_PATH fd of the parent directory
	path string // the canonical sandbox path of the entry
	name string
	proc bool // the directory is the caller's procfs directory
}

// close closes the entry's directory. The zero entry, which a failed
// lookup returns, holds none: closing descriptor 0 there would close
// whatever the deputy opened next under that number.
func (e entry) close() {
	if e.dir > 0 {
		unix.Close(e.dir)
	}
}

// at is the /proc/self/fd path of the entry, for calls that take a path.
func (e entry) at() string { return fdPath(e.dir) + "/" + e.name }

// parentOf resolves everything but the last component of the absolute
// path p, as the kernel would for the caller, and returns the entry. A
// directory of procfs is taken only outside every process's directory or
// inside the caller's own: "self" names the deputy here, and nothing of
// the deputy may reach the command.
func parentOf(p string, caller int32) (entry, error) {
	if !strings.HasPrefix(p, "/") {
		return entry{}, unix.ENOENT
	}
	trimmed := strings.TrimRight(p, "/")
	if trimmed == "" {
		return entry{}, unix.EEXIST // "/" itself
	}
	i := strings.LastIndex(trimmed, "/")
	dirPart, name := trimmed[:i+1], trimmed[i+1:]
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS}
	if callersLink(dirPart, caller) {
		// Through the caller's own descriptors and working directory
		// (fd/N/name, cwd/name): the kernel follows those links for
		// the caller, and so does the deputy. Where they lead is
		// checked below like any directory.
		how.Resolve = 0
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, dirPart, how)
	if err != nil {
		return entry{}, errnoOf(err)
	}
	dir, err := os.Readlink(fdPath(fd))
	if err != nil {
		unix.Close(fd)
		return entry{}, unix.EACCES
	}
	e := entry{dir: fd, path: path.Join(dir, name), name: name}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		e.close()
		return entry{}, errnoOf(err)
	}
	if e.proc = fs.Type == unix.PROC_SUPER_MAGIC; e.proc && !callersProc(fd, caller) {
		e.close()
		return entry{}, unix.EACCES
	}
	return e, nil
}

// callersLink says whether dir (ending in "/") starts with a link of the
// caller's own /proc directory to one of its descriptors or its working
// directory: /proc/PID/fd/N/, /proc/PID/cwd/, or the same of one of its
// threads. Not root/, which leads anywhere, other processes' entries
// included.
func callersLink(dir string, caller int32) bool {
	rest, ok := strings.CutPrefix(dir, "/proc/"+strconv.Itoa(int(caller))+"/")
	if caller <= 0 || !ok {
		return false
	}
	if t, ok := strings.CutPrefix(rest, "task/"); ok {
		_, rest, _ = strings.Cut(t, "/")
	}
	return strings.HasPrefix(rest, "fd/") || strings.HasPrefix(rest, "cwd/")
}

// followCreate resolves a name that open(O_CREAT) would create: while the
// entry is a symlink, the kernel creates its target instead.
func followCreate(e entry, flags uint64, caller int32) (entry, error) {
	for hops := 0; ; hops++ {
		if e.proc {
			return e, nil // the caller's own links: the kernel follows them (see open)
		}
		target, err := readlinkat(e.dir, e.name)
		if err != nil {
			return e, nil // not a symlink (or not there): e is what gets created
		}
		if flags&unix.O_EXCL != 0 {
			return e, unix.EEXIST
		}
		if flags&unix.O_NOFOLLOW != 0 || hops >= 40 {
			return e, unix.ELOOP
		}
		dir, _ := os.Readlink(fdPath(e.dir))
		next := target
		if !strings.HasPrefix(target, "/") {
			next = dir + "/" + target
		}
		e.close()
		if e, err = parentOf(next, caller); err != nil {
			return e, err
		}
	}
}

func readlinkat(dir int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// check asks the policy about creating the entry (or using it as a
// place for something prepared elsewhere). A refusal answers what the
// kernel layers would have: EROFS on a read-only mount, EACCES otherwise.
func (d *deputy) check(op string, e entry, place bool) *deputyResp {
	rule, denied := d.rules.CheckCreate(e.path, place)
	if !denied {
		return nil
	}
	r := d.refused(op, e, rule)
	return &r
}

// refusal is a refusal by a check made while creating an entry (see
// create): rule says which.
type refusal struct{ rule string }

func (r refusal) Error() string { return r.rule }

// refused answers a refused change of the entry: EROFS on a read-only
// mount, EACCES otherwise, and the block to report.
func (d *deputy) refused(op string, e entry, rule string) deputyResp {
	errno := unix.EACCES
	var fs unix.Statfs_t
	if unix.Fstatfs(e.dir, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		errno = unix.EROFS
	}
	return deputyResp{Errno: int32(errno), Block: &deputyBlock{Kind: "file", Op: op, Target: e.path, Rule: rule}}
}

// create checks and makes a new name with do.
func (d *deputy) create(q *deputyReq, op string, place bool, do func(entry) error) (deputyResp, int) {
	e, err := parentOf(q.Path, q.Caller)
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer e.close()
	if op != "rename" {
		// A name that is there already: the kernel answers EEXIST
		// whatever the policy says, and the sandbox changes nothing
		// (mkdir -p walks up through every existing parent).
		var st unix.Stat_t
		if unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return errResp(unix.EEXIST), -1
		}
	}
	if r := d.check(op, e, place); r != nil {
		return *r, -1
	}
	err = do(e)
	if r, ok := err.(refusal); ok {
		return d.refused(op, e, r.rule), -1
	}
	return errResp(errnoOf0(err)), -1
}

// open performs open/openat/openat2. Only creating opens and openat2
// (whose flags the filter cannot see) come here.
func (d *deputy) open(q *deputyReq) (deputyResp, int) {
	if q.Flags&unix.O_CREAT == 0 {
		return d.openExisting(q)
	}
	for try := 0; ; try++ {
		r, fd, raced := d.openCreate(q)
		// The name was made between the look and the exclusive create
		// (another thread, or this very call restarted after a signal):
		// look again, as the kernel's own open would have found it.
		if !raced || try == 3 {
			return r, fd
		}
	}
}

// openCreate is one try of an open with O_CREAT. raced says that the
// exclusive create this adds for a name it found missing failed with
// EEXIST: the name appeared meanwhile.
func (d *deputy) openCreate(q *deputyReq) (deputyResp, int, bool) {
	r, fd, excl := d.openCreateOnce(q)
	return r, fd, excl && fd < 0 && r.Block == nil && r.Errno == int32(unix.EEXIST)
}

func (d *deputy) openCreateOnce(q *deputyReq) (deputyResp, int, bool) {
	flags := q.Flags
	e, err := parentOf(q.Path, q.Caller)
	if err == nil {
		if e, err = followCreate(e, flags, q.Caller); err != nil {
			e.close()
		}
	}
	if err != nil {
		return errResp(errnoOf(err)), -1, false
	}
	defer e.close()
	if e.proc {
		// An entry of the caller's own /proc directory: nothing can be
		// created there, and its links (fd/N, cwd) lead where the
		// caller's own descriptors do. The kernel follows them as it
		// would for the caller.
		r, out := d.openChecked(q, e.dir, e.name, flags, q.Mode)
		return r, out, false
	}
	var st unix.Stat_t
	err = unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		// place: a new file must not take a name that protected paths
		// lie under (a ".git" file with "gitdir: elsewhere" would hand
		// git a configuration the program wrote).
		if r := d.check("create", e, true); r != nil {
			return *r, -1, false
		}
		flags |= unix.O_EXCL // create exactly the name that was checked
	} else if err == nil && isDevTTY(&st) {
		return deputyResp{Retry: retryCtty}, -1, false
	} else if err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// An existing file: the open may truncate it, so the policy
		// is asked first.
		if pfd, err := unix.Openat(e.dir, e.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			r := d.writeRefusal(pfd, flags)
			unix.Close(pfd)
			if r != nil {
				return *r, -1, false
			}
		}
	}
	added := flags&unix.O_EXCL != 0 && q.Flags&unix.O_EXCL == 0
	fd, err := unix.Openat2(e.dir, e.name, &unix.OpenHow{
		Flags: flags | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Mode:  q.Mode,
	})
	if err != nil {
		errno := errnoOf(err)
		if (errno == unix.EROFS || errno == unix.EACCES) && flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 {
			// An existing file the sandbox keeps read-only, opened to
			// write (a shell's ">", open(p, "w")): say which rule.
			if rule, ok := d.rules.CanWrite(e.path); !ok {
				return deputyResp{Errno: int32(errno), Block: &deputyBlock{Kind: "file", Op: "write", Target: e.path, Rule: rule}}, -1, false
			}
		}
		return errResp(errno), -1, added
	}
	r, out := d.give(q, fd)
	return r, out, false
}

// openExisting opens an existing path, following symlinks as the
// kernel would for the caller.
func (d *deputy) openExisting(q *deputyReq) (deputyResp, int) {
	flags := q.Flags
	// Find what the path names first, then open exactly that through the
	// O_PATH descriptor, so that it cannot be swapped in between.
	pathFlags := unix.O_PATH | unix.O_CLOEXEC | (flags & (unix.O_NOFOLLOW | unix.O_DIRECTORY))
	pfd, err := unix.Openat2(unix.AT_FDCWD, q.Path, &unix.OpenHow{Flags: pathFlags,
		Resolve: q.Resolve | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return errResp(errnoOf(err)), -1
	}
	switch {
	case isDevTTY(&st):
		return deputyResp{Retry: retryCtty}, -1
	case flags&unix.O_PATH != 0:
		fd, err := unix.Dup(pfd)
		if err != nil {
			return errResp(errnoOf(err)), -1
		}
		unix.CloseOnExec(fd)
		return d.give(q, fd)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return errResp(unix.ELOOP), -1 // O_NOFOLLOW on a symlink
	}
	if r := d.writeRefusal(pfd, flags); r != nil {
		return *r, -1
	}
	fd, err := unix.Open(fdPath(pfd), int((flags&^(unix.O_CREAT|unix.O_NOFOLLOW))|unix.O_CLOEXEC), uint32(q.Mode))
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	return d.give(q, fd)
}

// writeRefusal says whether opening the file at pfd (an O_PATH
// descriptor) with flags would write a file the policy keeps read-only —
// one the mount tree does not (a protected name in a repository nested
// deep in the workspace, say). It is asked before the open, which may
// truncate. Devices, pipes, sockets and /proc are the kernel's to judge.
func (d *deputy) writeRefusal(pfd int, flags uint64) *deputyResp {
	if flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) == 0 {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(pfd, &st) != nil {
		return nil
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFDIR {
		return nil
	}
	p, err := os.Readlink(fdPath(pfd))
	if err != nil {
		return nil
	}
	return d.changeRefusal("write", pfd, p)
}

// changeRefusal says whether changing (op) the file at pfd, which the
// kernel names p, would change a file the policy keeps read-only: EROFS
// where its mount is read-only, EACCES otherwise, and the block to
// report. Objects without a name (pipes, sockets), devices and /proc are
// the kernel's to judge.
func (d *deputy) changeRefusal(op string, pfd int, p string) *deputyResp {
	if !strings.HasPrefix(p, "/") || isDevice(p) || p == "/proc" || strings.HasPrefix(p, "/proc/") {
		return nil
	}
	p = strings.TrimSuffix(p, " (deleted)")
	rule, ok := d.rules.CanWrite(p)
	if ok {
		return nil
	}
	errno := unix.EACCES
	var fs unix.Statfs_t
	if unix.Fstatfs(pfd, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		errno = unix.EROFS
	}
	return &deputyResp{Errno: int32(errno), Block: &deputyBlock{Kind: "file", Op: op, Target: p, Rule: rule}}
}

// openChecked opens path (following links, the caller's /proc links
// included) with flags, refusing a write the policy does not allow.
func (d *deputy) openChecked(q *deputyReq, dir int, name string, flags, mode uint64) (deputyResp, int) {
	pfd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer unix.Close(pfd)
	if r := d.writeRefusal(pfd, flags); r != nil {
		return *r, -1
	}
	fd, err := unix.Open(fdPath(pfd), int((flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW))|unix.O_CLOEXEC), uint32(mode))
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	return d.give(q, fd)
}

// isDevTTY says whether st is /dev/tty's device (5, 0): opening it opens
// the opener's controlling terminal, which the deputy does not share with
// the caller.
func isDevTTY(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(5, 0)
}

// openPts opens the pty slave with device number nr (the caller's
// controlling terminal, a pty of the sandbox's devpts in PTY mode).
func openPts(nr, flags uint64) (deputyResp, int) {
	if nr == 0 || unix.Major(nr) != 136 { // 136: the pty slaves
		return errResp(unix.ENXIO), -1
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/dev/pts/"+strconv.FormatUint(uint64(unix.Minor(nr)), 10), &unix.OpenHow{
		Flags:   (flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC)) | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return errResp(unix.ENXIO), -1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Rdev != nr {
		unix.Close(fd)
		return errResp(unix.ENXIO), -1
	}
	return deputyResp{}, fd
}

func (d *deputy) rename(q *deputyReq) (deputyResp, int) {
	e, err := parentOf(q.Path, q.Caller)
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer e.close()
	if r := d.check("rename", e, true); r != nil {
		return *r, -1
	}
	old, err := parentOf(q.Path2, q.Caller)
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer old.close()
	// The old name must not hold protected paths either: moving ".git"
	// away would take its read-only hooks and config with it and free the
	// name for one the program prepared. With RENAME_EXCHANGE the old
	// name also receives the new one's object. Both are checked as places.
	if r := d.check("rename", old, true); r != nil {
		return *r, -1
	}
	if rule, denied := d.rules.CheckMove(old.path, e.path, q.Flags&unix.RENAME_EXCHANGE != 0); denied {
		return d.refused("rename", e, rule), -1
	}
	return errResp(errnoOf0(unix.Renameat2(old.dir, old.name, e.dir, e.name, uint(q.Flags)))), -1
}

func errnoOf0(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return errnoOf(err)
}

// sockCall performs connect(2) or bind(2) on the caller's socket sock:
// to q.Path, the absolute name of a pathname unix socket, or else to the
// address q.Addr. A pathname is resolved here:
// connecting needs the policy's leave or a socket this sandbox bound;
// binding creates a name and is checked like any creation. Every other
// address is the kernel's to judge (the network namespace, Landlock's
// TCP and abstract-socket rules).
func (d *deputy) sockCall(q *deputyReq, sock int) (deputyResp, int) {
	if q.Path == "" {
		if len(q.Addr) < 2 {
			return errResp(unix.EINVAL), -1
		}
		return errResp(rawSockCall(q.Op == opConnect, sock, q.Addr)), -1
	}
	if q.Op == opConnect {
		return d.connectUnix(sock, q.Path)
	}
	return d.bindUnix(sock, q.Path, q.Caller)
}

func rawSockCall(connect bool, sock int, addr []byte) syscall.Errno {
	nr := uintptr(unix.SYS_BIND)
	if connect {
		nr = unix.SYS_CONNECT
	}
	_, _, errno := syscall.Syscall(nr, uintptr(sock), uintptr(unsafe.Pointer(&addr[0])), uintptr(len(addr)))
	return errno
}

// unixAddr builds a sockaddr_un for p (which must fit).
func unixAddr(p string) ([]byte, bool) {
	if len(p) >= 108 {
		return nil, false
	}
	a := make([]byte, 2+len(p)+1)
	binary.LittleEndian.PutUint16(a, unix.AF_UNIX)
	copy(a[2:], p)
	return a, true
}

func (d *deputy) connectUnix(sock int, p string) (deputyResp, int) {
	target, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer unix.Close(target)
	var st unix.Stat_t
	if err := unix.Fstat(target, &st); err != nil {
		return errResp(errnoOf(err)), -1
	}
	canonical, _ := os.Readlink(fdPath(target))
	d.mu.Lock()
	own := d.bound[[2]uint64{st.Dev, st.Ino}]
	d.mu.Unlock()
	if !own {
		if rule, ok := d.rules.UnixSocketAllowed(canonical); !ok {
			return deputyResp{Errno: int32(unix.EACCES),
				Block: &deputyBlock{Kind: "net", Op: "connect", Target: canonical, Rule: rule}}, -1
		}
	}
	// Connect to the very inode that was checked, through its fd.
	addr, _ := unixAddr(fdPath(target))
	return errResp(rawSockCall(true, sock, addr)), -1
}

func (d *deputy) bindUnix(sock int, p string, caller int32) (deputyResp, int) {
	e, err := parentOf(p, caller)
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer e.close()
	var st unix.Stat_t
	if unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return errResp(unix.EADDRINUSE), -1 // as the kernel answers, whatever the policy
	}
	if r := d.check("create", e, false); r != nil {
		return *r, -1
	}
	addr, ok := unixAddr(e.at())
	if !ok {
		return errResp(unix.ENAMETOOLONG), -1
	}
	if errno := rawSockCall(false, sock, addr); errno != 0 {
		return errResp(errno), -1
	}
	if unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		d.mu.Lock()
		d.bound[[2]uint64{st.Dev, st.Ino}] = true
		d.mu.Unlock()
	}
	return deputyResp{}, -1
}
