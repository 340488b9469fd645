package isolation

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompOptions chooses what the filter does beyond the deny list.
type seccompOptions struct {
	// Supervise sends the calls that create names or connect sockets to
	// sbshim's supervisor (SECCOMP_RET_USER_NOTIF), and the refused ones
	// too, so that they are reported. Without it, a refused call fails
	// with ENOSYS (SECCOMP_RET_TRACE with no tracer): that lets a
	// supervised filter stacked on top of this one, whose user
	// notification takes precedence over TRACE but not over ERRNO, see
	// and report it.
	Supervise bool
	// NoInetDatagram refuses inet datagram and raw sockets: without a
	// network namespace nothing else would keep their datagrams from the
	// host's network.
	NoInetDatagram bool
}

// setidBits are the set-user-ID and set-group-ID bits of a file mode.
const setidBits = unix.S_ISUID | unix.S_ISGID

// oTmpfile is __O_TMPFILE, O_TMPFILE without O_DIRECTORY.
const oTmpfile = unix.O_TMPFILE &^ unix.O_DIRECTORY

// modeCheck is a call that sets a file's mode: it is refused when the
// mode has setidBits (where flagsArg ≥ 0, only with O_CREAT or
// O_TMPFILE among the flags, the only cases the mode counts).
type modeCheck struct {
	nr       uintptr
	modeArg  int
	flagsArg int
}

// modeChecks lists the calls whose mode argument is checked: a file made
// set-user-ID inside the sandbox would keep the bit on the host, where it
// runs as the file's owner — root, when sbshim runs as root.
func modeChecks() []modeCheck {
	return append([]modeCheck{
		{unix.SYS_FCHMOD, 1, -1}, {unix.SYS_FCHMODAT, 2, -1}, {unix.SYS_FCHMODAT2, 2, -1},
		{unix.SYS_MKNODAT, 2, -1}, {unix.SYS_OPENAT, 3, 2},
	}, archModeChecks()...)
}

// setidMode says whether the call nr with args asks for a set-user-ID or
// set-group-ID mode.
func setidMode(nr uintptr, args [6]uint64) bool {
	for _, m := range modeChecks() {
		if m.nr != nr {
			continue
		}
		if m.flagsArg >= 0 && args[m.flagsArg]&(unix.O_CREAT|oTmpfile) == 0 {
			return false
		}
		return args[m.modeArg]&setidBits != 0
	}
	return false
}

// Return values of a seccomp filter.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retNotify = 0x7fc00000 // SECCOMP_RET_USER_NOTIF
	retErrno  = unix.SECCOMP_RET_ERRNO
	retTrace  = unix.SECCOMP_RET_TRACE
)

// cloneNewFlags are the clone/unshare flags that make a namespace.
const cloneNewFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWTIME

// deniedSyscalls answer EPERM whatever their arguments, by name.
func deniedSyscalls() map[uintptr]string {
	m := map[uintptr]string{
		// A second kernel interface that other layers do not see.
		unix.SYS_IO_URING_SETUP: "io_uring_setup", unix.SYS_IO_URING_ENTER: "io_uring_enter",
		unix.SYS_IO_URING_REGISTER: "io_uring_register",
		// Reading or steering other processes.
		unix.SYS_PTRACE: "ptrace", unix.SYS_PROCESS_VM_READV: "process_vm_readv",
		unix.SYS_PROCESS_VM_WRITEV: "process_vm_writev",
		// Kernel attack surface a server never needs.
		unix.SYS_BPF: "bpf", unix.SYS_PERF_EVENT_OPEN: "perf_event_open", unix.SYS_USERFAULTFD: "userfaultfd",
		unix.SYS_KEYCTL: "keyctl", unix.SYS_ADD_KEY: "add_key", unix.SYS_REQUEST_KEY: "request_key",
		unix.SYS_INIT_MODULE: "init_module", unix.SYS_FINIT_MODULE: "finit_module",
		unix.SYS_DELETE_MODULE: "delete_module", unix.SYS_KEXEC_LOAD: "kexec_load",
		unix.SYS_KEXEC_FILE_LOAD: "kexec_file_load", unix.SYS_REBOOT: "reboot",
		unix.SYS_SWAPON: "swapon", unix.SYS_SWAPOFF: "swapoff", unix.SYS_ACCT: "acct",
		unix.SYS_QUOTACTL: "quotactl", unix.SYS_VHANGUP: "vhangup",
		// Opening files by handle bypasses path-based rules.
		unix.SYS_OPEN_BY_HANDLE_AT: "open_by_handle_at", unix.SYS_NAME_TO_HANDLE_AT: "name_to_handle_at",
		// Changing the mount tree or the namespaces after set-up.
		unix.SYS_MOUNT: "mount", unix.SYS_UMOUNT2: "umount2", unix.SYS_PIVOT_ROOT: "pivot_root",
		unix.SYS_CHROOT: "chroot", unix.SYS_SETNS: "setns", unix.SYS_MOVE_MOUNT: "move_mount",
		unix.SYS_OPEN_TREE: "open_tree", unix.SYS_FSOPEN: "fsopen", unix.SYS_FSCONFIG: "fsconfig",
		unix.SYS_FSMOUNT: "fsmount", unix.SYS_FSPICK: "fspick", unix.SYS_MOUNT_SETATTR: "mount_setattr",
	}
	for nr, name := range archDeniedSyscalls() {
		m[nr] = name
	}
	return m
}

