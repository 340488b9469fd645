package isolation

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// superviseRules is what the supervisor asks of the Policy.
type superviseRules interface {
	CanRead(path string) (rule string, ok bool)
	CanWrite(path string) (rule string, ok bool)
	CheckCreate(path string, place bool) (rule string, denied bool)
	UnixSocketAllowed(path string) (rule string, ok bool)
	CheckMove(oldPath, newPath string, exchange bool) (rule string, denied bool)
	CheckSymlink(path, target string) (rule string, denied bool)
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
// the kernel carry on with a call whose outcome a check decided (the
// program could change the arguments in between): it copies the arguments
// into its own memory and has the sandbox's deputy perform the call — a
// process inside the sandbox, no more privileged than the command (see
// deputy_linux.go) — and installs the result in the caller. sbshim's own
// process never opens, connects or binds for the sandbox. The calls the
// kernel layers decide on their own it only observes (observe_linux.go).
// If the supervisor stops, the kernel fails the pending and future calls
// with ENOSYS: it fails closed.
type supervisor struct {
	fd     int
	rules  superviseRules
	mode   policy.NetworkMode
	report func(Event)
	// directNet, set only when there is no network namespace, decides
	// the inet connects the supervisor performs: nil lets the sandbox's
	// own network decide.
	directNet func(netip.AddrPort) (rule string, ok bool)
	// dns is the sandbox's DNS responder (nil: none): datagrams to its
	// addresses' port 53 reach it, and it reports them.
	dns *dnsResponder
	// hostTmp are the trees under /tmp that the sandbox shows from the
	// host (a workspace there): the rest of /tmp is its own, and only
	// there can a file of the host's /tmp be missing (see hostOnly).
	// nil: the sandbox's /tmp is the host's (no mount namespace).
	hostTmp []string
	ownTmp  bool

	// deputy performs, inside the sandbox, the calls the supervisor
	// answers itself.
	deputy *deputyClient

	// readIdx indexes the denyRead entries for the observer's fast
	// path (fastread_linux.go); nil: none.
	readIdx *readIndex
	// pathBuf holds the path of a call answered on the supervisor's own
	// goroutine by the fast path; dirBuf the name of the folder a
	// relative one starts from, and joinBuf the two joined.
	pathBuf [unix.PathMax]byte
	dirBuf  [unix.PathMax]byte
	joinBuf [2*unix.PathMax + 1]byte

	mu   sync.Mutex
	root int // O_PATH fd of the sandbox's root, -1 until needed

	// serving is set once the command answers its client (nil: never
	// told): see notifWaiter.
	serving *atomic.Bool
}

func newSupervisor(listener int, rules superviseRules, mode policy.NetworkMode, report func(Event), deputy *deputyClient) *supervisor {
	return &supervisor{fd: listener, rules: rules, mode: mode, report: report, deputy: deputy, root: -1,
		readIdx: newReadIndex(rules)}
}

// Run answers calls until the sandbox is gone or ctx is done; it closes the
// listener.
func (s *supervisor) Run(ctx context.Context) error {
	defer unix.Close(s.fd)
	defer func() {
		if s.root >= 0 {
			unix.Close(s.root)
		}
		if s.deputy != nil {
			s.deputy.close()
		}
	}()
	// Each notification is a strict ping-pong: the caller sleeps until it
	// is answered. Older kernels refuse the flag; it only saves time.
	_, _, _ = syscall.Syscall(unix.SYS_IOCTL, uintptr(s.fd), ioctlNotifSetFlag, notifSyncWakeUp)
	var wg sync.WaitGroup
	defer wg.Wait()
	w, err := newNotifWaiter(ctx, s.fd, s.serving)
	if err != nil {
		return err
	}
	defer w.close()
	for {
		var req seccompNotif
		got, err := w.next(&req)
		if err != nil || !got {
			return err
		}
		if !mayBlock(&req) {
			// Most calls are answered from here, without a goroutine
			// hand-off: a file-heavy program sends thousands of them.
			s.handle(&req, true)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(&req, false)
		}()
	}
}

// notifWaiter waits for the listener's notifications: on the
// supervisor's own thread while the command starts, then in the runtime's
// poller.
//
// A command's start is one long burst of notifications: Node makes ~300
// opens before a server answers initialize. The supervisor waits for them
// in ppoll(2), on its own thread and through the scheduler (so that its P
// serves the rest of sbshim meanwhile). With the listener's
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP flag the kernel then wakes this
// thread on the CPU of the caller, which goes to sleep until it is
// answered, and wakes the caller on the supervisor's CPU when the answer
// goes out. The flag does not pass through epoll: from the poller, each
// notification woke a thread on the other CPU and went through the
// scheduler. Node opening a file thousands of times in a row under
// sbshim: 9-15 µs per open on the supervisor's thread, 10-136 µs
// (bimodal) from the poller.
//
// Once the server answers its client (Process.Serving), or startQuiet
// passes without a notification (a command that is no server, or one
// that waits for its client), the command has started, and the supervisor
// waits in the poller from then on, as the relay waits for its pipes: a
// thread blocked in a system call through the scheduler keeps the
// runtime's monitor thread (sysmon) awake, and it hands Ps about whenever
// the relay runs meanwhile, which cost three more context switches and
// 60-90 µs more CPU per tool call of a server that opens a file per call.
// It does not go back: the thread that waits in the poller is the one
// that polls for the relay too, and while it waits in ppoll nobody would.
type notifWaiter struct {
	ctx      context.Context
	listener int
	starting bool         // the supervisor waits on its own thread
	serving  *atomic.Bool // set once the command answers its client; may be nil

	mu   sync.Mutex
	f    *os.File        // the listener's duplicate in the poller, once started
	rc   syscall.RawConn // f's
	done bool            // ctx is done
	stop func() bool
}

// startQuiet is how long the command makes no supervised call before
// the supervisor takes it as started.
const startQuiet = 50 * time.Millisecond

func newNotifWaiter(ctx context.Context, listener int, serving *atomic.Bool) (*notifWaiter, error) {
	// The listener's description becomes non-blocking, for the poller.
	if err := unix.SetNonblock(listener, true); err != nil {
		return nil, fmt.Errorf("supervisor: listener: %w", err)
	}
	w := &notifWaiter{ctx: ctx, listener: listener, starting: true, serving: serving}
	w.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
		if w.f != nil {
			_ = w.f.SetReadDeadline(time.Unix(1, 0))
		}
	})
	return w, nil
}

