package isolation

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// superviseRules is what the supervisor asks of the Policy.
type superviseRules interface {
	CanRead(path string) (rule string, ok bool)
	CanWrite(path string) (rule string, ok bool)
	CheckCreate(path string, place bool) (rule string, denied bool)
	UnixSocketAllowed(path string) (rule string, ok bool)
}

// The seccomp user-notification interface (linux/seccomp.h).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

const (
	ioctlNotifRecv    = 0xc0502100 // SECCOMP_IOCTL_NOTIF_RECV
	ioctlNotifSend    = 0xc0182101 // SECCOMP_IOCTL_NOTIF_SEND
	ioctlNotifIDValid = 0x40082102 // SECCOMP_IOCTL_NOTIF_ID_VALID
	ioctlNotifAddfd   = 0x40182103 // SECCOMP_IOCTL_NOTIF_ADDFD
	ioctlNotifSetFlag = 0x40082104 // SECCOMP_IOCTL_NOTIF_SET_FLAGS (Linux 6.6)
	addfdFlagSend     = 2          // SECCOMP_ADDFD_FLAG_SEND

	// notifSyncWakeUp is SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: the waiting
	// side is woken on the CPU of the side that woke it, which then
	// sleeps, instead of on another CPU through the scheduler.
	notifSyncWakeUp = 1
)

// supervisor answers the calls the seccomp filter sends it. It never lets
// the kernel carry on with a call it checked (the program could change the
// arguments in between): for everything it allows it performs the
// operation itself — on the program's own socket (pidfd_getfd), or through
// the sandbox's view of the filesystem (/proc/PID/root with
// RESOLVE_IN_ROOT), with the arguments copied into its own memory — and
// returns the result. If the supervisor stops, the kernel fails the
// pending and future calls with ENOSYS: it fails closed.
type supervisor struct {
	fd     int
	rules  superviseRules
	mode   NetworkMode
	report func(Event)
	// directNet, set only when there is no network namespace, decides
	// the inet connects the supervisor performs: nil lets the sandbox's
	// own network decide.
	directNet func(netip.AddrPort) (rule string, ok bool)

	mu    sync.Mutex
	bound map[[2]uint64]bool // (dev, ino) of unix sockets this sandbox bound
	root  int                // O_PATH fd of the sandbox's root, -1 until needed
}

func newSupervisor(listener int, rules superviseRules, mode NetworkMode, report func(Event)) *supervisor {
	return &supervisor{fd: listener, rules: rules, mode: mode, report: report, bound: map[[2]uint64]bool{}, root: -1}
}

// Run answers calls until the sandbox is gone or ctx is done; it closes the
// listener.
func (s *supervisor) Run(ctx context.Context) error {
	// One thread waits and answers: no hand-off between threads per call.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer unix.Close(s.fd)
	defer func() {
		if s.root >= 0 {
			unix.Close(s.root)
		}
	}()
	// Each notification is a strict ping-pong: the caller sleeps until it
	// is answered. Older kernels refuse the flag; it only saves time.
	_, _, _ = syscall.Syscall(unix.SYS_IOCTL, uintptr(s.fd), ioctlNotifSetFlag, notifSyncWakeUp)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("supervisor: poll: %w", err)
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return nil // every process of the sandbox is gone
		}
		var req seccompNotif
		if err := ioctlPtr(s.fd, ioctlNotifRecv, unsafe.Pointer(&req)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // the caller went away
			}
			return fmt.Errorf("supervisor: receive: %w", err)
		}
		if !mayBlock(&req) {
			// Most calls are answered from here, without a goroutine
			// hand-off: a file-heavy program sends thousands of them.
			s.handle(&req)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(&req)
		}()
	}
	return nil
}