// syscallName names a call the filter refuses.
func syscallName(nr uintptr) string {
	switch nr {
	case unix.SYS_CLONE:
		return "clone"
	case unix.SYS_UNSHARE:
		return "unshare"
	case unix.SYS_IOCTL:
		return "ioctl"
	case unix.SYS_SOCKET:
		return "socket"
	case unix.SYS_SOCKETPAIR:
		return "socketpair"
	case unix.SYS_FCHMOD:
		return "fchmod"
	case unix.SYS_FCHMODAT:
		return "fchmodat"
	case unix.SYS_FCHMODAT2:
		return "fchmodat2"
	case unix.SYS_MKNODAT:
		return "mknodat"
	case unix.SYS_OPENAT:
		return "openat"
	case unix.SYS_OPENAT2:
		return "openat2"
	}
	if name, ok := archSyscallName(nr); ok {
		return name
	}
	if name, ok := deniedSyscalls()[nr]; ok {
		return name
	}
	return "syscall " + strconv.Itoa(int(nr))
}

// supervisedSyscalls go to the supervisor whatever their arguments.
func supervisedSyscalls() []uintptr {
	return append([]uintptr{
		unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_OPENAT2, unix.SYS_MKDIRAT, unix.SYS_MKNODAT,
		unix.SYS_SYMLINKAT, unix.SYS_LINKAT, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2,
		// The observer's: the kernel layers decide, the supervisor explains.
		unix.SYS_EXECVE, unix.SYS_EXECVEAT, unix.SYS_READLINKAT,
		// Deletes and changes of a file's attributes, by path or
		// descriptor: the deputy makes them.
		unix.SYS_UNLINKAT,
		unix.SYS_FCHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWN, unix.SYS_FCHOWNAT,
		unix.SYS_UTIMENSAT, unix.SYS_TRUNCATE,
		unix.SYS_SETXATTR, unix.SYS_LSETXATTR, unix.SYS_FSETXATTR, unix.SYS_SETXATTRAT,
		unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR, unix.SYS_FREMOVEXATTR, unix.SYS_REMOVEXATTRAT,
	}, archSupervisedSyscalls()...)
}

// bpf assembles a classic BPF program with symbolic jump targets.
type bpf struct {
	ins    []unix.SockFilter
	jumps  map[int][2]string // instruction → (true label, false label)
	labels map[string]int
}

func (b *bpf) stmt(code uint16, k uint32) {
	b.ins = append(b.ins, unix.SockFilter{Code: code, K: k})
}

// jump adds a conditional jump; "" means the next instruction.
func (b *bpf) jump(code uint16, k uint32, jt, jf string) {
	b.jumps[len(b.ins)] = [2]string{jt, jf}
	b.ins = append(b.ins, unix.SockFilter{Code: code, K: k})
}

func (b *bpf) label(name string) { b.labels[name] = len(b.ins) }

func (b *bpf) assemble() ([]unix.SockFilter, error) {
	for i, j := range b.jumps {
		for n, l := range j {
			if l == "" {
				continue
			}
			to, ok := b.labels[l]
			if !ok {
				return nil, fmt.Errorf("seccomp: no label %q", l)
			}
			off := to - i - 1
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: jump to %q out of range (%d)", l, off)
			}
			if n == 0 {
				b.ins[i].Jt = uint8(off)
			} else {
				b.ins[i].Jf = uint8(off)
			}
		}
	}
	return b.ins, nil
}

const (
	ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	ret  = unix.BPF_RET | unix.BPF_K
	andK = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
)

// argLow is the offset of the low 32 bits of argument i in seccomp_data
// (little-endian).
func argLow(i int) uint32 { return 16 + 8*uint32(i) }

