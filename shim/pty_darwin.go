package shim

import "golang.org/x/sys/unix"

// ioctlGetTermios is the request that reads a terminal's attributes.
const ioctlGetTermios = unix.TIOCGETA

// hideFromSandbox does nothing on macOS: there is no /proc through which
// a program could open sbshim's descriptors, and the only other way in,
// sbshim's task port, is out of the sandbox's reach (its profile allows
// process information only within the sandbox, and macOS gives a task
// port of another program only to root or a debugger).
func hideFromSandbox() {}

// waitInput waits until fd can be read or wake (when not -1) is readable
// or closed; it reports whether fd is the one to read. It waits in select
// (waitInputSelect): macOS's poll(2) does not support devices, terminals
// among them.
func waitInput(fd, wake int) bool { return waitInputSelect(fd, wake) }

// signalForeground sends SIGHUP to the process group that the command —
// sandbox-exec, which became it — leads (hangUpGroup): the group of the
// session it made on its new terminal, which is that terminal's
// foreground group unless the command put another of its groups there.
//
// Linux signals the terminal's foreground group itself, after checking
// through a pidfd and /proc that it is the sandbox's. macOS has neither:
// a group id read from the terminal (TIOCGPGRP) is a number the sandbox
// chose — it can make a group, put it in the foreground and let it end —
// and it could name another program's group by the time it is signalled.
// The command's own group is not the sandbox's to choose: leader is the
// pid of sbshim's child, a session leader, which cannot leave its group
// (setpgid fails for a session leader), so the group is the command's as
// long as the child has not been reaped; after that its id is given to
// no one while a process of the session is left, nor before macOS's
// pids, given out in turn, have wrapped around. The kernel signals the
// session leader again when the master closes; a job-control shell
// passes the hang-up on to its jobs.
func (r *ptyRelay) signalForeground(leader int) { hangUpGroup(leader) }