func (w *notifWaiter) close() {
	w.stop()
	w.leavePoller()
}

// enterPoller registers a duplicate of the listener with the poller.
func (w *notifWaiter) enterPoller() error {
	fd, err := unix.FcntlInt(uintptr(w.listener), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("supervisor: duplicate the listener: %w", err)
	}
	f := os.NewFile(uintptr(fd), "seccomp-listener")
	rc, err := f.SyscallConn()
	if err == nil {
		// A listener the poller cannot take makes os.File a blocking one,
		// whose deadlines fail.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("supervisor: the listener cannot be polled: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f, w.rc = f, rc
	if w.done {
		_ = f.SetReadDeadline(time.Unix(1, 0))
	}
	return nil
}

func (w *notifWaiter) leavePoller() {
	w.mu.Lock()
	f := w.f
	w.f, w.rc = nil, nil
	w.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// pollResult is what one look at the listener found.
type pollResult int

const (
	pollNothing  pollResult = iota // nothing yet
	pollAgain                      // interrupted, or the caller went away: look again
	pollReceived                   // a notification, in req
	pollGone                       // every process of the sandbox is gone
)

// pollListener looks at the listener fd once, waiting up to wait (0: not
// at all), and receives a pending notification into req.
func pollListener(fd int, wait time.Duration, req *seccompNotif) (pollResult, error) {
	pfd := unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	ts := unix.NsecToTimespec(int64(wait))
	var r uintptr
	var errno syscall.Errno
	if wait == 0 {
		// Does not wait: without the scheduler's bookkeeping, which
		// would wake sysmon.
		r, _, errno = syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	} else {
		// Waits: through the scheduler, so that the thread's P serves
		// the rest of sbshim meanwhile (the poller above all).
		r, _, errno = syscall.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	}
	switch {
	case errno == unix.EINTR:
		return pollAgain, nil
	case errno == 0 && r == 0:
		return pollNothing, nil
	case errno != 0:
		return pollNothing, fmt.Errorf("supervisor: poll: %w", errno)
	}
	if res, ready := afterPoll(pfd.Revents); !ready {
		return res, nil
	}
	// Ready: a notification is pending, so the receive does not wait (it
	// fails with ENOENT if its caller went away).
	if err := rawIoctlPtr(fd, ioctlNotifRecv, unsafe.Pointer(req)); err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
			return pollAgain, nil
		}
		return pollNothing, fmt.Errorf("supervisor: receive: %w", err)
	}
	return pollReceived, nil
}