// mayBlock says whether answering req may wait on something outside the
// sandbox: a connect the supervisor makes itself, or an open it performs
// (a FIFO opened for writing waits for a reader). Those get their own
// goroutine, so that one cannot hold up the calls of other processes.
func mayBlock(req *seccompNotif) bool {
	switch uintptr(req.Data.Nr) {
	case unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_OPENAT2:
		return true
	case unix.SYS_OPENAT:
		return req.Data.Args[2]&unix.O_CREAT != 0
	}
	return isLegacyOpen(uintptr(req.Data.Nr))
}

func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if errno != 0 {
		return errno
	}
	return nil
}

// call is one intercepted syscall being answered.
type call struct {
	s   *supervisor
	req *seccompNotif
	pid int
	mem *os.File
}

func (s *supervisor) handle(req *seccompNotif) {
	c := &call{s: s, req: req, pid: int(req.Pid)}
	val, errno := c.dispatch()
	if c.mem != nil {
		c.mem.Close()
	}
	if errno == addfdSent {
		return // answered by NOTIF_ADDFD
	}
	resp := seccompNotifResp{ID: req.ID, Val: val}
	if errno == continueCall {
		resp.Flags = notifFlagContinue
	} else if errno != 0 {
		resp.Val, resp.Error = 0, -int32(errno)
	}
	_ = ioctlPtr(s.fd, ioctlNotifSend, unsafe.Pointer(&resp))
}

// addfdSent is a marker errno: the answer went out with NOTIF_ADDFD.
const addfdSent = syscall.Errno(1 << 30)

func (c *call) arg(i int) uint64 { return c.req.Data.Args[i] }

func (c *call) dirfd(i int) int32 { return int32(c.arg(i)) }

// valid says whether the call is still pending, so that what was read from
// /proc/PID belongs to it and not to a recycled pid.
func (c *call) valid() bool {
	id := c.req.ID
	return ioctlPtr(c.s.fd, ioctlNotifIDValid, unsafe.Pointer(&id)) == nil
}

func (c *call) read(addr uint64, n int) ([]byte, error) {
	// process_vm_readv: one system call, no /proc file to open and close.
	// It stops at the first unmapped page, as the file read does.
	buf := make([]byte, n)
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(n)
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: n}}
	if got, err := unix.ProcessVMReadv(c.pid, local, remote, 0); err == nil {
		if got == 0 {
			return nil, unix.EFAULT
		}
		return buf[:got], nil
	} else if err == unix.EFAULT {
		return nil, unix.EFAULT
	}
	if c.mem == nil {
		f, err := os.Open("/proc/" + strconv.Itoa(c.pid) + "/mem")
		if err != nil {
			return nil, err
		}
		c.mem = f
	}
	got, err := c.mem.ReadAt(buf, int64(addr))
	if got == 0 && err != nil {
		return nil, unix.EFAULT
	}
	return buf[:got], nil
}

// str reads a NUL-terminated path argument.
func (c *call) str(addr uint64) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	var out []byte
	for len(out) < unix.PathMax {
		at := addr + uint64(len(out))
		// Never across a page boundary: the next page may be unmapped
		// while the string ends before it.
		n := min(256, int(4096-at%4096))
		chunk, err := c.read(at, n)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			return string(append(out, chunk[:i]...)), nil
		}
		out = append(out, chunk...)
	}
	return "", unix.ENAMETOOLONG
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EACCES
}

