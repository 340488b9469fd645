package shim

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ioctlGetTermios is the request that reads a terminal's attributes.
const ioctlGetTermios = unix.TCGETS

// hideFromSandbox keeps programs of the same user — in a sandbox without a
// pid namespace, the agent — from opening sbshim's descriptors, the user's
// terminal among them, through /proc.
func hideFromSandbox() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// waitInput waits until fd can be read or wake (when not -1) is readable
// or closed; it reports whether fd is the one to read. A hang-up or an
// error on fd counts as readable: the read then says what happened.
func waitInput(fd, wake int) bool {
	for {
		pfds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if wake >= 0 {
			pfds = append(pfds, unix.PollFd{Fd: int32(wake), Events: unix.POLLIN})
		}
		if _, err := unix.Poll(pfds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return false
		}
		return len(pfds) == 1 || pfds[1].Revents == 0
	}
}

// signalForeground sends SIGHUP to the leader of the terminal's
// foreground process group. The group is the sandbox's (a terminal's
// foreground group is one of its session), but its id may have been freed
// and taken by a process outside since it was read: the leader is pinned
// by a pidfd, and signalled only if it is, while pinned, in the
// sandbox's pid namespace with this terminal as its own.
func (r *ptyRelay) signalForeground(initPid int) {
	fd := int(r.master.Fd())
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || pgrp <= 0 {
		return
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return
	}
	pidfd, err := unix.PidfdOpen(pgrp, 0)
	if err != nil {
		return
	}
	defer unix.Close(pidfd)
	proc := "/proc/" + strconv.Itoa(pgrp)
	ns, err1 := os.Readlink(proc + "/ns/pid")
	sandboxNS, err2 := os.Readlink("/proc/" + strconv.Itoa(initPid) + "/ns/pid")
	tty, ok := controllingTTY(proc)
	if err1 != nil || err2 != nil || ns != sandboxNS || !ok || tty != unix.Mkdev(136, n) {
		return
	}
	_ = unix.PidfdSendSignal(pidfd, unix.SIGHUP, nil, 0)
}

// controllingTTY reads the device number of the controlling terminal of
// the process at proc (/proc/PID).
func controllingTTY(proc string) (uint64, bool) {
	data, err := os.ReadFile(proc + "/stat")
	if err != nil {
		return 0, false
	}
	// After the command name in parentheses: state ppid pgrp session tty_nr.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 5 {
		return 0, false
	}
	nr, err := strconv.ParseUint(f[4], 10, 32)
	if err != nil {
		return 0, false
	}
	// The kernel's encoding of tty_nr is the one unix.Mkdev makes.
	return nr, true
}
