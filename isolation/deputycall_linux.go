package isolation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// deputyClient is the supervisor's end of the deputy's two sockets.
type deputyClient struct {
	// syncFD is used by the supervisor's answering thread alone, one
	// request and its answer at a time.
	syncFD int
	// asyncFD carries the calls that may block, answered in any order.
	asyncFD int

	wmu     sync.Mutex
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan deputyAnswer
	gone    bool
}

type deputyAnswer struct {
	resp deputyResp
	fd   int
}

func newDeputyClient(syncFD, asyncFD int) *deputyClient {
	d := &deputyClient{syncFD: syncFD, asyncFD: asyncFD, pending: map[uint64]chan deputyAnswer{}}
	go d.readAsync()
	return d
}

func (d *deputyClient) close() {
	unix.Close(d.syncFD)
	unix.Shutdown(d.asyncFD, unix.SHUT_RDWR)
}

// deputyGone answers a call when the deputy cannot: it fails closed.
var deputyGone = deputyAnswer{resp: deputyResp{Errno: int32(unix.EACCES)}, fd: -1}

// ask sends q (with fd attached when ≥ 0) and waits for the answer.
func (d *deputyClient) ask(q *deputyReq, fd int, inline bool) deputyAnswer {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if inline {
		return d.askSync(q, oob)
	}
	ch := make(chan deputyAnswer, 1)
	d.mu.Lock()
	if d.gone {
		d.mu.Unlock()
		return deputyGone
	}
	d.next++
	q.ID = d.next
	d.pending[q.ID] = ch
	d.mu.Unlock()
	d.wmu.Lock()
	err := unix.Sendmsg(d.asyncFD, q.marshal(), oob, nil, 0)
	d.wmu.Unlock()
	if err != nil {
		d.mu.Lock()
		delete(d.pending, q.ID)
		d.mu.Unlock()
		return deputyGone
	}
	return <-ch
}

func (d *deputyClient) askSync(q *deputyReq, oob []byte) deputyAnswer {
	q.ID++
	if err := unix.Sendmsg(d.syncFD, q.marshal(), oob, nil, 0); err != nil {
		return deputyGone
	}
	a, ok := recvAnswer(d.syncFD)
	if !ok || a.resp.ID != q.ID {
		if ok && a.fd >= 0 {
			unix.Close(a.fd)
		}
		return deputyGone
	}
	return a
}

// recvAnswer reads one answer from fd.
func recvAnswer(fd int) (deputyAnswer, bool) {
	buf := make([]byte, maxDeputyAnswer)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return deputyAnswer{}, false
		}
		a := deputyAnswer{fd: -1}
		if flags&unix.MSG_CTRUNC != 0 {
			// A descriptor that could not be received (sbshim is at its
			// descriptor limit): the call fails, never with a number
			// that names nothing.
			closeAll(rightsOf(oob[:oobn]))
			a.resp.Errno = int32(unix.EMFILE)
			var r deputyResp
			if r.unmarshal(buf[:n]) == nil {
				a.resp.ID = r.ID
			}
			return a, true
		}
		fds := rightsOf(oob[:oobn])
		if len(fds) > 0 {
			a.fd = fds[0]
			closeAll(fds[1:])
		}
		if a.resp.unmarshal(buf[:n]) != nil {
			if a.fd >= 0 {
				unix.Close(a.fd)
			}
			return deputyAnswer{}, false
		}
		return a, true
	}
}

func (d *deputyClient) readAsync() {
	for {
		a, ok := recvAnswer(d.asyncFD)
		if !ok {
			break
		}
		d.mu.Lock()
		ch := d.pending[a.resp.ID]
		delete(d.pending, a.resp.ID)
		d.mu.Unlock()
		if ch == nil {
			if a.fd >= 0 {
				unix.Close(a.fd)
			}
			continue
		}
		ch <- a
	}
	d.mu.Lock()
	d.gone = true
	for id, ch := range d.pending {
		ch <- deputyGone
		delete(d.pending, id)
	}
	d.mu.Unlock()
	unix.Close(d.asyncFD)
}

