package shim

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

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

// rawFile reads and writes a non-blocking descriptor with raw system
// calls, and waits for it in the runtime's poller. A relay makes a read
// and a write per message; through os.File each enters the scheduler's
// syscall state, which wakes sysmon whenever it had gone to sleep for
// want of work — between two messages of a quiet session, that is every
// time: one more thread woken per message. A raw read or write of a
// non-blocking descriptor never blocks, so it need not tell the scheduler.
type rawFile struct {
	f  *os.File
	rc syscall.RawConn
}

// rawIO returns f's reads and writes as a rawFile when f is non-blocking
// and served by the poller, and f itself otherwise.
func rawIO(f *os.File) io.ReadWriter {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	nonblock := false
	if rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblock = err == nil && fl&unix.O_NONBLOCK != 0
	}) != nil || !nonblock {
		return f
	}
	// A descriptor that is non-blocking but not in the poller (os.NewFile
	// of a blocking one made non-blocking later) would make RawConn.Read
	// fail instead of wait: os.File knows which kind it has.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return f
	}
	return &rawFile{f: f, rc: rc}
}

func (r *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			if e == syscall.EINTR {
				continue
			}
			n, errno = int(r1), e
			return e != syscall.EAGAIN
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (r *rawFile) Write(p []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[written])), uintptr(len(p)-written))
			switch e {
			case 0:
				written += int(r1)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return written, err
	case errno != 0:
		return written, &os.PathError{Op: "write", Path: r.f.Name(), Err: errno}
	}
	return written, nil
}

// growPipe grows the pipe f to n bytes if it is a smaller pipe, quietly
// keeping the size it has when that is refused.
func growPipe(f *os.File, n int) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		if size, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && size < n {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, n)
		}
	})
}
