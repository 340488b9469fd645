package shim

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pollable returns a File for the same pipe as f but with an open file
// description of its own, non-blocking, so that the runtime's poller
// serves it; or f itself when f is not a pipe or cannot be reopened. f's
// own description, which other processes may share, is left as it is.
// flag is os.O_RDONLY or os.O_WRONLY.
func pollable(f *os.File, flag int) *os.File {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	fd := -1
	_ = rc.Control(func(orig uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(orig), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		fd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(int(orig)), flag|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			fd = -1
		}
	})
	if fd < 0 {
		return f
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// setPipeSize asks for a pipe buffer of n bytes, quietly keeping the one it
// has if that is refused.
func setPipeSize(f *os.File, n int) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, n) })
	}
}