// refusedByPolicy is what perform gives as its retry value when the
// deputy refused the call by the policy (and it was reported): the call
// is answered, not tried another way.
const refusedByPolicy uint8 = 0xff

// perform has the deputy carry out q (with the caller's descriptor fd
// attached when ≥ 0) and answers the call with the outcome: a refusal is
// reported, a descriptor is installed in the caller.
func (c *call) perform(q *deputyReq, fd int, cloexec bool) (int64, syscall.Errno, uint8) {
	if c.s.deputy == nil {
		return 0, unix.EACCES, 0
	}
	a := c.s.deputy.ask(q, fd, c.inline)
	if b := a.resp.Block; b != nil && b.Kind == "file" && b.Op == "write" && !hostHas(b.Target) {
		b.Op = "create" // not there outside: writing it would have made it
	}
	if b := a.resp.Block; b != nil && hostAllowsFileOp(b) {
		c.reportBlock(b.Kind, b.Op, b.Target, b.Rule, syscall.Errno(a.resp.Errno))
	} else if b == nil && a.resp.Errno != 0 {
		if op := reportOp(q); op != "" {
			c.explainFailure(q, op, syscall.Errno(a.resp.Errno))
		}
	}
	if a.fd >= 0 {
		val, errno := c.sendFD(a.fd, cloexec)
		return val, errno, 0
	}
	if a.resp.Errno == 0 && a.resp.Retry == retryNone && (q.Op == opOpen || q.Op == opReopen || q.Op == opCtty) {
		return 0, unix.EIO, 0 // an open answered without a descriptor
	}
	if a.resp.Block != nil {
		return a.resp.Val, syscall.Errno(a.resp.Errno), refusedByPolicy
	}
	return a.resp.Val, syscall.Errno(a.resp.Errno), a.resp.Retry
}

// reportOp is how a failed request on an existing file is reported: ""
// for those that create names, whose refusals the deputy reports itself.
func reportOp(q *deputyReq) string {
	switch q.Op {
	case opOpen:
		if q.Flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 {
			return "write"
		}
		return "read"
	case opAttr:
		return attrKind(q.Resolve).op()
	case opUnlink:
		return "delete"
	}
	return ""
}

// pathReq reads a path argument and starts a request for it: the path
// absolute as the sandbox sees it, the caller's own /proc entries named
// by its pid there.
func (c *call) pathReq(op deputyOp, dirfd int32, pathAddr uint64) (*deputyReq, string, syscall.Errno) {
	p, err := c.str(pathAddr)
	if err != nil {
		return nil, "", errnoOf(err)
	}
	if !c.valid() {
		return nil, "", unix.ENOENT
	}
	full, err := c.sandboxPath(dirfd, p)
	if err != nil {
		return nil, p, errnoOf(err)
	}
	q := &deputyReq{Op: op}
	q.Path, q.Caller = c.callerPath(full)
	return q, p, 0
}

// callerPath rewrites /proc/self and /proc/thread-self at the start of
// full, which name the caller, to its ids in the sandbox's pid namespace
// (the deputy's own would be named otherwise), and returns the caller's
// pid there when full lies under /proc.
func (c *call) callerPath(full string) (string, int32) {
	if !strings.HasPrefix(full, "/proc/") {
		return full, 0
	}
	tgid, tid, ok := nsIDs(c.pid)
	if !ok {
		return full, 0
	}
	if rest, ok := strings.CutPrefix(full, "/proc/self/"); ok {
		full = "/proc/" + strconv.Itoa(tgid) + "/" + rest
	} else if rest, ok := strings.CutPrefix(full, "/proc/thread-self/"); ok {
		full = "/proc/" + strconv.Itoa(tgid) + "/task/" + strconv.Itoa(tid) + "/" + rest
	}
	return full, int32(tgid)
}

