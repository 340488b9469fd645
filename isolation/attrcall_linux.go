package isolation

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// The supervisor's side of attribute changes (mode, owner, times, size,
// extended attributes) and deletes. Each variant of each call is read
// into one opAttr or opUnlink request, which the deputy performs (see
// deputyattr_linux.go): a check here followed by CONTINUE would guard
// nothing, as the program could change what the path names in between.

// attrTarget is what an attribute call changes: a path relative to dirfd
// (the cwd for AT_FDCWD), or with fdOnly the descriptor dirfd itself.
type attrTarget struct {
	dirfd    int32
	pathAddr uint64
	fdOnly   bool   // the call names no path (fchmod, fsetxattr, futimens)
	flags    uint64 // AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH as the call got them
}

const attrFlags = unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH

// attrCall reads an attribute call's arguments and has the deputy make
// the change.
func (c *call) attrCall(nr uintptr) (int64, syscall.Errno) {
	a := c.req.Data.Args
	at := func(d, p int, flags uint64) attrTarget {
		return attrTarget{dirfd: int32(a[d]), pathAddr: a[p], flags: flags}
	}
	onFD := attrTarget{dirfd: int32(a[0]), fdOnly: true}
	follow := func(p int) attrTarget { return attrTarget{dirfd: unix.AT_FDCWD, pathAddr: a[p]} }
	noFollow := func(p int) attrTarget {
		return attrTarget{dirfd: unix.AT_FDCWD, pathAddr: a[p], flags: unix.AT_SYMLINK_NOFOLLOW}
	}
	chown := func(uid, gid uint64) *deputyReq {
		return &deputyReq{Resolve: uint64(attrChown), Dev: uint64(uint32(uid))<<32 | uint64(uint32(gid))}
	}
	switch nr {
	case unix.SYS_FCHMOD:
		return c.attr(onFD, &deputyReq{Resolve: uint64(attrChmod), Mode: a[1] & 0o7777})
	case unix.SYS_FCHMODAT:
		return c.attr(at(0, 1, 0), &deputyReq{Resolve: uint64(attrChmod), Mode: a[2] & 0o7777})
	case unix.SYS_FCHMODAT2:
		return c.attr(at(0, 1, a[3]), &deputyReq{Resolve: uint64(attrChmod), Mode: a[2] & 0o7777})
	case unix.SYS_FCHOWN:
		return c.attr(onFD, chown(a[1], a[2]))
	case unix.SYS_FCHOWNAT:
		return c.attr(at(0, 1, a[4]), chown(a[2], a[3]))
	case unix.SYS_UTIMENSAT:
		t := at(0, 1, a[3])
		if a[1] == 0 {
			// No path: the descriptor's own file (futimens).
			if a[3] != 0 {
				return 0, unix.EINVAL
			}
			if t.dirfd == unix.AT_FDCWD {
				return 0, unix.EFAULT
			}
			t.fdOnly = true
		}
		q := &deputyReq{Resolve: uint64(attrUtimes)}
		if a[2] != 0 {
			b, err := c.read(a[2], 32)
			if err != nil {
				return 0, unix.EFAULT
			}
			q.Addr = b
		}
		return c.attr(t, q)
	case unix.SYS_TRUNCATE:
		if int64(a[1]) < 0 {
			return 0, unix.EINVAL
		}
		return c.attr(follow(0), &deputyReq{Resolve: uint64(attrTruncate), Mode: a[1]})
	case unix.SYS_SETXATTR:
		return c.setxattr(follow(0), a[1], a[2], a[3], a[4])
	case unix.SYS_LSETXATTR:
		return c.setxattr(noFollow(0), a[1], a[2], a[3], a[4])
	case unix.SYS_FSETXATTR:
		return c.setxattr(onFD, a[1], a[2], a[3], a[4])
	case unix.SYS_SETXATTRAT:
		// setxattrat(dfd, path, at_flags, name, struct xattr_args *, size):
		// xattr_args is {value u64, size u32, flags u32}.
		if a[5] < 16 {
			return 0, unix.EINVAL
		}
		args, err := c.read(a[4], 16)
		if err != nil {
			return 0, unix.EFAULT
		}
		le := binary.LittleEndian
		return c.setxattr(at(0, 1, a[2]), a[3], le.Uint64(args[0:]), uint64(le.Uint32(args[8:])), uint64(le.Uint32(args[12:])))
	case unix.SYS_REMOVEXATTR:
		return c.removexattr(follow(0), a[1])
	case unix.SYS_LREMOVEXATTR:
		return c.removexattr(noFollow(0), a[1])
	case unix.SYS_FREMOVEXATTR:
		return c.removexattr(onFD, a[1])
	case unix.SYS_REMOVEXATTRAT:
		return c.removexattr(at(0, 1, a[2]), a[3])
	}
	return 0, unix.ENOSYS
}

