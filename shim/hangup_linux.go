package shim

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// hangup returns a channel closed when the client's end of f (a pipe or a
// socket) is closed, even while unread data is still waiting in it. The
// relay notices EOF only after delivering that data, which a server that
// never reads its stdin never lets it do; this lets the shutdown sequence
// start anyway. For other files the channel is never closed.
func hangup(f *os.File) <-chan struct{} {
	ch := make(chan struct{})
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ch
	}
	if mode := st.Mode & unix.S_IFMT; mode != unix.S_IFIFO && mode != unix.S_IFSOCK {
		return ch
	}
	fd := int(f.Fd())
	go func() {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		for {
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || fds[0].Revents&unix.POLLNVAL != 0 {
				return
			}
			if fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP|unix.POLLERR) != 0 {
				close(ch)
				return
			}
		}
	}()
	return ch
}