// nsIDs returns the thread group id and thread id of host thread tid as
// the innermost pid namespace (the sandbox's) numbers them.
func nsIDs(tid int) (int, int, bool) {
	t, ok := readStatus(tid)
	if !ok {
		return 0, 0, false
	}
	g, ok := readStatus(t.tgid)
	return g.nsPid, t.nsPid, ok
}

// procStatus holds the fields of /proc/TID/status the supervisor uses.
type procStatus struct {
	tgid  int    // the host thread group id
	nsPid int    // the id in the innermost pid namespace (last of NSpid)
	umask uint32 // the file mode creation mask
}

// readStatus reads /proc/TID/status. ok is false when the thread is gone
// or the ids cannot be read; umask is 022 when the kernel does not show it.
func readStatus(tid int) (procStatus, bool) {
	st := procStatus{umask: 0o022}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return st, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch key {
		case "Tgid":
			st.tgid, _ = strconv.Atoi(v)
		case "NSpid":
			if f := strings.Fields(v); len(f) > 0 {
				st.nsPid, _ = strconv.Atoi(f[len(f)-1])
			}
		case "Umask":
			if m, err := strconv.ParseUint(v, 8, 32); err == nil {
				st.umask = uint32(m)
			}
		}
	}
	return st, st.tgid > 0 && st.nsPid > 0
}

// open performs open/openat/openat2 through the deputy: the opens that
// may create or write (performedOpen), and openat2, whose flags the
// filter cannot see.
func (c *call) open(dirfd int32, pathAddr, flags, mode, resolve uint64) (int64, syscall.Errno) {
	q, p, errno := c.pathReq(opOpen, dirfd, pathAddr)
	if errno != 0 {
		if p != "" {
			return c.orOwnFD(dirfd, p, flags, mode, 0, errno)
		}
		return 0, errno
	}
	q.Flags, q.Mode, q.Resolve = flags, mode, resolve
	if flags&(unix.O_CREAT|oTmpfile) != 0 {
		q.Mode = mode &^ uint64(c.umask())
	}
	cloexec := flags&unix.O_CLOEXEC != 0
	val, errno, retry := c.perform(q, -1, cloexec)
	switch {
	case retry == retryCtty:
		return c.openCtty(flags)
	case errno != 0 && errno != addfdSent && retry != refusedByPolicy:
		// The deputy could not follow the path (/dev/stdout leads to
		// /proc/self, which is the deputy there): the caller's own
		// descriptor, if that is what it names. A refusal stands.
		return c.orOwnFD(dirfd, p, flags, mode, val, errno)
	}
	return val, errno
}

// reopenFD opens the caller's descriptor fd anew, as opening
// /proc/self/fd/N does for it: a new open file description of the same
// file, opened by the deputy and checked by the kernel. Nothing is
// created.
func (c *call) reopenFD(fd int, flags, mode uint64) (int64, syscall.Errno) {
	tgid, _, ok := nsIDs(c.pid)
	if !ok || !c.valid() {
		return 0, unix.ENOENT
	}
	q := &deputyReq{Op: opReopen, Caller: int32(tgid), Dev: uint64(fd), Flags: flags, Mode: mode}
	val, errno, _ := c.perform(q, -1, flags&unix.O_CLOEXEC != 0)
	return val, errno
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
	if err != nil || nr == 0 {
		return 0, unix.ENXIO
	}
	val, errno, _ := c.perform(&deputyReq{Op: opCtty, Dev: nr, Flags: flags}, -1, flags&unix.O_CLOEXEC != 0)
	return val, errno
}

