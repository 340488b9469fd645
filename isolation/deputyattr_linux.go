package isolation

import (
	"encoding/binary"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The deputy's side of attribute changes and deletes. Each is made on
// exactly the object that was checked: the path is looked up once, to an
// O_PATH descriptor (or the caller's own descriptor is sent along), the
// policy is asked about the name the kernel gives that descriptor, and
// the change goes through the descriptor's /proc/self/fd link, which
// leads to that very inode whatever happens to the path meanwhile. A
// delete acts on a name in a directory held open the same way.

// attr performs an opAttr request on q.Path, or on in, the caller's
// descriptor, when one is attached.
func (d *deputy) attr(q *deputyReq, in int) (deputyResp, int) {
	kind := attrKind(q.Resolve)
	pfd := in
	if in >= 0 {
		if q.Flags&unix.AT_EMPTY_PATH == 0 && isPathFD(in) {
			return errResp(unix.EBADF), -1 // fchmod and the like take no O_PATH descriptor
		}
	} else {
		fd, err := lookup(q.Path, q.Caller, q.Flags&unix.AT_SYMLINK_NOFOLLOW == 0)
		if err != nil {
			return errResp(errnoOf(err)), -1
		}
		defer unix.Close(fd)
		pfd = fd
	}
	if r := d.attrRefusal(kind.op(), pfd); r != nil {
		return *r, -1
	}
	return errResp(errnoOf0(changeAttr(kind, fdPath(pfd), q))), -1
}

// isPathFD says whether fd was opened with O_PATH.
func isPathFD(fd int) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_PATH != 0
}

// lookup opens the absolute sandbox path p with O_PATH, following its last
// component if follow, as the kernel would for the caller: magic links
// only in the caller's own /proc directory (see parentOf).
func lookup(p string, caller int32, follow bool) (int, error) {
	e, err := parentOf(p, caller)
	if err == unix.EEXIST { // "/" itself
		return unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, err
	}
	defer e.close()
	flags := unix.O_PATH | unix.O_CLOEXEC
	if strings.HasSuffix(p, "/") {
		flags |= unix.O_DIRECTORY // "name/" names a directory, through a symlink too
	} else if !follow {
		flags |= unix.O_NOFOLLOW
	}
	if e.proc {
		// The caller's own entries (fd/N, cwd): their links lead where
		// the caller's own descriptors do, and the kernel follows them
		// as it would for the caller.
		return unix.Openat(e.dir, e.name, flags, 0)
	}
	return unix.Openat2(e.dir, e.name, &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_NO_MAGICLINKS})
}

// attrRefusal says whether changing op of the file at pfd would change a
// file the policy keeps read-only (see changeRefusal).
func (d *deputy) attrRefusal(op string, pfd int) *deputyResp {
	p, err := os.Readlink(fdPath(pfd))
	if err != nil {
		return &deputyResp{Errno: int32(unix.EACCES)}
	}
	return d.changeRefusal(op, pfd, p)
}

// changeAttr makes the change q asks for to the object at link, a
// /proc/self/fd path: each call follows that link to the object itself
// (a symlink when the request did not follow one) and no further.
func changeAttr(kind attrKind, link string, q *deputyReq) error {
	switch kind {
	case attrChmod:
		return unix.Fchmodat(unix.AT_FDCWD, link, uint32(q.Mode), 0)
	case attrChown:
		return unix.Fchownat(unix.AT_FDCWD, link, int(int32(q.Dev>>32)), int(int32(q.Dev)), 0)
	case attrUtimes:
		return utimensat(link, q.Addr)
	case attrTruncate:
		return unix.Truncate(link, int64(q.Mode))
	case attrSetxattr:
		return unix.Setxattr(link, q.Path2, q.Addr, int(q.Mode))
	case attrRemovexattr:
		return unix.Removexattr(link, q.Path2)
	}
	return unix.ENOSYS
}

// utimensat sets the times of path to ts (two timespecs as opAttr carries
// them), or to now when ts is empty, exactly as utimensat(2) would.
func utimensat(path string, ts []byte) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	var times *[2]unix.Timespec
	if len(ts) == 32 {
		le := binary.LittleEndian
		times = &[2]unix.Timespec{
			{Sec: int64(le.Uint64(ts[0:])), Nsec: int64(le.Uint64(ts[8:]))},
			{Sec: int64(le.Uint64(ts[16:])), Nsec: int64(le.Uint64(ts[24:]))},
		}
	} else if len(ts) != 0 {
		return unix.EINVAL
	}
	at := int(unix.AT_FDCWD)
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(at), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(times)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// unlink performs unlink or rmdir (q.Flags: AT_REMOVEDIR) of q.Path: the
// name is removed from the directory that was checked. A name that is
// not there gets the kernel's own answer, and so does a name in the
// caller's /proc directory.
func (d *deputy) unlink(q *deputyReq) (deputyResp, int) {
	rmdir := q.Flags&unix.AT_REMOVEDIR != 0
	e, err := parentOf(q.Path, q.Caller)
	if err == unix.EEXIST { // "/" itself
		err = unix.EISDIR
		if rmdir {
			err = unix.EBUSY
		}
	}
	if err != nil {
		return errResp(errnoOf(err)), -1
	}
	defer e.close()
	var st unix.Stat_t
	if err := unix.Fstatat(e.dir, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return errResp(errnoOf(err)), -1
	}
	// What the kernel refuses whatever the policy says: unlink of a
	// directory, rmdir of anything else ("name/" names a directory).
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case !rmdir && isDir:
		return errResp(unix.EISDIR), -1
	case !rmdir && strings.HasSuffix(q.Path, "/"), rmdir && !isDir:
		return errResp(unix.ENOTDIR), -1
	}
	if !e.proc && e.name != "." && e.name != ".." {
		if r := d.check("delete", e, false); r != nil {
			return *r, -1
		}
	}
	return errResp(errnoOf0(unix.Unlinkat(e.dir, e.name, int(q.Flags&unix.AT_REMOVEDIR)))), -1
}