// afterPoll says what the events a poll found on the listener mean:
// ready when a notification may be received, else the result.
//
// POLLHUP alone says that every process of the sandbox is gone. The
// kernel's poll of a listener answers POLLERR, and nothing else, when a
// signal came while it waited for the listener's lock (seccomp_notify_poll
// in kernel/seccomp.c): a busy sandbox and a signal to sbshim's thread at
// once. That is a look to take again. Taken for the sandbox's end, it
// stopped the supervisor mid-session without a word, and every supervised
// call of the sandbox failed with ENOSYS from then on (npm's extraction
// under npx, once in a few dozen runs).
func afterPoll(revents int16) (res pollResult, ready bool) {
	switch {
	case revents&unix.POLLHUP != 0:
		return pollGone, false
	case revents&unix.POLLERR != 0:
		return pollAgain, false
	}
	return pollNothing, true
}

// started moves the wait to the poller, for good.
func (w *notifWaiter) started() error {
	if err := w.enterPoller(); err != nil {
		return err
	}
	w.starting = false
	return nil
}

// next receives the next notification into req. got is false when every
// process of the sandbox is gone or the context is done.
func (w *notifWaiter) next(req *seccompNotif) (got bool, err error) {
	for w.starting {
		if w.ctx.Err() != nil {
			return false, nil
		}
		if w.serving != nil && w.serving.Load() {
			if err := w.started(); err != nil {
				return false, err
			}
			break
		}
		switch res, err := pollListener(w.listener, startQuiet, req); {
		case err != nil:
			return false, err
		case res == pollGone:
			return false, nil
		case res == pollReceived:
			return true, nil
		case res == pollNothing:
			if err := w.started(); err != nil {
				return false, err
			}
		}
	}
	for {
		var res pollResult
		var perr error
		err := w.rc.Read(func(fd uintptr) bool {
			res, perr = pollListener(int(fd), 0, req)
			// Nothing pending and no error: wait in the poller. The
			// poller reports readiness once (edge-triggered): anything
			// else goes round the loop and looks again first.
			return res != pollNothing || perr != nil
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed):
			return false, nil // the context is done
		case err != nil:
			return false, fmt.Errorf("supervisor: wait: %w", err)
		case perr != nil:
			return false, perr
		case res == pollGone:
			return false, nil
		case res == pollReceived:
			return true, nil
		}
	}
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
		return performedOpen(req.Data.Args[2])
	}
	return isLegacyOpen(uintptr(req.Data.Nr))
}

// rawIoctlPtr is ioctlPtr for calls that never wait (a receive once the
// listener is ready, an answer): without telling the scheduler, whose
// bookkeeping of a system call wakes its monitor thread.
func rawIoctlPtr(fd int, req uintptr, p unsafe.Pointer) error {
	_, _, errno := syscall.RawSyscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if errno != 0 {
		return errno
	}
	return nil
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
	// inline is set when the call is answered on the supervisor's own
	// goroutine, which alone uses the deputy's in-order socket.
	inline bool
}

func (s *supervisor) handle(req *seccompNotif, inline bool) {
	c := &call{s: s, req: req, pid: int(req.Pid), inline: inline}
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
	_ = rawIoctlPtr(s.fd, ioctlNotifSend, unsafe.Pointer(&resp))
}