func (c *call) mkdir(dirfd int32, pathAddr, mode uint64) (int64, syscall.Errno) {
	q, _, errno := c.pathReq(opMkdir, dirfd, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	q.Mode = mode &^ uint64(c.umask())
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}

func (c *call) mknod(dirfd int32, pathAddr, mode, dev uint64) (int64, syscall.Errno) {
	q, _, errno := c.pathReq(opMknod, dirfd, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	m := uint32(mode)
	q.Mode = uint64(m&unix.S_IFMT | (m&^unix.S_IFMT)&^c.umask())
	q.Dev = dev
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}

func (c *call) symlink(targetAddr uint64, dirfd int32, pathAddr uint64) (int64, syscall.Errno) {
	target, err := c.str(targetAddr)
	if err != nil {
		return 0, errnoOf(err)
	}
	q, _, errno := c.pathReq(opSymlink, dirfd, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	q.Path2 = target
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}

func (c *call) link(olddirfd int32, oldAddr uint64, newdirfd int32, newAddr uint64, flags int) (int64, syscall.Errno) {
	oldPath, err := c.str(oldAddr)
	if err != nil && flags&unix.AT_EMPTY_PATH == 0 {
		return 0, errnoOf(err)
	}
	q, _, errno := c.pathReq(opLink, newdirfd, newAddr)
	if errno != 0 {
		return 0, errno
	}
	q.Flags = uint64(flags)
	if oldPath == "" && flags&unix.AT_EMPTY_PATH != 0 {
		// Linking an open file (O_TMPFILE): the caller's descriptor.
		fd, errno := c.socket(int(olddirfd))
		if errno != 0 {
			return 0, errno
		}
		defer unix.Close(fd)
		q.Op = opLinkFD
		val, errno, _ := c.perform(q, fd, false)
		return val, errno
	}
	if q.Path2, err = c.sandboxPath(olddirfd, oldPath); err != nil {
		return 0, errnoOf(err)
	}
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}

func (c *call) rename(olddirfd int32, oldAddr uint64, newdirfd int32, newAddr uint64, flags uint) (int64, syscall.Errno) {
	oldPath, err := c.str(oldAddr)
	if err != nil {
		return 0, errnoOf(err)
	}
	q, _, errno := c.pathReq(opRename, newdirfd, newAddr)
	if errno != 0 {
		return 0, errno
	}
	q.Flags = uint64(flags)
	if q.Path2, err = c.sandboxPath(olddirfd, oldPath); err != nil {
		return 0, errnoOf(err)
	}
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}

// connectOrBind has the deputy perform connect(2) or bind(2) on the
// program's own socket, with the address copied here. A socket's network
// namespace is fixed when it is made, so an inet connect still happens in
// the sandbox's network, under the deputy's Landlock rules.
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
	q := &deputyReq{Op: opBind, Addr: addr}
	if connect {
		q.Op = opConnect
	}
	if binary.LittleEndian.Uint16(addr) == unix.AF_UNIX && n > 2 && addr[2] != 0 {
		raw := addr[2:]
		if i := bytes.IndexByte(raw, 0); i >= 0 {
			raw = raw[:i]
		}
		full, err := c.sandboxPath(unix.AT_FDCWD, string(raw))
		if err != nil {
			return 0, errnoOf(err)
		}
		q.Path, q.Caller = c.callerPath(full)
		val, errno, _ := c.perform(q, sock, false)
		return val, errno
	}
	// inet, inet6, abstract or unnamed unix. Without host networking only
	// loopback is reachable; a refusal there is reported.
	ap, isInet := inetAddr(addr)
	if isInet && connect && c.s.directNet != nil {
		if rule, ok := c.s.directNet(ap); !ok {
			c.reportBlock("net", netOp(ap), ap.String(), rule, unix.ENETUNREACH)
			return 0, unix.ENETUNREACH
		}
	}
	val, errno, _ := c.perform(q, sock, false)
	if isInet && connect && c.s.mode != policy.NetHost &&
		(errno == unix.ENETUNREACH || errno == unix.EHOSTUNREACH) && !ap.Addr().IsLoopback() {
		c.reportBlock("net", netOp(ap), ap.String(), directRule(c.s.mode, ap), errno)
	}
	return val, errno
}