func (c *call) dispatch() (int64, syscall.Errno) {
	nr := uintptr(c.req.Data.Nr)
	at := func(dirArg, pathArg int) (int32, uint64) { return c.dirfd(dirArg), c.arg(pathArg) }
	switch {
	case nr == unix.SYS_CONNECT:
		return c.connectOrBind(true)
	case nr == unix.SYS_BIND:
		return c.connectOrBind(false)
	case nr == unix.SYS_OPENAT:
		d, p := at(0, 1)
		if c.arg(2)&unix.O_CREAT == 0 {
			return c.observeOpen(d, p, c.arg(2))
		}
		return c.open(d, p, c.arg(2), c.arg(3), 0)
	case nr == unix.SYS_EXECVE:
		return c.observeExec(unix.AT_FDCWD, c.arg(0), 0)
	case nr == unix.SYS_EXECVEAT:
		return c.observeExec(c.dirfd(0), c.arg(1), c.arg(4))
	case nr == unix.SYS_UNLINKAT:
		d, p := at(0, 1)
		return c.observeDelete(d, p)
	case nr == unix.SYS_READLINKAT:
		d, p := at(0, 1)
		return c.observeLookup(d, p)
	case nr == unix.SYS_SENDTO:
		return c.observeSend(c.arg(4), c.arg(5))
	case nr == unix.SYS_CLONE || nr == unix.SYS_UNSHARE || nr == unix.SYS_IOCTL || nr == unix.SYS_SOCKET:
		return c.refusedSyscall(nr)
	case nr == unix.SYS_OPENAT2:
		how, err := c.read(c.arg(2), 24)
		if err != nil || len(how) < 24 || c.arg(3) < 24 {
			return 0, unix.EINVAL
		}
		le := binary.LittleEndian
		return c.open(c.dirfd(0), c.arg(1), le.Uint64(how[0:]), le.Uint64(how[8:]), le.Uint64(how[16:]))
	case nr == unix.SYS_MKDIRAT:
		d, p := at(0, 1)
		return c.mkdir(d, p, c.arg(2))
	case nr == unix.SYS_MKNODAT:
		d, p := at(0, 1)
		return c.mknod(d, p, c.arg(2), c.arg(3))
	case nr == unix.SYS_SYMLINKAT:
		return c.symlink(c.arg(0), c.dirfd(1), c.arg(2))
	case nr == unix.SYS_LINKAT:
		return c.link(c.dirfd(0), c.arg(1), c.dirfd(2), c.arg(3), int(c.arg(4)))
	case nr == unix.SYS_RENAMEAT:
		return c.rename(c.dirfd(0), c.arg(1), c.dirfd(2), c.arg(3), 0)
	case nr == unix.SYS_RENAMEAT2:
		return c.rename(c.dirfd(0), c.arg(1), c.dirfd(2), c.arg(3), uint(c.arg(4)))
	}
	if _, ok := deniedSyscalls()[nr]; ok {
		return c.refusedSyscall(nr)
	}
	return c.legacy(nr)
}

// sandboxPath builds the absolute path, as the sandbox sees it, of a path
// argument relative to dirfd (or the cwd).
func (c *call) sandboxPath(dirfd int32, p string) (string, error) {
	if p == "" {
		return "", unix.ENOENT
	}
	if strings.HasPrefix(p, "/") {
		return p, nil
	}
	link := "/proc/" + strconv.Itoa(c.pid) + "/cwd"
	if dirfd != unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(c.pid) + "/fd/" + strconv.Itoa(int(dirfd))
	}
	base, err := os.Readlink(link)
	if err != nil {
		return "", unix.EBADF
	}
	if strings.HasSuffix(base, " (deleted)") {
		return "", unix.ENOENT
	}
	return strings.TrimSuffix(base, "/") + "/" + p, nil
}

// entry is a directory entry of the sandbox, opened for acting on.
type entry struct {
	dir  int    // O_PATH fd of the parent directory
	path string // the canonical sandbox path of the entry
	name string
}

func (e entry) close() { unix.Close(e.dir) }

// at is the /proc/self/fd path of the entry, for calls that take a path.
func (e entry) at() string { return fdPath(e.dir) + "/" + e.name }