// performedOpen says whether an open with flags is performed by the
// deputy rather than observed: one that may create, or write. Only a
// check can tell a protected file from any other where the mount tree
// does not keep it read-only (a repository nested deep in the
// workspace), so such opens are made by the deputy, which checks the
// file before it opens it. Reads are left to the kernel.
func performedOpen(flags uint64) bool {
	return flags&(unix.O_CREAT|unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0
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
	if setidMode(nr, c.req.Data.Args) {
		return c.refusedSetid(nr)
	}
	if c.s.directNet != nil && fastOpen(nr, c.req.Data.Args) {
		return c.refusedSyscall(nr)
	}
	switch {
	case nr == unix.SYS_FCHMODAT || nr == unix.SYS_FCHMODAT2 || nr == unix.SYS_FCHOWNAT ||
		nr == unix.SYS_UTIMENSAT || nr == unix.SYS_TRUNCATE || nr == unix.SYS_SETXATTR ||
		nr == unix.SYS_LSETXATTR || nr == unix.SYS_REMOVEXATTR || nr == unix.SYS_LREMOVEXATTR ||
		nr == unix.SYS_SETXATTRAT || nr == unix.SYS_REMOVEXATTRAT || nr == unix.SYS_FCHMOD ||
		nr == unix.SYS_FCHOWN || nr == unix.SYS_FSETXATTR || nr == unix.SYS_FREMOVEXATTR:
		return c.attrCall(nr)
	case nr == unix.SYS_CONNECT:
		return c.connectOrBind(true)
	case nr == unix.SYS_BIND:
		return c.connectOrBind(false)
	case nr == unix.SYS_OPENAT:
		d, p := at(0, 1)
		if !performedOpen(c.arg(2)) {
			if c.fastRead(d, p, c.arg(2)) {
				return 0, continueCall
			}
			return c.observeOpen(d, p, c.arg(2))
		}
		return c.open(d, p, c.arg(2), c.arg(3), 0)
	case nr == unix.SYS_EXECVE:
		return c.observeExec(unix.AT_FDCWD, c.arg(0), 0)
	case nr == unix.SYS_EXECVEAT:
		return c.observeExec(c.dirfd(0), c.arg(1), c.arg(4))
	case nr == unix.SYS_UNLINKAT:
		return c.unlink(c.dirfd(0), c.arg(1), c.arg(2))
	case nr == unix.SYS_READLINKAT:
		d, p := at(0, 1)
		return c.observeLookup(d, p)
	case nr == unix.SYS_SENDTO:
		return c.observeSend(c.arg(4), c.arg(5))
	case nr == unix.SYS_CLONE || nr == unix.SYS_UNSHARE || nr == unix.SYS_IOCTL || nr == unix.SYS_SOCKET ||
		nr == unix.SYS_SOCKETPAIR:
		return c.refusedSyscall(nr)
	case nr == unix.SYS_OPENAT2:
		how, err := c.read(c.arg(2), 24)
		if err != nil || len(how) < 24 || c.arg(3) < 24 {
			return 0, unix.EINVAL
		}
		le := binary.LittleEndian
		flags, mode := le.Uint64(how[0:]), le.Uint64(how[8:])
		if flags&(unix.O_CREAT|oTmpfile) != 0 && mode&setidBits != 0 {
			return c.refusedSetid(nr)
		}
		return c.open(c.dirfd(0), c.arg(1), flags, mode, le.Uint64(how[16:]))
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
	var link [64]byte
	base, err := os.Readlink(string(dirLink(link[:0], c.pid, dirfd)))
	if err != nil {
		return "", unix.EBADF
	}
	if strings.HasSuffix(base, " (deleted)") {
		return "", unix.ENOENT
	}
	return strings.TrimSuffix(base, "/") + "/" + p, nil
}

// dirLink appends to buf the /proc link that names the folder a path
// relative to dirfd starts from, in the process pid: its working
// directory for AT_FDCWD, the descriptor's target otherwise.
func dirLink(buf []byte, pid int, dirfd int32) []byte {
	buf = append(buf, "/proc/"...)
	buf = strconv.AppendInt(buf, int64(pid), 10)
	if dirfd == unix.AT_FDCWD {
		return append(buf, "/cwd"...)
	}
	buf = append(buf, "/fd/"...)
	return strconv.AppendInt(buf, int64(dirfd), 10)
}

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

func (c *call) umask() uint32 {
	st, _ := readStatus(c.pid)
	return st.umask
}

func (c *call) reportBlock(kind, op, target, rule string, errno syscall.Errno) {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(c.pid) + "/exe")
	c.s.report(Event{Time: time.Now(), Kind: kind, Op: op, Target: target, PID: c.pid, Exe: exe,
		Rule: rule, Layer: "supervisor", Errno: unix.ErrnoName(errno)})
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

// sendFD installs fd in the program and answers the call with its number.
func (c *call) sendFD(fd int, cloexec bool) (int64, syscall.Errno) {
	defer unix.Close(fd)
	add := seccompNotifAddfd{ID: c.req.ID, Flags: addfdFlagSend, Srcfd: uint32(fd)}
	if cloexec {
		add.NewfdFlags = unix.O_CLOEXEC
	}
	if err := addfdUninterrupted(c.s.fd, &add); err != nil {
		return 0, errnoOf(err)
	}
	return 0, addfdSent
}

// addfdUninterrupted installs a descriptor with SECCOMP_ADDFD_FLAG_SEND,
// with every signal blocked on the calling thread meanwhile. The ioctl
// marks the call answered and then waits for the program to take the
// descriptor; a signal in that wait (Go's preemption signal, say)
// withdraws the descriptor but leaves the call answered with 0, and the
// program would take descriptor 0 for the file it opened.
func addfdUninterrupted(listener int, add *seccompNotifAddfd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &all, &old); err != nil {
		return err
	}
	err := ioctlPtr(listener, ioctlNotifAddfd, unsafe.Pointer(add))
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return err
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
			if st, ok := readStatus(c.pid); ok {
				pidfd, err = unix.PidfdOpen(st.tgid, 0)
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
