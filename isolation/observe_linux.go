package isolation

import (
	"encoding/binary"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The observer: calls the kernel layers enforce on their own, sent to the
// supervisor only so that a refusal can be explained. The supervisor
// evaluates the same Policy; when it refuses, it reports an Event and
// answers with the error the kernel layers would give; otherwise it lets
// the kernel carry on (SECCOMP_USER_NOTIF_FLAG_CONTINUE). The program can
// change the arguments after they were read, but that only changes what is
// reported: the mount tree, Landlock and the namespaces still decide.

// continueCall is a marker errno: answer with FLAG_CONTINUE.
const continueCall = syscall.Errno(1 << 29)

// notifFlagContinue is SECCOMP_USER_NOTIF_FLAG_CONTINUE.
const notifFlagContinue = 1

// resolve returns the canonical path, as the sandbox sees it, of a path
// argument: relative to dirfd or the cwd, "..", and symlinks followed as
// the kernel would inside the sandbox's root (the last component only if
// follow). Where a component cannot be looked up (it does not exist, or a
// mask hides it), the rest is taken as written, without symlinks.
func (c *call) resolve(dirfd int32, p string, follow bool) (string, error) {
	full, err := c.sandboxPath(dirfd, p)
	if err != nil {
		return "", err
	}
	if !follow && p != "." && p != ".." && !strings.Contains(p, "/") {
		// One name relative to a directory, not followed (a directory
		// walk: openat(dirfd, "name", O_NOFOLLOW|O_DIRECTORY)): the
		// directory's name is already canonical, and so is the result.
		return full, nil
	}
	root, err := c.openRoot()
	if err != nil {
		return path.Clean(full), nil
	}
	if canon, ok := kernelResolve(root, full, follow); ok {
		return canon, nil
	}
	return walkResolve(root, full, follow), nil
}

// kernelResolve lets the kernel resolve a path that exists: open it with
// O_PATH inside the sandbox's root and read back the name of what was
// opened. The name is the path seen from the sandbox's root (its mount
// tree is not reachable from sbshim's, so the kernel names it from there).
// ok is false when the path does not resolve (it does not exist, or a
// mask hides it), or the name cannot be trusted.
func kernelResolve(root int, full string, follow bool) (string, bool) {
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(root, full, &unix.OpenHow{Flags: uint64(flags),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	var buf [unix.PathMax]byte
	n, err := unix.Readlink(fdPath(fd), buf[:])
	if err != nil || n == 0 || n == len(buf) || buf[0] != '/' {
		return "", false
	}
	name := string(buf[:n])
	if strings.HasSuffix(name, " (deleted)") {
		return "", false
	}
	return name, true
}

// walkResolve resolves full one component at a time, for paths the kernel
// cannot open: components that exist are looked up (symlinks followed),
// the rest is taken as written.
func walkResolve(root int, full string, follow bool) string {
	var done []string // resolved components
	todo := splitPath(full)
	cur := -1 // fd of the directory holding the next component; -1: none
	defer func() {
		if cur >= 0 {
			unix.Close(cur)
		}
	}()
	reopen := func() {
		if cur >= 0 {
			unix.Close(cur)
			cur = -1
		}
		fd, err := unix.Openat2(root, "/"+strings.Join(done, "/"), &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS})
		if err == nil {
			cur = fd
		}
	}
	reopen()
	for hops := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			reopen()
			continue
		}
		if cur < 0 || (len(todo) == 0 && !follow) {
			done = append(done, name)
			if cur >= 0 {
				unix.Close(cur)
				cur = -1
			}
			continue
		}
		if target, err := readlinkat(cur, name); err == nil && hops < 40 {
			hops++
			if strings.HasPrefix(target, "/") {
				done = done[:0]
			}
			todo = append(splitPath(target), todo...)
			reopen()
			continue
		}
		done = append(done, name)
		fd, err := unix.Openat(cur, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(cur)
		cur = -1
		if err == nil {
			cur = fd
		}
	}
	return "/" + strings.Join(done, "/")
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// observeOpen checks an open for reading only (the deputy makes the ones
// that may create or write): a read of a denyRead path.
func (c *call) observeOpen(dirfd int32, pathAddr, flags uint64) (int64, syscall.Errno) {
	full, ok := c.pathArg(dirfd, pathAddr, flags&unix.O_NOFOLLOW == 0)
	if !ok {
		return 0, continueCall
	}
	if rule, ok := c.s.canRead(full); !ok {
		if !hostAllows(full, unix.R_OK) {
			// Missing or unreadable on the host as well: the sandbox
			// changes nothing, and the kernel answers as it sees it.
			return 0, continueCall
		}
		c.reportBlock("file", "read", full, rule, unix.EACCES)
		return 0, unix.EACCES
	}
	if inTmp(full) && c.hostOnly(full) && hostAllows(full, unix.R_OK) {
		c.reportBlock("file", "read", full, absentRule(full), unix.ENOENT)
		return 0, unix.ENOENT
	}
	return 0, continueCall
}

// inTmp says whether p lies in /tmp, which the sandbox has its own of.
func inTmp(p string) bool { return p == "/tmp" || strings.HasPrefix(p, "/tmp/") }

// hostOnly says whether full, a resolved sandbox path in /tmp, names
// something of the host's /tmp that the sandbox's own /tmp does not have.
// The cheap questions come first: a file the host does not have, or one
// in a tree the sandbox shows from the host, is no such thing.
func (c *call) hostOnly(full string) bool {
	if !c.s.ownTmp || policy.UnderAny(full, c.s.hostTmp) || !hostHas(full) {
		return false
	}
	root, err := c.openRoot()
	if err != nil {
		return false
	}
	_, there := kernelResolve(root, full, false)
	return !there
}

// explainFailure reports a call the deputy answered with an error it
// found, not a refusal of the policy's, where the sandbox still made the
// difference: a path inside a denyRead mask (EACCES: the mask cannot be
// searched) or in the host's /tmp (ENOENT: the sandbox has its own),
// which the user could have reached outside. q is the request, op how
// to report it.
func (c *call) explainFailure(q *deputyReq, op string, errno syscall.Errno) {
	if q.Path == "" || q.Caller != 0 || (errno != unix.EACCES && errno != unix.ENOENT) || !c.valid() {
		return
	}
	follow := q.Op != opUnlink && q.Flags&unix.AT_SYMLINK_NOFOLLOW == 0 && (q.Op != opOpen || q.Flags&unix.O_NOFOLLOW == 0)
	full, err := c.resolve(unix.AT_FDCWD, q.Path, follow)
	if err != nil || !hostHas(full) {
		return // nothing there outside either
	}
	if q.Op == opUnlink {
		// unlink of a folder, rmdir of anything else: refused outside too.
		var st unix.Stat_t
		dir := unix.Lstat(full, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
		if dir != (q.Flags&unix.AT_REMOVEDIR != 0) {
			return
		}
	}
	var rule string
	switch {
	case errno == unix.EACCES:
		r, ok := c.s.rules.CanRead(full)
		if ok {
			return
		}
		rule = r
		if op != "read" {
			// A change: the rule that keeps it from being written, as
			// for a creating open of the same file.
			if w, ok := c.s.rules.CanWrite(full); !ok {
				rule = w
			}
		}
	case inTmp(full) && c.hostOnly(full):
		rule = absentRule(full)
	default:
		return
	}
	b := &deputyBlock{Kind: "file", Op: op, Target: full, Rule: rule}
	if hostAllowsFileOp(b) {
		c.reportBlock(b.Kind, b.Op, b.Target, b.Rule, errno)
	}
}

// hostAllows says whether the user running sbshim could access path with
// mode (unix.R_OK, W_OK, X_OK or F_OK) outside the sandbox. An attempt is
// reported as blocked only where the sandbox changed its outcome: a file
// that does not exist on the host, or that the user could not read or
// write there anyway, gets the same answer without sbshim. (Sandbox paths
// are host paths: allowWrite trees, masks and protected paths keep their
// names.) It only informs the report; the kernel layers enforce.
func hostAllows(path string, mode uint32) bool {
	return unix.Faccessat(unix.AT_FDCWD, path, mode, unix.AT_EACCESS) == nil
}

// hostHas says whether path names something on the host (a dangling
// symlink included).
func hostHas(path string) bool {
	var st unix.Stat_t
	return unix.Fstatat(unix.AT_FDCWD, path, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// hostAllowsFileOp says whether the user could have done what the deputy
// refused, outside the sandbox: write an existing file, make, link,
// rename or delete a name in its folder, or change a file's attributes.
// Other refusals (network, syscalls) always count.
func hostAllowsFileOp(b *deputyBlock) bool {
	if b.Kind != "file" {
		return true
	}
	switch b.Op {
	case "read":
		return hostAllows(b.Target, unix.R_OK)
	case "write":
		return hostAllows(b.Target, unix.W_OK)
	case "create":
		// A name that is there outside would have been refused (EEXIST)
		// there too; the sandbox may just not show it (a mask).
		return !hostHas(b.Target) && hostAllows(path.Dir(b.Target), unix.W_OK|unix.X_OK)
	case "link", "rename":
		return hostAllows(path.Dir(b.Target), unix.W_OK|unix.X_OK)
	case "delete":
		return hostHas(b.Target) && hostAllows(path.Dir(b.Target), unix.W_OK|unix.X_OK)
	case "chmod", "chown", "utimes", "truncate", "xattr":
		return hostAllowsAttr(b.Op, b.Target)
	}
	return true
}

// pathArg reads a path argument of the observed call and resolves it as
// the sandbox sees it. ok is false when the call should simply go on: the
// argument cannot be read, the call is gone, the path is empty, or it
// names the caller's own /proc entries, which only the kernel can judge.
func (c *call) pathArg(dirfd int32, pathAddr uint64, follow bool) (string, bool) {
	p, err := c.str(pathAddr)
	if err != nil || !c.valid() {
		return "", false
	}
	full, err := c.resolve(dirfd, p, follow)
	if err != nil || callerRelative(full) {
		return "", false
	}
	return full, true
}

// callerRelative says whether full lies under /proc/self or
// /proc/thread-self, which name the caller, not sbshim: /dev/stdout and
// /dev/fd/N lead there. The kernel judges those opens (it checks the
// descriptor's own file); the observer cannot see what they name.
func callerRelative(full string) bool {
	_, ok := callerProc(full)
	return ok
}

// callerProc returns what follows /proc/self/ or /proc/thread-self/ in
// full, the caller's own /proc entry.
func callerProc(full string) (string, bool) {
	for _, self := range []string{"/proc/self/", "/proc/thread-self/"} {
		if rest, ok := strings.CutPrefix(full, self); ok {
			return rest, true
		}
	}
	return "", false
}

// isDevice: /dev is the sandbox's own, writable where the kernel says.
func isDevice(p string) bool { return p == "/dev" || strings.HasPrefix(p, "/dev/") }

// writeErrno is what the kernel layers answer a write to p: EROFS where
// the mount is read-only, EACCES otherwise.
func (c *call) writeErrno(p string) syscall.Errno {
	root, err := c.openRoot()
	if err != nil {
		return unix.EACCES
	}
	for dir := p; ; dir = path.Dir(dir) {
		fd, err := unix.Openat2(root, dir, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err == nil {
			var fs unix.Statfs_t
			ro := unix.Fstatfs(fd, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0
			unix.Close(fd)
			if ro {
				return unix.EROFS
			}
			return unix.EACCES
		}
		if dir == "/" {
			return unix.EACCES
		}
	}
}

// observeExec checks execve/execveat: a program under a denyRead path.
func (c *call) observeExec(dirfd int32, pathAddr uint64, flags uint64) (int64, syscall.Errno) {
	full, ok := c.pathArg(dirfd, pathAddr, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if !ok { // an empty path (AT_EMPTY_PATH) names an open file: the kernel judges it
		return 0, continueCall
	}
	if rule, ok := c.s.rules.CanRead(full); !ok {
		if !hostAllows(full, unix.X_OK) {
			return 0, continueCall // no program the user could run there
		}
		c.reportBlock("file", "exec", full, rule, unix.EACCES)
		return 0, unix.EACCES
	}
	if root, err := c.openRoot(); err == nil {
		if _, there := kernelResolve(root, full, true); !there && hostRunnable(full) {
			// A program the user could run outside, which the sandbox's
			// mount tree does not have.
			c.reportBlock("file", "exec", full, absentRule(full), unix.ENOENT)
			return 0, unix.ENOENT
		}
	}
	return 0, continueCall
}

// hostRunnable says whether path is a file the user could run outside
// the sandbox.
func hostRunnable(path string) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && hostAllows(path, unix.X_OK)
}

// absentRule says why a path that exists outside is not in the sandbox,
// which the policy lets it read: the private /tmp, or a folder the mount
// tree leaves out.
func absentRule(path string) string {
	if inTmp(path) {
		return "private /tmp: the sandbox has its own /tmp ($TMP), put the program elsewhere, e.g. in the workspace"
	}
	return "not mounted in the sandbox"
}

// observeLookup checks readlink(at): a name looked up inside a hidden
// directory. realpath(3) reads each component's link, so this is where
// canonicalising a hidden path — what Node's fs.realpath does before
// nearly every file operation — is refused. Only names strictly inside a
// denyRead tree count, as the kernel refuses only those (EACCES: the mask
// cannot be searched); the masked entry itself can be looked up. stat and
// access are not watched: programs make them by the thousand.
func (c *call) observeLookup(dirfd int32, pathAddr uint64) (int64, syscall.Errno) {
	full, ok := c.pathArg(dirfd, pathAddr, false)
	if !ok || full == "/" {
		return 0, continueCall
	}
	if rule, ok := c.s.rules.CanRead(path.Dir(full)); !ok {
		if !hostHas(full) || !hostAllows(path.Dir(full), unix.X_OK) {
			return 0, continueCall // nothing there to hide
		}
		c.reportBlock("file", "read", full, rule, unix.EACCES)
		return 0, unix.EACCES
	}
	return 0, continueCall
}

// observeSend explains a datagram sent to an address (sendto with an
// address; sendmsg is not watched). It guards nothing: the kernel decides.
// Inet datagrams go nowhere but loopback without host networking (the
// network namespace), and the filter refuses unix datagram sockets, the
// only unix sockets whose sends take an address.
func (c *call) observeSend(addrPtr, addrLen uint64) (int64, syscall.Errno) {
	if addrPtr == 0 || addrLen < 2 || addrLen > 128 {
		return 0, continueCall
	}
	addr, err := c.read(addrPtr, int(addrLen))
	if err != nil || len(addr) < 2 || !c.valid() {
		return 0, continueCall
	}
	switch binary.LittleEndian.Uint16(addr) {
	case unix.AF_INET, unix.AF_INET6:
		ap, ok := inetAddr(addr)
		if !ok || c.s.mode == policy.NetHost || ap.Addr().IsLoopback() || ap.Port() == 53 && c.s.dns.isResolver(ap.Addr()) {
			return 0, continueCall // the DNS responder reports its queries
		}
		op := "send"
		if ap.Port() == 53 {
			op = "dns"
		}
		c.reportBlock("net", op, ap.String(), directRule(c.s.mode, ap), unix.ENETUNREACH)
		return 0, unix.ENETUNREACH
	}
	return 0, continueCall
}

// fastOpen says whether a send call asks for TCP Fast Open, which the
// filter refuses where there is no network namespace.
func fastOpen(nr uintptr, args [6]uint64) bool {
	switch nr {
	case unix.SYS_SENDMSG:
		return args[2]&unix.MSG_FASTOPEN != 0
	case unix.SYS_SENDTO, unix.SYS_SENDMMSG:
		return args[3]&unix.MSG_FASTOPEN != 0
	}
	return false
}

// inetAddr decodes a sockaddr_in or sockaddr_in6.
func inetAddr(a []byte) (netip.AddrPort, bool) {
	be := binary.BigEndian
	switch binary.LittleEndian.Uint16(a) {
	case unix.AF_INET:
		if len(a) < 8 {
			return netip.AddrPort{}, false
		}
		ip := netip.AddrFrom4([4]byte(a[4:8]))
		return netip.AddrPortFrom(ip, be.Uint16(a[2:])), true
	case unix.AF_INET6:
		if len(a) < 24 {
			return netip.AddrPort{}, false
		}
		ip := netip.AddrFrom16([16]byte(a[8:24])).Unmap()
		return netip.AddrPortFrom(ip, be.Uint16(a[2:])), true
	}
	return netip.AddrPort{}, false
}

// refusedSyscall answers a call of the seccomp deny list: EPERM, reported.
func (c *call) refusedSyscall(nr uintptr) (int64, syscall.Errno) {
	name := syscallName(nr)
	rule := "seccomp deny list"
	switch nr {
	case unix.SYS_CLONE, unix.SYS_UNSHARE:
		rule = "seccomp: no new namespaces"
	case unix.SYS_IOCTL:
		name = "ioctl " + ioctlName(c.arg(1))
	case unix.SYS_SOCKET, unix.SYS_SOCKETPAIR:
		name, rule = socketRefusal(name, c.arg(0), c.arg(1))
	case unix.SYS_SENDTO, unix.SYS_SENDMSG, unix.SYS_SENDMMSG:
		name = map[uintptr]string{unix.SYS_SENDTO: "sendto", unix.SYS_SENDMSG: "sendmsg", unix.SYS_SENDMMSG: "sendmmsg"}[nr] + " MSG_FASTOPEN"
		rule = "seccomp: without a network namespace no TCP Fast Open (it connects without connect(2))"
	}
	c.reportBlock("syscall", name, "", rule, unix.EPERM)
	return 0, unix.EPERM
}

// socketRefusal names a refused socket or socketpair call and its rule.
func socketRefusal(call string, family, typ uint64) (string, string) {
	switch {
	case family == unix.AF_UNIX && typ&0xf == unix.SOCK_DGRAM:
		return call + " AF_UNIX SOCK_DGRAM", "seccomp: no unix datagram sockets (their sends name host sockets unchecked)"
	case family == unix.AF_UNIX:
		return call + " AF_UNIX type " + strconv.FormatUint(typ&0xf, 10),
			"seccomp: no unix datagram sockets (their sends name host sockets unchecked)"
	case family == unix.AF_INET || family == unix.AF_INET6:
		return call + " " + map[uint64]string{unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6"}[family] + " type " + strconv.FormatUint(typ&0xf, 10),
			"seccomp: without a network namespace only TCP sockets (datagrams would reach the host's network)"
	}
	return call + " family " + strconv.FormatUint(family, 10), "seccomp: socket families unix, inet, inet6"
}

// refusedSetid answers a call that would make a set-user-ID or
// set-group-ID file: EPERM, reported.
func (c *call) refusedSetid(nr uintptr) (int64, syscall.Errno) {
	c.reportBlock("syscall", syscallName(nr)+" set-user-ID/set-group-ID mode", "",
		"seccomp: no set-user-ID or set-group-ID files", unix.EPERM)
	return 0, unix.EPERM
}

func ioctlName(req uint64) string {
	switch uint32(req) {
	case unix.TIOCSTI:
		return "TIOCSTI"
	case unix.TIOCLINUX:
		return "TIOCLINUX"
	}
	return "0x" + strconv.FormatUint(req, 16)
}

// netOp names a refused inet connect: "dns" for port 53, else "connect".
func netOp(ap netip.AddrPort) string {
	if ap.Port() == 53 {
		return "dns"
	}
	return "connect"
}

// directRule says why a direct inet connect or datagram was refused.
func directRule(mode policy.NetworkMode, ap netip.AddrPort) string {
	if mode != policy.NetProxy {
		return "network.mode " + string(mode)
	}
	if ap.Port() == 53 {
		return "network.mode proxy: the program sends DNS queries itself instead of using the proxy sbshim set (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY)"
	}
	return "network.mode proxy: direct connections are refused, only the proxy's (HTTP_PROXY/ALL_PROXY)"
}

// directNetGate decides the inet connects the supervisor performs for a
// sandbox without a network namespace, where they would reach the host's
// network: loopback only (which holds the proxy in proxy mode), as with a
// namespace. With a namespace (or in host mode) it returns nil.
func directNetGate(mode policy.NetworkMode, netns bool, proxyPort int) func(netip.AddrPort) (string, bool) {
	if netns || mode == policy.NetHost {
		return nil
	}
	return func(ap netip.AddrPort) (string, bool) {
		if !ap.Addr().Unmap().IsLoopback() {
			return directRule(mode, ap), false
		}
		// The host's loopback is shared here. In proxy mode only the
		// proxy's port on it is the sandbox's; the supervisor makes the
		// connect itself, outside Landlock, so it must say so itself.
		if mode == policy.NetProxy && int(ap.Port()) != proxyPort {
			return "network.mode proxy: without a network namespace only the proxy's port on loopback is reachable", false
		}
		return "", true
	}
}

// hostAllowsAttr says whether the user could make the attribute change op
// to path outside the sandbox: the owner (or root) changes mode, owner
// and extended attributes; times and size need the right to write (times
// also the owner).
func hostAllowsAttr(op, path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	uid := uint32(unix.Geteuid())
	owner := uid == 0 || st.Uid == uid
	switch op {
	case "truncate":
		return hostAllows(path, unix.W_OK)
	case "utimes":
		return owner || hostAllows(path, unix.W_OK)
	}
	return owner
}