// openRoot opens the sandbox's root directory.
// The fd belongs to the supervisor: callers must not close it. Every
// process of the sandbox has the same root (chroot, pivot_root and new
// mount namespaces are out of their reach), so it is opened once, from
// the first caller's /proc entry, and checked to be still that caller's.
func (c *call) openRoot() (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root >= 0 {
		return s.root, nil
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(c.pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if !c.valid() { // the pid was recycled: not the sandbox's root
		unix.Close(fd)
		return -1, unix.ESRCH
	}
	s.root = fd
	return fd, nil
}

// parent resolves everything but the last component of p inside the
// sandbox, as the kernel would, and returns the entry.
func (c *call) parent(dirfd int32, p string) (entry, error) {
	full, err := c.sandboxPath(dirfd, p)
	if err != nil {
		return entry{}, err
	}
	trimmed := strings.TrimRight(full, "/")
	if trimmed == "" {
		return entry{}, unix.EEXIST // "/" itself
	}
	i := strings.LastIndex(trimmed, "/")
	dirPart, name := trimmed[:i+1], trimmed[i+1:]
	root, err := c.openRoot()
	if err != nil {
		return entry{}, unix.EACCES
	}
	fd, err := unix.Openat2(root, dirPart, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return entry{}, errnoOf(err)
	}
	dir, err := os.Readlink(fdPath(fd))
	if err != nil {
		unix.Close(fd)
		return entry{}, unix.EACCES
	}
	return entry{dir: fd, path: path.Join(dir, name), name: name}, nil
}

// followCreate resolves a name that open(O_CREAT) would create: while the
// entry is a symlink, the kernel creates its target instead.
func (c *call) followCreate(e entry, flags uint64) (entry, error) {
	for hops := 0; ; hops++ {
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
		if e, err = c.parent(unix.AT_FDCWD, next); err != nil {
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

func (c *call) umask() uint32 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.pid) + "/status")
	if err != nil {
		return 0o022
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(m)
			}
		}
	}
	return 0o022
}

// checkCreate asks the policy about creating the entry; a refusal is
// reported. The program sees what the kernel layers would have answered:
// EROFS on a read-only mount, EACCES otherwise.
func (c *call) checkCreate(op string, e entry, place bool) syscall.Errno {
	rule, denied := c.s.rules.CheckCreate(e.path, place)
	if !denied {
		return 0
	}
	errno := unix.EACCES
	var fs unix.Statfs_t
	if unix.Fstatfs(e.dir, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		errno = unix.EROFS
	}
	c.reportBlock("file", op, e.path, rule, errno)
	return errno
}

func (c *call) reportBlock(kind, op, target, rule string, errno syscall.Errno) {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(c.pid) + "/exe")
	c.s.report(Event{Time: time.Now(), Kind: kind, Op: op, Target: target, PID: c.pid, Exe: exe,
		Rule: rule, Layer: "supervisor", Errno: unix.ErrnoName(errno)})
}

// open performs open/openat/openat2 for the program. Only creating opens
// and openat2 (whose flags the filter cannot see) come here.
func (c *call) open(dirfd int32, pathAddr, flags, mode, resolve uint64) (int64, syscall.Errno) {
	p, err := c.str(pathAddr)
	if err != nil {
		return 0, errnoOf(err)
	}
	if !c.valid() {
		return 0, unix.ENOENT
	}
	if flags&unix.O_CREAT == 0 {
		val, errno := c.openFollowing(p, dirfd, flags, mode, resolve)
		if errno != 0 && errno != addfdSent {
			return c.orOwnFD(dirfd, p, flags, mode, val, errno)
		}
		return val, errno
	}
	e, err := c.parent(dirfd, p)
	if err == nil {
		if e, err = c.followCreate(e, flags); err != nil {
			e.close()
		}
	}
	if err != nil {
		return c.orOwnFD(dirfd, p, flags, mode, 0, errnoOf(err))
	}
	defer e.close()
	var st unix.Stat_t
	err = unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		// place: a new file must not take a name that protected paths
		// lie under (a ".git" file with "gitdir: elsewhere" would hand
		// git a configuration the program wrote).
		if errno := c.checkCreate("create", e, true); errno != 0 {
			return 0, errno
		}
		flags |= unix.O_EXCL // create exactly the name that was checked
	} else if err == nil && isDevTTY(&st) {
		return c.openCtty(flags)
	}
	fd, err := unix.Openat2(e.dir, e.name, &unix.OpenHow{
		Flags: flags | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Mode:  mode &^ uint64(c.umask()),
	})
	if err != nil {
		return 0, errnoOf(err)
	}
	return c.sendFD(fd, flags&unix.O_CLOEXEC != 0)
}

