//go:build linux && amd64

package isolation

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// legacy answers the x86_64 calls that predate the *at forms.
func (c *call) legacy(nr uintptr) (int64, syscall.Errno) {
	cwd := int32(unix.AT_FDCWD)
	switch nr {
	case unix.SYS_OPEN:
		if !performedOpen(c.arg(1)) {
			if c.fastRead(cwd, c.arg(0), c.arg(1)) {
				return 0, continueCall
			}
			return c.observeOpen(cwd, c.arg(0), c.arg(1))
		}
		return c.open(cwd, c.arg(0), c.arg(1), c.arg(2), 0)
	case unix.SYS_UNLINK:
		return c.unlink(cwd, c.arg(0), 0)
	case unix.SYS_RMDIR:
		return c.unlink(cwd, c.arg(0), unix.AT_REMOVEDIR)
	case unix.SYS_READLINK:
		return c.observeLookup(cwd, c.arg(0))
	case unix.SYS_CREAT:
		return c.open(cwd, c.arg(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, c.arg(1), 0)
	case unix.SYS_MKDIR:
		return c.mkdir(cwd, c.arg(0), c.arg(1))
	case unix.SYS_MKNOD:
		return c.mknod(cwd, c.arg(0), c.arg(1), c.arg(2))
	case unix.SYS_SYMLINK:
		return c.symlink(c.arg(0), cwd, c.arg(1))
	case unix.SYS_LINK:
		return c.link(cwd, c.arg(0), cwd, c.arg(1), 0)
	case unix.SYS_RENAME:
		return c.rename(cwd, c.arg(0), cwd, c.arg(1), 0)
	case unix.SYS_CHMOD:
		return c.attr(attrTarget{dirfd: cwd, pathAddr: c.arg(0)}, &deputyReq{Resolve: uint64(attrChmod), Mode: c.arg(1) & 0o7777})
	case unix.SYS_CHOWN, unix.SYS_LCHOWN:
		t := attrTarget{dirfd: cwd, pathAddr: c.arg(0)}
		if nr == unix.SYS_LCHOWN {
			t.flags = unix.AT_SYMLINK_NOFOLLOW
		}
		return c.attr(t, &deputyReq{Resolve: uint64(attrChown), Dev: uint64(uint32(c.arg(1)))<<32 | uint64(uint32(c.arg(2)))})
	case unix.SYS_UTIME:
		// utime(path, struct utimbuf {actime, modtime}): whole seconds.
		q := &deputyReq{Resolve: uint64(attrUtimes)}
		if c.arg(1) != 0 {
			b, err := c.read(c.arg(1), 16)
			if err != nil {
				return 0, unix.EFAULT
			}
			q.Addr = make([]byte, 32)
			copy(q.Addr[0:8], b[0:8])
			copy(q.Addr[16:24], b[8:16])
		}
		return c.attr(attrTarget{dirfd: cwd, pathAddr: c.arg(0)}, q)
	case unix.SYS_UTIMES, unix.SYS_FUTIMESAT:
		t, times := attrTarget{dirfd: cwd, pathAddr: c.arg(0)}, c.arg(1)
		if nr == unix.SYS_FUTIMESAT {
			t, times = attrTarget{dirfd: c.dirfd(0), pathAddr: c.arg(1), fdOnly: c.arg(1) == 0}, c.arg(2)
		}
		ts, errno := c.timevalTimes(times)
		if errno != 0 {
			return 0, errno
		}
		return c.attr(t, &deputyReq{Resolve: uint64(attrUtimes), Addr: ts})
	}
	return 0, unix.ENOSYS
}

// isLegacyOpen says whether nr is an open the supervisor may perform
// itself (see mayBlock).
func isLegacyOpen(nr uintptr) bool { return nr == unix.SYS_OPEN || nr == unix.SYS_CREAT }
