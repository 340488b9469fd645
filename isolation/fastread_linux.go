package isolation

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The fast path of the observer for opens that only read. A program's
// start makes hundreds of them (Node: ~300 before it answers initialize)
// and a server may make one per tool call; each is a seccomp notification
// whose answer the program waits for. observeOpen answers most of them
// CONTINUE after reading the path, checking that the notification is still
// pending, resolving the path in the sandbox's root (an open, a readlink of
// /proc/self/fd and a close, or a walk of a dozen calls for a missing file)
// and matching it against every denyRead entry. fastRead reaches the same
// answer for the common case with two system calls and no allocation; every
// other case goes the slow way, unchanged.
//
// It is a report path only, like observeOpen: the mount tree and Landlock
// refuse the reads, whatever the supervisor answers.

// readIndex holds the policy's denyRead entries, cleaned, for a look-up
// per ancestor of a path instead of a loop over the entries.
type readIndex struct {
	entries map[string]struct{}
	// all is set when an entry is "/": every path may be hidden.
	all bool
}

// newReadIndex indexes the denyRead entries of rules, or returns nil
// when rules is not a Policy: then every question goes to rules.
func newReadIndex(rules superviseRules) *readIndex {
	p, ok := rules.(*policy.Policy)
	if !ok || p == nil {
		return nil
	}
	x := &readIndex{entries: make(map[string]struct{}, len(p.Filesystem.DenyRead))}
	for _, e := range p.Filesystem.DenyRead {
		e = filepath.Clean(e)
		if e == "/" {
			x.all = true
		}
		x.entries[e] = struct{}{}
	}
	return x
}

// mayHide says whether the clean absolute path p lies within a denyRead
// entry (p itself or one of its ancestors is one). When it says no,
// Policy.CanRead(p) allows p: a denyRead entry hides only what is within
// it, and allowRead only lifts.
func (x *readIndex) mayHide(p string) bool {
	if x.all {
		return true
	}
	for i := len(p); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		if _, ok := x.entries[p[:i]]; ok {
			return true
		}
	}
	return false
}

// canRead is rules.CanRead, without the loop over the entries when the
// index says that no entry holds full.
func (s *supervisor) canRead(full string) (string, bool) {
	if s.readIdx != nil && isCleanAbs(full) && !s.readIdx.mayHide(full) {
		return "", true
	}
	return s.rules.CanRead(full)
}