// openFollowing opens an existing path for the program, following
// symlinks inside the sandbox's root.
func (c *call) openFollowing(p string, dirfd int32, flags, mode, resolve uint64) (int64, syscall.Errno) {
	full, err := c.sandboxPath(dirfd, p)
	if err != nil {
		return 0, errnoOf(err)
	}
	root, err := c.openRoot()
	if err != nil {
		return 0, unix.EACCES
	}
	// Find what the path names first, then open exactly that through the
	// O_PATH descriptor, so that it cannot be swapped in between.
	pathFlags := unix.O_PATH | unix.O_CLOEXEC | (flags & (unix.O_NOFOLLOW | unix.O_DIRECTORY))
	pfd, err := unix.Openat2(root, full, &unix.OpenHow{Flags: pathFlags,
		Resolve: resolve | unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return 0, errnoOf(err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return 0, errnoOf(err)
	}
	switch {
	case isDevTTY(&st):
		return c.openCtty(flags)
	case flags&unix.O_PATH != 0:
		fd, err := unix.Dup(pfd)
		if err != nil {
			return 0, errnoOf(err)
		}
		return c.sendFD(fd, flags&unix.O_CLOEXEC != 0)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return 0, unix.ELOOP // O_NOFOLLOW on a symlink
	}
	fd, err := unix.Open(fdPath(pfd), int((flags&^(unix.O_CREAT|unix.O_NOFOLLOW))|unix.O_CLOEXEC), uint32(mode))
	if err != nil {
		return 0, errnoOf(err)
	}
	return c.sendFD(fd, flags&unix.O_CLOEXEC != 0)
}

// ownFD says whether path p names one of the caller's own descriptors
// through /proc/self/fd/N (or /dev/stdout, /dev/fd/N and other links to
// it): "self" would name sbshim in the supervisor's context, so such opens
// are answered by reopening the caller's descriptor N (see reopenFD).
// It is asked only when the open failed, so that it costs nothing
// otherwise: the supervisor's own lookup of such a path fails.
func (c *call) ownFD(dirfd int32, p string) (int, bool) {
	full, err := c.resolve(dirfd, p, true)
	if err != nil {
		return 0, false
	}
	rest, ok := callerProc(full)
	if n, isFD := strings.CutPrefix(rest, "fd/"); ok && isFD {
		fd, err := strconv.Atoi(n)
		return fd, err == nil && fd >= 0
	}
	return 0, false
}

// orOwnFD answers an open that failed with (val, errno): by reopening the
// caller's own descriptor if that is what p names, else as it failed.
func (c *call) orOwnFD(dirfd int32, p string, flags, mode uint64, val int64, errno syscall.Errno) (int64, syscall.Errno) {
	if fd, ok := c.ownFD(dirfd, p); ok {
		return c.reopenFD(fd, flags, mode)
	}
	return val, errno
}

// reopenFD opens the caller's descriptor fd anew, as opening
// /proc/self/fd/N does for it: a new open file description of the same
// file, checked by the kernel. Nothing is created.
func (c *call) reopenFD(fd int, flags, mode uint64) (int64, syscall.Errno) {
	nfd, err := unix.Open("/proc/"+strconv.Itoa(c.pid)+"/fd/"+strconv.Itoa(fd),
		int((flags&^(unix.O_CREAT|unix.O_EXCL))|unix.O_CLOEXEC), uint32(mode))
	if err != nil {
		return 0, errnoOf(err)
	}
	if !c.valid() { // the pid was recycled: not the caller's descriptor
		unix.Close(nfd)
		return 0, unix.ENOENT
	}
	return c.sendFD(nfd, flags&unix.O_CLOEXEC != 0)
}

// isDevTTY says whether st is /dev/tty's device (5, 0): opening it opens
// the opener's controlling terminal. The supervisor opens files in its
// own context, where that would be sbshim's terminal — never the
// program's to have.
func isDevTTY(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(5, 0)
}

// openCtty opens /dev/tty as the kernel would for the calling program: its
// own controlling terminal (a pty of the sandbox's devpts in PTY mode), or
// ENXIO when it has none.
func (c *call) openCtty(flags uint64) (int64, syscall.Errno) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.pid) + "/stat")
	if err != nil {
		return 0, unix.ENXIO
	}
	// After the command name in parentheses: state ppid pgrp session tty_nr.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 5 || !c.valid() {
		return 0, unix.ENXIO
	}
	nr, err := strconv.ParseUint(fields[4], 10, 64)
	if err != nil || nr == 0 || unix.Major(nr) != 136 { // 136: the pty slaves
		return 0, unix.ENXIO
	}
	root, err := c.openRoot()
	if err != nil {
		return 0, unix.ENXIO
	}
	fd, err := unix.Openat2(root, "/dev/pts/"+strconv.FormatUint(uint64(unix.Minor(nr)), 10), &unix.OpenHow{
		Flags:   (flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC)) | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return 0, unix.ENXIO
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Rdev != nr {
		unix.Close(fd)
		return 0, unix.ENXIO
	}
	return c.sendFD(fd, flags&unix.O_CLOEXEC != 0)
}

