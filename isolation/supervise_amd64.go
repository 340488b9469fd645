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
			return c.observeOpen(cwd, c.arg(0), c.arg(1))
		}
		return c.open(cwd, c.arg(0), c.arg(1), c.arg(2), 0)
	case unix.SYS_UNLINK, unix.SYS_RMDIR:
		return c.observeDelete(cwd, c.arg(0))
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
		return c.observeAttr("chmod", cwd, c.arg(0), true)
	case unix.SYS_CHOWN:
		return c.observeAttr("chown", cwd, c.arg(0), true)
	case unix.SYS_LCHOWN:
		return c.observeAttr("chown", cwd, c.arg(0), false)
	case unix.SYS_UTIME, unix.SYS_UTIMES:
		return c.observeAttr("utimes", cwd, c.arg(0), true)
	case unix.SYS_FUTIMESAT:
		if c.arg(1) == 0 {
			return 0, continueCall // the descriptor's own file
		}
		return c.observeAttr("utimes", c.dirfd(0), c.arg(1), true)
	}
	return 0, unix.ENOSYS
}

// isLegacyOpen says whether nr is an open the supervisor may perform
// itself (see mayBlock).
func isLegacyOpen(nr uintptr) bool { return nr == unix.SYS_OPEN || nr == unix.SYS_CREAT }