// buildSeccompFilter builds the sandbox's filter: EPERM for the deny list
// of DESIGN.md, ENOSYS for clone3 (its flags are out of a filter's reach;
// libc falls back to clone, whose flags are checked), and, when
// o.Supervise, user notification for the calls the supervisor performs
// itself.
func buildSeccompFilter(o seccompOptions) ([]unix.SockFilter, error) {
	arch, ok := auditArch()
	if !ok {
		return nil, fmt.Errorf("seccomp: no filter for %s", runtime.GOARCH)
	}
	b := &bpf{jumps: map[int][2]string{}, labels: map[string]int{}}
	b.stmt(ldW, 4) // arch
	// Another ABI (i386 on x86_64) has other syscall numbers: refuse all.
	b.jump(jeq, arch, "", "eperm")
	b.stmt(ldW, 0) // nr
	if x32Bit() != 0 {
		b.jump(jge, x32Bit(), "eperm", "")
	}
	for _, nr := range sortedKeys(deniedSyscalls()) {
		b.jump(jeq, uint32(nr), "refuse", "")
	}
	b.jump(jeq, unix.SYS_CLONE3, "enosys", "")
	b.jump(jeq, unix.SYS_CLONE, "clone", "")
	b.jump(jeq, unix.SYS_UNSHARE, "unshare", "")
	b.jump(jeq, unix.SYS_IOCTL, "ioctl", "")
	b.jump(jeq, unix.SYS_SOCKET, "socket", "")
	b.jump(jeq, unix.SYS_SOCKETPAIR, "socketpair", "")
	checks := modeChecks()
	for i, m := range checks {
		b.jump(jeq, uint32(m.nr), "mode"+strconv.Itoa(i), "")
	}
	if o.NoInetDatagram {
		// A send with MSG_FASTOPEN connects a TCP socket to its address
		// without connect(2), which is where the host's network is
		// refused when there is no network namespace.
		b.jump(jeq, unix.SYS_SENDTO, "fastopen3", "")
		b.jump(jeq, unix.SYS_SENDMSG, "fastopen2", "")
		b.jump(jeq, unix.SYS_SENDMMSG, "fastopen3", "")
	}
	if o.Supervise {
		b.jump(jeq, unix.SYS_SENDTO, "sendto", "")
		for _, nr := range supervisedSyscalls() {
			b.jump(jeq, uint32(nr), "notify", "")
		}
		if nr, ok := sysOpen(); ok {
			b.jump(jeq, nr, "open", "")
		}
		b.jump(jeq, unix.SYS_OPENAT, "openat", "")
	}
	b.stmt(ret, retAllow)

	// clone(flags, …) and unshare(flags): no new namespaces.
	b.label("clone")
	b.stmt(ldW, argLow(cloneFlagsArg()))
	b.jump(jset, cloneNewFlags, "refuse", "allow")
	b.label("unshare")
	b.stmt(ldW, argLow(0))
	b.jump(jset, cloneNewFlags, "refuse", "allow")

	// ioctl(fd, request): the request is an unsigned int; only its low
	// 32 bits count.
	b.label("ioctl")
	b.stmt(ldW, argLow(1))
	b.jump(jeq, unix.TIOCSTI, "refuse", "")
	b.jump(jeq, unix.TIOCLINUX, "refuse", "allow")

	// socket(domain, type, protocol): unix, inet, inet6, netlink route.
	// No unix datagram sockets: a datagram's address is read by the
	// kernel from the program's memory at send time, after any check,
	// and a read-only mount does not stop a send to a host socket.
	b.label("socket")
	b.stmt(ldW, argLow(0))
	b.jump(jeq, unix.AF_UNIX, "socktype", "")
	b.jump(jeq, unix.AF_INET, "inettype", "")
	b.jump(jeq, unix.AF_INET6, "inettype", "")
	b.jump(jeq, unix.AF_NETLINK, "", "refuse")
	b.stmt(ldW, argLow(2))
	b.jump(jeq, unix.NETLINK_ROUTE, "allow", "refuse")
	b.label("inettype")
	if o.NoInetDatagram {
		// Plain TCP alone: SCTP's stream sockets connect through
		// setsockopt (sctp_connectx), which neither the supervisor nor
		// Landlock's TCP rule sees.
		b.stmt(ldW, argLow(1))
		b.stmt(andK, 0xf)
		b.jump(jeq, unix.SOCK_STREAM, "", "refuse")
		b.stmt(ldW, argLow(2))
		b.jump(jeq, 0, "allow", "")
		b.jump(jeq, unix.IPPROTO_TCP, "allow", "refuse")
	} else {
		b.jump(jge, 0, "allow", "allow")
	}
	// socketpair(domain, type, protocol, sv): unix only, no datagrams.
	b.label("socketpair")
	b.stmt(ldW, argLow(0))
	b.jump(jeq, unix.AF_UNIX, "socktype", "allow")
	// Only the connected types: the kernel makes a unix SOCK_RAW socket a
	// datagram one.
	b.label("socktype")
	b.stmt(ldW, argLow(1))
	b.stmt(andK, 0xf)
	b.jump(jeq, unix.SOCK_STREAM, "allow", "")
	b.jump(jeq, unix.SOCK_SEQPACKET, "allow", "refuse")

	if o.NoInetDatagram {
		b.label("fastopen2")
		b.stmt(ldW, argLow(2))
		b.jump(jset, unix.MSG_FASTOPEN, "refuse", "fastopen-ok")
		b.label("fastopen3")
		b.stmt(ldW, argLow(3))
		b.jump(jset, unix.MSG_FASTOPEN, "refuse", "fastopen-ok")
		b.label("fastopen-ok")
		if o.Supervise {
			b.stmt(ldW, 0) // nr
			b.jump(jeq, unix.SYS_SENDTO, "sendto", "allow")
		} else {
			b.jump(jge, 0, "allow", "allow")
		}
	}

	// Calls that set a file's mode: no set-user-ID or set-group-ID bit.
	for i, m := range checks {
		l := "mode" + strconv.Itoa(i)
		b.label(l)
		if m.flagsArg >= 0 {
			b.stmt(ldW, argLow(m.flagsArg))
			b.jump(jset, unix.O_CREAT|oTmpfile, l+"m", l+"ok")
		}
		b.label(l + "m")
		b.stmt(ldW, argLow(m.modeArg))
		b.jump(jset, setidBits, "refuse", l+"ok")
		b.label(l + "ok")
		dest := "allow"
		if o.Supervise {
			switch {
			case m.nr == unix.SYS_OPENAT:
				dest = "openat"
			case isOpenNr(m.nr):
				dest = "open"
			case slices.Contains(supervisedSyscalls(), m.nr):
				dest = "notify"
			}
		}
		b.jump(jge, 0, dest, dest) // always

	}

	if o.Supervise {
		// Every open: creating ones the supervisor performs, the others
		// the observer explains when they are refused.
		b.label("open")
		b.stmt(ret, retNotify)
		// openat(dirfd, path, flags): one step of a directory walk — a
		// directory opened read-only relative to another directory's
		// descriptor, as fts does (find, du, rm -r) — is let through
		// without a round trip: a walk opens thousands. The mount tree
		// still hides what the policy hides; only the report of a walk
		// into a hidden directory is lost (README, Limits).
		b.label("openat")
		b.stmt(ldW, argLow(2))
		b.jump(jset, unix.O_DIRECTORY, "", "notify")
		b.jump(jset, unix.O_CREAT|unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC|unix.O_APPEND|unix.O_PATH, "notify", "")
		b.stmt(ldW, argLow(0))
		b.jump(jeq, uint32(0xffffff9c), "notify", "allow") // AT_FDCWD
		// sendto(fd, buf, len, flags, addr, addrlen): only with an
		// address (a 64-bit pointer: both halves zero means none).
		b.label("sendto")
		b.stmt(ldW, argLow(4))
		b.jump(jeq, 0, "", "notify")
		b.stmt(ldW, argLow(4)+4)
		b.jump(jeq, 0, "allow", "notify")
		b.label("notify")
		b.stmt(ret, retNotify)
		// A refused call goes to the supervisor, which answers EPERM
		// and reports it.
		b.label("refuse")
		b.stmt(ret, retNotify)
	} else {
		b.label("refuse")
		b.stmt(ret, retTrace)
	}
	b.label("allow")
	b.stmt(ret, retAllow)
	b.label("eperm")
	b.stmt(ret, retErrno|uint32(unix.EPERM))
	b.label("enosys")
	b.stmt(ret, retErrno|uint32(unix.ENOSYS))
	return b.assemble()
}

// installSeccomp loads prog on the calling thread (which must be locked to
// its goroutine and have no_new_privs set), or with allThreads on every
// thread of the process, and, if listener, returns the user-notification
// listener, else -1.
func installSeccomp(prog []unix.SockFilter, listener, allThreads bool) (int, error) {
	if len(prog) == 0 {
		return -1, errors.New("seccomp: empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	var flags uintptr
	if listener {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	if allThreads {
		flags |= unix.SECCOMP_FILTER_FLAG_TSYNC
	}
	fd, _, errno := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: install filter: %w", errno)
	}
	if allThreads && fd != 0 {
		return -1, fmt.Errorf("seccomp: thread %d could not take the filter", fd)
	}
	if !listener {
		return -1, nil
	}
	return int(fd), nil
}

func sortedKeys(m map[uintptr]string) []uintptr {
	keys := make([]uintptr, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