// sendFD installs fd in the program and answers the call with its number.
func (c *call) sendFD(fd int, cloexec bool) (int64, syscall.Errno) {
	defer unix.Close(fd)
	add := seccompNotifAddfd{ID: c.req.ID, Flags: addfdFlagSend, Srcfd: uint32(fd)}
	if cloexec {
		add.NewfdFlags = unix.O_CLOEXEC
	}
	if err := ioctlPtr(c.s.fd, ioctlNotifAddfd, unsafe.Pointer(&add)); err != nil {
		return 0, errnoOf(err)
	}
	return 0, addfdSent
}

func (c *call) mkdir(dirfd int32, pathAddr, mode uint64) (int64, syscall.Errno) {
	e, errno := c.newEntry(dirfd, pathAddr, "create", false)
	if errno != 0 {
		return 0, errno
	}
	defer e.close()
	return 0, errnoOf0(unix.Mkdirat(e.dir, e.name, uint32(mode)&^c.umask()))
}

func (c *call) mknod(dirfd int32, pathAddr, mode, dev uint64) (int64, syscall.Errno) {
	e, errno := c.newEntry(dirfd, pathAddr, "create", true)
	if errno != 0 {
		return 0, errno
	}
	defer e.close()
	m := uint32(mode)
	return 0, errnoOf0(unix.Mknodat(e.dir, e.name, m&unix.S_IFMT|(m&^unix.S_IFMT)&^c.umask(), int(dev)))
}

func (c *call) symlink(targetAddr uint64, dirfd int32, pathAddr uint64) (int64, syscall.Errno) {
	target, err := c.str(targetAddr)
	if err != nil {
		return 0, errnoOf(err)
	}
	e, errno := c.newEntry(dirfd, pathAddr, "create", true)
	if errno != 0 {
		return 0, errno
	}
	defer e.close()
	return 0, errnoOf0(unix.Symlinkat(target, e.dir, e.name))
}

func (c *call) link(olddirfd int32, oldAddr uint64, newdirfd int32, newAddr uint64, flags int) (int64, syscall.Errno) {
	oldPath, err := c.str(oldAddr)
	if err != nil && flags&unix.AT_EMPTY_PATH == 0 {
		return 0, errnoOf(err)
	}
	e, errno := c.newEntry(newdirfd, newAddr, "link", true)
	if errno != 0 {
		return 0, errno
	}
	defer e.close()
	if oldPath == "" && flags&unix.AT_EMPTY_PATH != 0 {
		// Linking an open file (O_TMPFILE): through its /proc link.
		src := "/proc/" + strconv.Itoa(c.pid) + "/fd/" + strconv.Itoa(int(olddirfd))
		return 0, errnoOf0(unix.Linkat(unix.AT_FDCWD, src, e.dir, e.name, unix.AT_SYMLINK_FOLLOW))
	}
	old, err := c.parent(olddirfd, oldPath)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer old.close()
	return 0, errnoOf0(unix.Linkat(old.dir, old.name, e.dir, e.name, flags&unix.AT_SYMLINK_FOLLOW))
}

