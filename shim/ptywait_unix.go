//go:build linux || darwin

package shim

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PTY mode's waits and signals for macOS (pty_darwin.go), built on Linux
// too so that their tests run here.

// fdSetSize is the number of descriptors an FdSet holds.
const fdSetSize = int(unsafe.Sizeof(unix.FdSet{})) * 8

// waitInputSelect waits in select(2) until fd can be read or wake (when
// not -1) is readable or closed; it reports whether fd is the one to
// read. A hang-up or an error on fd counts as readable: the read then
// says what happened. A descriptor select cannot hold ends the wait.
func waitInputSelect(fd, wake int) bool {
	if fd < 0 || fd >= fdSetSize || wake >= fdSetSize {
		return false
	}
	for {
		var rs unix.FdSet
		rs.Set(fd)
		n := fd
		if wake >= 0 {
			rs.Set(wake)
			n = max(n, wake)
		}
		if _, err := unix.Select(n+1, &rs, nil, nil, nil); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return false
		}
		return wake < 0 || !rs.IsSet(wake)
	}
}

// hangUpGroup sends SIGHUP to the process group led by leader, sbshim's
// child; it reports whether it sent it. A leader that is not a child's
// pid is refused (childPid).
func hangUpGroup(leader int) bool {
	if !childPid(leader) {
		return false
	}
	return unix.Kill(-leader, unix.SIGHUP) == nil
}

// childPid says whether pid can be a child's: above 1. kill(2) with the
// negation of any other would read -1 as every process sbshim may
// signal, 0 as sbshim's own group, and a negative one as a single
// process.
func childPid(pid int) bool { return pid > 1 }