// isCleanAbs says whether p is absolute and clean as path.Clean leaves
// it: no empty, "." or ".." component and no trailing slash.
func isCleanAbs(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if len(p) == 1 {
		return true
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch p[start:i] {
		case "", ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}

// fastRead answers a read-only open of the path at pathAddr, relative to
// dirfd (flags: its open flags), when it can tell at little cost that
// observeOpen would let it go on. It reads the path into the supervisor's
// own buffers, so only the supervisor's goroutine may use it (inline
// calls). ok false: ask observeOpen.
//
// A relative path (a directory walk: grep -r, find and git open each
// name relative to the folder's descriptor) is joined to the folder's
// name, read from /proc as sandboxPath reads it, and checked as an
// absolute one.
//
// Its system calls are raw, as the answer's (rawIoctlPtr): none of them
// waits on anything but the kernel (a remote memory read, a lookup with
// O_PATH, which opens nothing), and the scheduler's bookkeeping of a
// system call would wake the runtime's monitor thread on every open.
func (c *call) fastRead(dirfd int32, pathAddr, flags uint64) bool {
	s := c.s
	if !c.inline || s.readIdx == nil {
		return false
	}
	root := s.knownRoot()
	if root < 0 {
		return false
	}
	p, ok := c.pathInto(pathAddr, s.pathBuf[:])
	if !ok {
		return false
	}
	if len(p) > 0 && p[0] != '/' {
		dir, ok := c.dirName(dirfd, s.dirBuf[:])
		if !ok {
			return false
		}
		p = joinPath(s.joinBuf[:], dir, p)
	}
	return readSeen(root, p, flags&unix.O_NOFOLLOW != 0, s.readIdx)
}

// dirName reads into buf the name of the caller's folder that a path
// relative to dirfd starts from: its working directory for AT_FDCWD.
// ok is false when that is not an absolute path (a descriptor of a pipe,
// a deleted folder), or cannot be read.
func (c *call) dirName(dirfd int32, buf []byte) ([]byte, bool) {
	if dirfd < 0 && dirfd != unix.AT_FDCWD {
		return nil, false
	}
	var link [64]byte
	l := append(dirLink(link[:0], c.pid, dirfd), 0)
	atFDCWD := unix.AT_FDCWD // a variable: a negative constant cannot become a uintptr
	n, _, errno := syscall.RawSyscall6(unix.SYS_READLINKAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&l[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 || n == 0 || int(n) == len(buf) || buf[0] != '/' {
		return nil, false
	}
	dir := buf[:n]
	if bytes.HasSuffix(dir, []byte(" (deleted)")) {
		return nil, false
	}
	return dir, true
}

// joinPath writes dir, a slash and rel into buf, followed by the NUL
// that readSeen looks for, and returns the path without it. buf holds
// both names at their longest.
func joinPath(buf, dir, rel []byte) []byte {
	n := copy(buf, dir)
	if n > 1 {
		buf[n] = '/'
		n++
	}
	n += copy(buf[n:], rel)
	buf[n] = 0
	return buf[:n]
}

// readSeen says whether observeOpen would let a read of the path p (in
// buf, followed by a NUL byte) go on without a word: p is absolute and
// clean, outside /tmp (which the sandbox has its own of) and every
// denyRead entry, and holds no symbolic link up to where it stops
// existing. Then p is the canonical path resolve would find (a walk
// takes what does not exist as written), which CanRead allows; no /proc
// read, no validity check and no report are needed. Anything else (a
// relative path, a link, a folder the supervisor cannot search) returns
// false. root is the sandbox's root directory.
func readSeen(root int, p []byte, nofollow bool, idx *readIndex) bool {
	if len(p) == 0 || cap(p) == len(p) || p[:len(p)+1][len(p)] != 0 {
		return false // not followed by the NUL the kernel reads up to
	}
	// A view of p, not a copy: p is not changed while it is in use.
	ps := unsafe.String(&p[0], len(p))
	if !isCleanAbs(ps) || inTmp(ps) || idx.mayHide(ps) {
		return false
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	if nofollow {
		how.Flags |= unix.O_NOFOLLOW
	}
	// The kernel looks the components up in order: ENOENT means that
	// those before the missing one exist and are no links (a link would
	// have failed first, with ELOOP).
	fd, _, errno := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(root), uintptr(unsafe.Pointer(&p[0])),
		uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	switch errno {
	case 0:
		_, _, _ = syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return true
	case unix.ENOENT:
		return true
	}
	return false
}

// pathInto reads the NUL-terminated path at addr into buf, without
// allocating, and returns it without its NUL (which buf keeps after it).
// ok is false when it cannot be read whole into buf.
func (c *call) pathInto(addr uint64, buf []byte) ([]byte, bool) {
	if addr == 0 {
		return nil, false
	}
	n := 0
	for n < len(buf) {
		at := addr + uint64(n)
		// Never across a page boundary: the next page may be unmapped
		// while the string ends before it.
		want := min(len(buf)-n, int(4096-at%4096))
		local := unix.Iovec{Base: &buf[n]}
		local.SetLen(want)
		remote := unix.RemoteIovec{Base: uintptr(at), Len: want}
		got, _, errno := syscall.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(c.pid),
			uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
		if errno != 0 || got == 0 {
			return nil, false
		}
		if i := bytes.IndexByte(buf[n:n+int(got)], 0); i >= 0 {
			return buf[:n+i], true
		}
		n += int(got)
	}
	return nil, false
}

// knownRoot returns the sandbox's root directory once a call has opened
// it (see openRoot), else -1.
func (s *supervisor) knownRoot() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.root
}