func (c *call) rename(olddirfd int32, oldAddr uint64, newdirfd int32, newAddr uint64, flags uint) (int64, syscall.Errno) {
	oldPath, err := c.str(oldAddr)
	if err != nil {
		return 0, errnoOf(err)
	}
	e, errno := c.newEntry(newdirfd, newAddr, "rename", true)
	if errno != 0 {
		return 0, errno
	}
	defer e.close()
	old, err := c.parent(olddirfd, oldPath)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer old.close()
	// The kernel refuses to move or replace a mount point (EBUSY), but
	// judges that in the caller's mount namespace, and the supervisor is
	// not in the sandbox's: it checks in the sandbox's tree itself.
	if isMountPoint(old) || isMountPoint(e) {
		return 0, unix.EBUSY
	}
	// The old name must not hold protected paths either: moving ".git"
	// away would take its read-only hooks and config with it and free the
	// name for one the program prepared. With RENAME_EXCHANGE the old
	// name also receives the new one's object. Both are checked as places.
	if errno := c.checkCreate("rename", old, true); errno != 0 {
		return 0, errno
	}
	return 0, errnoOf0(unix.Renameat2(old.dir, old.name, e.dir, e.name, flags))
}

// newEntry reads a path argument, resolves its parent and checks that the
// name may be created (or be a place for something prepared elsewhere).
func (c *call) newEntry(dirfd int32, pathAddr uint64, op string, place bool) (entry, syscall.Errno) {
	p, err := c.str(pathAddr)
	if err != nil {
		return entry{}, errnoOf(err)
	}
	if !c.valid() {
		return entry{}, unix.ENOENT
	}
	e, err := c.parent(dirfd, p)
	if err != nil {
		return entry{}, errnoOf(err)
	}
	if errno := c.checkCreate(op, e, place); errno != 0 {
		e.close()
		return entry{}, errno
	}
	return e, 0
}

// isMountPoint says whether the entry has something mounted on it in the
// sandbox's tree: opened through its parent, it lies on another mount.
func isMountPoint(e entry) bool {
	var parent, child unix.Statx_t
	if unix.Statx(e.dir, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &parent) != nil {
		return false
	}
	err := unix.Statx(e.dir, e.name, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &child)
	return err == nil && child.Mnt_id != parent.Mnt_id
}

func errnoOf0(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return errnoOf(err)
}