// timevalTimes reads utimes' two struct timevals at addr as the two
// timespecs opAttr carries: empty for NULL (now).
func (c *call) timevalTimes(addr uint64) ([]byte, syscall.Errno) {
	if addr == 0 {
		return nil, 0
	}
	b, err := c.read(addr, 32)
	if err != nil {
		return nil, unix.EFAULT
	}
	le := binary.LittleEndian
	out := make([]byte, 32)
	for i := 0; i < 2; i++ {
		usec := int64(le.Uint64(b[16*i+8:]))
		if usec < 0 || usec >= 1000000 {
			return nil, unix.EINVAL
		}
		le.PutUint64(out[16*i:], le.Uint64(b[16*i:]))
		le.PutUint64(out[16*i+8:], uint64(usec*1000))
	}
	return out, 0
}

// xattrName reads an extended attribute's name as the kernel does.
func (c *call) xattrName(addr uint64) (string, syscall.Errno) {
	name, err := c.str(addr)
	if err != nil {
		return "", unix.EFAULT
	}
	if name == "" || len(name) > xattrNameMax {
		return "", unix.ERANGE
	}
	return name, 0
}

func (c *call) setxattr(t attrTarget, nameAddr, valueAddr, size, flags uint64) (int64, syscall.Errno) {
	if flags&^uint64(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return 0, unix.EINVAL
	}
	if size > xattrSizeMax {
		return 0, unix.E2BIG
	}
	name, errno := c.xattrName(nameAddr)
	if errno != 0 {
		return 0, errno
	}
	q := &deputyReq{Resolve: uint64(attrSetxattr), Path2: name, Mode: flags, Addr: []byte{}}
	if size > 0 {
		v, err := c.read(valueAddr, int(size))
		if err != nil {
			return 0, unix.EFAULT
		}
		q.Addr = v
	}
	return c.attr(t, q)
}

func (c *call) removexattr(t attrTarget, nameAddr uint64) (int64, syscall.Errno) {
	name, errno := c.xattrName(nameAddr)
	if errno != 0 {
		return 0, errno
	}
	return c.attr(t, &deputyReq{Resolve: uint64(attrRemovexattr), Path2: name})
}

// attr completes q with its target and has the deputy perform it.
func (c *call) attr(t attrTarget, q *deputyReq) (int64, syscall.Errno) {
	q.Op = opAttr
	if t.flags&^attrFlags != 0 {
		return 0, unix.EINVAL
	}
	q.Flags = t.flags
	if !t.fdOnly {
		p, err := c.str(t.pathAddr)
		if err != nil {
			return 0, errnoOf(err)
		}
		if !c.valid() {
			return 0, unix.ENOENT
		}
		if p == "" && t.flags&unix.AT_EMPTY_PATH != 0 && t.dirfd == unix.AT_FDCWD {
			p = "." // the working directory itself
		}
		switch {
		case p != "":
			full, err := c.sandboxPath(t.dirfd, p)
			if err != nil {
				return 0, errnoOf(err)
			}
			q.Path, q.Caller = c.callerPath(full)
		case t.flags&unix.AT_EMPTY_PATH == 0:
			return 0, unix.ENOENT
		default:
			t.fdOnly = true // the descriptor dirfd itself
		}
	}
	fd := -1
	if t.fdOnly {
		var errno syscall.Errno
		if fd, errno = c.socket(int(t.dirfd)); errno != 0 {
			return 0, errno
		}
		defer unix.Close(fd)
	}
	val, errno, _ := c.perform(q, fd, false)
	return val, errno
}

// unlink has the deputy perform unlink/rmdir (flags: AT_REMOVEDIR).
func (c *call) unlink(dirfd int32, pathAddr, flags uint64) (int64, syscall.Errno) {
	if flags&^uint64(unix.AT_REMOVEDIR) != 0 {
		return 0, unix.EINVAL
	}
	q, _, errno := c.pathReq(opUnlink, dirfd, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	q.Flags = flags
	val, errno, _ := c.perform(q, -1, false)
	return val, errno
}
