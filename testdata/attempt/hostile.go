//go:build linux

package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// hostile runs the actions that try to escape through sbshim itself (its
// supervisor, its init, what it passes in); ok is false for an unknown
// action.
func hostile(action string, args []string) (result, bool) {
	switch action {
	case "open-creat":
		// O_CREAT on an existing file: the supervisor answers creating
		// opens, so they must be no more privileged than a plain open.
		fd, err := unix.Open(arg(args, 0), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
		return outcome("", err), true
	case "reopen-opath":
		// An O_PATH descriptor of a file this user cannot read, reopened
		// through /proc/self/fd with O_CREAT.
		pfd, err := unix.Open(arg(args, 0), unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open O_PATH", err), true
		}
		defer unix.Close(pfd)
		fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return outcome("", err), true
		}
		defer unix.Close(fd)
		b := make([]byte, 256)
		n, _ := unix.Read(fd, b)
		return outcome(string(b[:max(n, 0)]), nil), true
	case "procs-mem":
		// Every other process's memory, with and without O_CREAT: the
		// init's and the deputy's above all.
		self := os.Getpid()
		ents, _ := os.ReadDir("/proc")
		var got []string
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || pid == os.Getppid() {
				continue
			}
			for _, flags := range []int{unix.O_RDONLY, unix.O_RDWR | unix.O_CREAT} {
				fd, err := unix.Open("/proc/"+e.Name()+"/mem", flags|unix.O_CLOEXEC, 0)
				if err == nil {
					unix.Close(fd)
					cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
					got = append(got, fmt.Sprintf("%d(%s) flags %#x", pid, strings.ReplaceAll(string(cmd), "\x00", " "), flags))
				}
			}
		}
		if len(got) > 0 {
			return result{OK: true, Detail: strings.Join(got, "; ")}, true
		}
		return result{Errno: "EACCES", Detail: "no other process's memory opened"}, true
	case "mknod-char":
		// /dev/zero's device number.
		return outcome("", unix.Mknod(arg(args, 0), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))), true
	case "write-same":
		// Writes back what a file holds (harmless if it gets through)
		// through a creating open.
		p := arg(args, 0)
		b, err := os.ReadFile(p)
		if err != nil {
			return outcome("read", err), true
		}
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return outcome("", err), true
		}
		defer unix.Close(fd)
		_, err = unix.Write(fd, b)
		return outcome("", err), true
	case "bind-tcp":
		l, err := net.Listen("tcp", arg(args, 0))
		if err != nil {
			return outcome("", err), true
		}
		l.Close()
		return outcome("", nil), true
	case "send-fastopen":
		// TCP Fast Open: sendmsg with an address and MSG_FASTOPEN connects
		// without connect(2).
		ap, err := netip.ParseAddrPort(arg(args, 0))
		if err != nil {
			return outcome("", err), true
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return outcome("socket", err), true
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
		if err := unix.Sendmsg(fd, []byte("fastopen"), nil, to, unix.MSG_FASTOPEN); err != nil {
			return outcome("", err), true
		}
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		if err != nil {
			return outcome("", err), true
		}
		return outcome(string(buf[:n]), nil), true
	case "socket-unixgram":
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return outcome("", err), true
	case "send-unixgram":
		// A datagram to a host socket by every way there is: sendto and
		// sendmsg with an address, on a socket and on a socketpair.
		to := &unix.SockaddrUnix{Name: arg(args, 0)}
		var errs []string
		var sent bool
		try := func(what string, err error) {
			if err == nil {
				sent = true
				errs = append(errs, what+": sent")
				return
			}
			errs = append(errs, what+": "+err.Error())
		}
		if fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
			try("sendto", unix.Sendto(fd, []byte("sendto"), 0, to))
			try("sendmsg", unix.Sendmsg(fd, []byte("sendmsg"), nil, to, 0))
			unix.Close(fd)
		} else {
			try("socket", err)
		}
		// SOCK_RAW is a datagram socket too: the kernel makes it one.
		if fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err == nil {
			try("raw sendto", unix.Sendto(fd, []byte("raw sendto"), 0, to))
			try("raw sendmsg", unix.Sendmsg(fd, []byte("raw sendmsg"), nil, to, 0))
			unix.Close(fd)
		} else {
			try("raw socket", err)
		}
		if sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
			try("socketpair sendto", unix.Sendto(sp[0], []byte("pair"), 0, to))
			unix.Close(sp[0])
			unix.Close(sp[1])
		} else {
			try("socketpair", err)
		}
		if sent {
			return result{OK: true, Detail: strings.Join(errs, "; ")}, true
		}
		return result{Errno: "EPERM", Detail: strings.Join(errs, "; ")}, true
	case "chmod":
		m, _ := strconv.ParseUint(arg(args, 1), 8, 32)
		return outcome("", unix.Chmod(arg(args, 0), uint32(m))), true
	case "reopen-append":
		// A descriptor opened for reading, reopened for writing through
		// /proc/self/fd: no O_CREAT, and no path the open names.
		rfd, err := unix.Open(arg(args, 0), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open for reading", err), true
		}
		defer unix.Close(rfd)
		wfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(rfd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("", err), true
		}
		defer unix.Close(wfd)
		_, err = unix.Write(wfd, []byte(arg(args, 1)))
		return outcome("", err), true
	case "truncate":
		return outcome("", unix.Truncate(arg(args, 0), 0)), true
	case "fchmod", "fchown", "fsetxattr", "futimens":
		// Through a descriptor opened for reading: no path to check.
		fd, err := unix.Open(arg(args, 0), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open for reading", err), true
		}
		defer unix.Close(fd)
		switch action {
		case "fchmod":
			err = unix.Fchmod(fd, 0o600)
		case "fchown":
			err = unix.Fchown(fd, os.Getuid(), os.Getgid())
		case "fsetxattr":
			err = unix.Fsetxattr(fd, "user.sbshim", []byte("x"), 0)
		default:
			err = unix.Futimes(fd, []unix.Timeval{{Sec: 1}, {Sec: 1}})
		}
		return outcome("", err), true
	case "procfd-truncate", "procfd-chmod", "procfd-unlink-dir":
		// Through the caller's own descriptor's /proc link: an O_PATH
		// descriptor, which any reader may hold.
		pfd, err := unix.Open(arg(args, 0), unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open O_PATH", err), true
		}
		defer unix.Close(pfd)
		link := "/proc/self/fd/" + strconv.Itoa(pfd)
		switch action {
		case "procfd-truncate":
			err = unix.Truncate(link, 0)
		case "procfd-chmod":
			err = unix.Chmod(link, 0o600)
		default: // the open directory's entry, by a path through its link
			err = unix.Unlink(link + "/" + arg(args, 1))
		}
		return outcome("", err), true
	case "procfd":
		// Any action on the /proc/self/fd link of an O_PATH descriptor
		// of the path: procfd OP PATH [ARGS...].
		pfd, err := unix.Open(arg(args, 1), unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open O_PATH", err), true
		}
		defer unix.Close(pfd)
		rest := append([]string{"/proc/self/fd/" + strconv.Itoa(pfd)}, args[min(len(args), 2):]...)
		return run(arg(args, 0), rest), true
	case "race-attr":
		// A symlink swapped between an allowed folder and a protected
		// one while a change is made through it, n times: the check and
		// the change must see the same file.
		link, allowed, protected, op := arg(args, 0), arg(args, 1), arg(args, 2), arg(args, 3)
		n, _ := strconv.Atoi(arg(args, 4))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			swapLink(link, allowed, protected, stop)
		}()
		name := filepath.Join(link, "config")
		done := 0
		for i := 0; i < n; i++ {
			var err error
			switch op {
			case "truncate":
				err = unix.Truncate(name, 0)
			case "chmod":
				err = unix.Chmod(name, 0o600)
			case "unlink":
				if err = unix.Unlink(name); err == nil {
					_ = os.WriteFile(filepath.Join(allowed, "config"), []byte("x\n"), 0o644)
				}
			}
			if err == nil {
				done++
			}
		}
		close(stop)
		wg.Wait()
		return result{OK: true, Detail: fmt.Sprintf("%d changes of %d", done, n)}, true
	case "utimes":
		return outcome("", unix.UtimesNano(arg(args, 0), []unix.Timespec{{Sec: 1}, {Sec: 1}})), true
	case "setxattr":
		return outcome("", unix.Setxattr(arg(args, 0), "user.sbshim", []byte("x"), 0)), true
	case "creat-mode":
		m, _ := strconv.ParseUint(arg(args, 1), 8, 32)
		fd, err := unix.Open(arg(args, 0), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, uint32(m))
		if err == nil {
			unix.Close(fd)
		}
		return outcome("", err), true
	case "argv":
		// The arguments, the environment and the working directory, in
		// hex: they must arrive byte for byte.
		cwd, err := os.Getwd()
		var env []string
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "ATTEMPT_") {
				env = append(env, hex.EncodeToString([]byte(kv)))
			}
		}
		var argv []string
		for _, a := range args {
			argv = append(argv, hex.EncodeToString([]byte(a)))
		}
		return outcome(strings.Join(argv, ",")+"|"+strings.Join(env, ",")+"|"+hex.EncodeToString([]byte(cwd)), err), true
	case "inotify-count":
		// How many inotify instances the sandbox can hold.
		var fds []int
		var last error
		for len(fds) < 4096 {
			fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
			if err != nil {
				last = err
				break
			}
			fds = append(fds, fd)
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		return result{OK: true, Detail: strconv.Itoa(len(fds)), Errno: errnoName(last)}, true
	case "fork-count":
		// How many processes the sandbox can hold at once: up to N
		// children that wait on a pipe, so that none ends early.
		n, _ := strconv.Atoi(arg(args, 0))
		r, w, err := os.Pipe()
		if err != nil {
			return outcome("", err), true
		}
		var procs []*os.Process
		var last error
		for len(procs) < n {
			p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "read x"},
				&os.ProcAttr{Files: []*os.File{r, nil, nil}})
			if err != nil {
				last = err
				break
			}
			procs = append(procs, p)
		}
		w.Close()
		for _, p := range procs {
			_, _ = p.Wait()
		}
		r.Close()
		return result{OK: true, Detail: strconv.Itoa(len(procs)), Errno: errnoName(last)}, true
	case "create-storm":
		// Many threads creating, writing and closing files at once: every
		// open the supervisor answers must give a descriptor of the file
		// opened, whatever signals reach either side meanwhile.
		dir := arg(args, 0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []string
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					p := fmt.Sprintf("%s/storm-%d-%d", dir, g, i)
					fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
					if err == nil {
						_, err = unix.Write(fd, []byte("x"))
						unix.Close(fd)
					}
					if err == nil {
						err = os.MkdirAll(fmt.Sprintf("%s/storm-d%d/a/b", dir, g), 0o755)
					}
					if err != nil {
						mu.Lock()
						bad = append(bad, p+": "+err.Error())
						mu.Unlock()
					}
				}
			}(g)
		}
		wg.Wait()
		if len(bad) > 0 {
			return result{Errno: "EIO", Detail: strings.Join(bad, "; ")}, true
		}
		return result{OK: true}, true
	case "status-all":
		// Every line of every thread's status under the glob that
		// matches the prefix.
		paths, _ := filepath.Glob(arg(args, 0))
		var lines []string
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				lines = append(lines, p+": "+err.Error())
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "CapEff:") || strings.HasPrefix(l, "CapPrm:") || strings.HasPrefix(l, "CapBnd:") ||
					strings.HasPrefix(l, "Seccomp:") || strings.HasPrefix(l, "NoNewPrivs:") {
					lines = append(lines, p+": "+strings.Join(strings.Fields(l), " "))
				}
			}
		}
		return result{OK: len(paths) > 0, Detail: strings.Join(lines, "\n")}, true
	}
	return result{}, false
}

func errnoName(err error) string {
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	return ""
}