// connectOrBind performs connect(2) or bind(2) on the program's own socket
// with the address copied here. A socket's network namespace is fixed when
// it is made, so an inet connect still happens in the sandbox's network.
// A pathname unix address is resolved in the sandbox's view: connecting
// needs the policy's leave or a socket this sandbox bound; binding creates
// a name and is checked like any creation.
func (c *call) connectOrBind(connect bool) (int64, syscall.Errno) {
	n := int(c.arg(2))
	if n < 2 || n > 128 {
		return 0, unix.EINVAL
	}
	addr, err := c.read(c.arg(1), n)
	if err != nil || len(addr) < n {
		return 0, unix.EFAULT
	}
	sock, errno := c.socket(int(c.arg(0)))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(sock)
	if !c.valid() {
		return 0, unix.ENOENT
	}
	family := binary.LittleEndian.Uint16(addr)
	pathName := ""
	if family == unix.AF_UNIX && n > 2 && addr[2] != 0 {
		raw := addr[2:]
		if i := bytes.IndexByte(raw, 0); i >= 0 {
			raw = raw[:i]
		}
		pathName = string(raw)
	}
	if pathName == "" {
		// inet, inet6, abstract or unnamed unix: the address as is, in
		// the sandbox's network. Without host networking only loopback
		// is reachable; a refusal there is reported.
		if ap, ok := inetAddr(addr); ok && connect && c.s.directNet != nil {
			if rule, ok := c.s.directNet(ap); !ok {
				c.reportBlock("net", netOp(ap), ap.String(), rule, unix.ENETUNREACH)
				return 0, unix.ENETUNREACH
			}
		}
		errno := rawSockCall(connect, sock, addr)
		if ap, ok := inetAddr(addr); ok && connect && c.s.mode != NetHost &&
			(errno == unix.ENETUNREACH || errno == unix.EHOSTUNREACH) && !ap.Addr().IsLoopback() {
			c.reportBlock("net", netOp(ap), ap.String(), directRule(c.s.mode, ap), errno)
		}
		return 0, errno
	}
	if connect {
		return 0, c.connectUnix(sock, pathName)
	}
	return 0, c.bindUnix(sock, pathName)
}

// socket duplicates the program's socket descriptor fd. The notification
// names the thread that made the call; a thread other than the leader
// needs a thread pidfd (descriptors are shared by the thread group).
func (c *call) socket(fd int) (int, syscall.Errno) {
	pidfd, err := unix.PidfdOpen(c.pid, 0)
	if err != nil {
		// EINVAL or, on newer kernels, ENOENT: not a thread-group leader.
		pidfd, err = unix.PidfdOpen(c.pid, unix.PIDFD_THREAD)
		if err != nil {
			// Before Linux 6.9 there are no thread pidfds: use the
			// thread group's.
			if tgid, ok := threadGroup(c.pid); ok {
				pidfd, err = unix.PidfdOpen(tgid, 0)
			}
		}
	}
	if err != nil {
		return -1, unix.ESRCH
	}
	defer unix.Close(pidfd)
	sock, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return -1, errnoOf(err)
	}
	return sock, 0
}

// threadGroup reads the thread-group id of thread tid.
func threadGroup(tid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
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

func (c *call) connectUnix(sock int, p string) syscall.Errno {
	full, err := c.sandboxPath(unix.AT_FDCWD, p)
	if err != nil {
		return errnoOf(err)
	}
	root, err := c.openRoot()
	if err != nil {
		return unix.EACCES
	}
	target, err := unix.Openat2(root, full, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(target)
	var st unix.Stat_t
	if err := unix.Fstat(target, &st); err != nil {
		return errnoOf(err)
	}
	canonical, _ := os.Readlink(fdPath(target))
	c.s.mu.Lock()
	own := c.s.bound[[2]uint64{st.Dev, st.Ino}]
	c.s.mu.Unlock()
	if !own {
		if rule, ok := c.s.rules.UnixSocketAllowed(canonical); !ok {
			c.reportBlock("net", "connect", canonical, rule, unix.EACCES)
			return unix.EACCES
		}
	}
	// Connect to the very inode that was checked, through its fd.
	addr, _ := unixAddr(fdPath(target))
	return rawSockCall(true, sock, addr)
}

func (c *call) bindUnix(sock int, p string) syscall.Errno {
	e, err := c.parent(unix.AT_FDCWD, p)
	if err != nil {
		return errnoOf(err)
	}
	defer e.close()
	if errno := c.checkCreate("create", e, false); errno != 0 {
		return errno
	}
	addr, ok := unixAddr(e.at())
	if !ok {
		return unix.ENAMETOOLONG
	}
	if errno := rawSockCall(false, sock, addr); errno != 0 {
		return errno
	}
	var st unix.Stat_t
	if unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		c.s.mu.Lock()
		c.s.bound[[2]uint64{st.Dev, st.Ino}] = true
		c.s.mu.Unlock()
	}
	return 0
}
