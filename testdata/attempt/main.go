//go:build linux

// Command attempt tries one thing a sandbox may forbid and prints the
// outcome as one JSON line: {"ok":true,…} or {"ok":false,"errno":"EPERM",…}.
// sbshim's tests run it inside the sandbox.
//
//	attempt read PATH | list DIR | write PATH TEXT | append PATH TEXT | mkdir PATH
//	attempt symlink TARGET LINK | link OLD NEW | rename OLD NEW | unlink PATH
//	attempt connect-unix PATH | connect-tcp HOST:PORT | serve-unix PATH
//	attempt ptrace PID | kill PID | tiocsti | io-uring | userns | unshare-user | mount
//	attempt tiocsti-stdin TEXT (push TEXT into the input of the terminal on stdin)
//	attempt env | pids | netns | sleep-tree TOKEN
//	attempt readat DIR NAME | exec PATH | send-udp HOST:PORT
//	attempt race-read LINK ALLOWED SECRET N (flip LINK between two targets while reading it)
//	attempt open-creat PATH | reopen-opath PATH | procs-mem | mknod-char PATH
//	attempt write-same PATH | bind-tcp ADDR | socket-unixgram | send-unixgram PATH
//	attempt chmod PATH OCTAL | creat-mode PATH OCTAL | argv | inotify-count | status-all PATTERN
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

type result struct {
	OK     bool   `json:"ok"`
	Errno  string `json:"errno,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attempt ACTION [ARGS...]")
		os.Exit(2)
	}
	r := run(os.Args[1], os.Args[2:])
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	fmt.Fprintf(os.Stderr, "attempt: missing argument %d\n", i+1)
	os.Exit(2)
	return ""
}

func outcome(detail string, err error) result {
	if err == nil {
		return result{OK: true, Detail: detail}
	}
	r := result{Detail: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = unix.ErrnoName(errno)
	}
	return r
}

func run(action string, args []string) result {
	switch action {
	case "read":
		b, err := os.ReadFile(arg(args, 0))
		return outcome(string(b), err)
	case "list":
		ents, err := os.ReadDir(arg(args, 0))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return outcome(strings.Join(names, "\n"), err)
	case "readat":
		dir, err := unix.Open(arg(args, 0), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open dir", err)
		}
		defer unix.Close(dir)
		fd, err := unix.Openat(dir, arg(args, 1), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("", err)
		}
		f := os.NewFile(uintptr(fd), arg(args, 1))
		defer f.Close()
		b := make([]byte, 4096)
		n, err := f.Read(b)
		if n > 0 {
			err = nil
		}
		return outcome(string(b[:n]), err)
	case "race-read":
		link, allowed, secret := arg(args, 0), arg(args, 1), arg(args, 2)
		n, _ := strconv.Atoi(arg(args, 3))
		stop := make(chan struct{})
		go swapLink(link, allowed, secret, stop)
		leaked, opened := 0, 0
		for i := 0; i < n; i++ {
			if b, err := os.ReadFile(link); err == nil {
				opened++
				if strings.Contains(string(b), "SECRET") {
					leaked++
				}
			}
		}
		close(stop)
		r := result{OK: leaked > 0, Detail: fmt.Sprintf("%d reads, %d opened, %d leaked", n, opened, leaked)}
		return r
	case "exec":
		return outcome("", unix.Exec(arg(args, 0), []string{arg(args, 0)}, os.Environ()))
	case "send-udp":
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			return outcome("listen", err)
		}
		defer c.Close()
		dst, err := net.ResolveUDPAddr("udp", arg(args, 0))
		if err != nil {
			return outcome("resolve", err)
		}
		_, err = c.WriteTo([]byte("query"), dst)
		return outcome("", err)
	case "write":
		return outcome("", os.WriteFile(arg(args, 0), []byte(arg(args, 1)), 0o644))
	case "append":
		f, err := os.OpenFile(arg(args, 0), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return outcome("", err)
		}
		_, err = f.WriteString(arg(args, 1))
		f.Close()
		return outcome("", err)
	case "mkdir":
		return outcome("", os.Mkdir(arg(args, 0), 0o755))
	case "symlink":
		return outcome("", os.Symlink(arg(args, 0), arg(args, 1)))
	case "link":
		return outcome("", os.Link(arg(args, 0), arg(args, 1)))
	case "rename":
		return outcome("", os.Rename(arg(args, 0), arg(args, 1)))
	case "link-opath": // a hard link to what an O_PATH|O_NOFOLLOW descriptor names
		fd, err := unix.Open(arg(args, 0), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome("open", err)
		}
		defer unix.Close(fd)
		return outcome("", unix.Linkat(fd, "", unix.AT_FDCWD, arg(args, 1), unix.AT_EMPTY_PATH))
	case "exchange": // renameat2(RENAME_EXCHANGE)
		return outcome("", unix.Renameat2(unix.AT_FDCWD, arg(args, 0), unix.AT_FDCWD, arg(args, 1), unix.RENAME_EXCHANGE))
	case "unlink":
		return outcome("", os.Remove(arg(args, 0)))
	case "connect-unix":
		c, err := net.Dial("unix", arg(args, 0))
		if err != nil {
			return outcome("", err)
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		return outcome(string(buf[:n]), nil)
	case "serve-unix":
		// Plays a host service (a Docker socket, say) until killed.
		l, err := net.Listen("unix", arg(args, 0))
		if err != nil {
			return outcome("", err)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return outcome("", err)
			}
			_, _ = c.Write([]byte("host-service"))
			c.Close()
		}
	case "connect-tcp":
		c, err := net.Dial("tcp", arg(args, 0))
		if err != nil {
			return outcome("", err)
		}
		c.Close()
		return outcome("", nil)
	case "ptrace":
		pid, _ := strconv.Atoi(arg(args, 0))
		err := unix.PtraceAttach(pid)
		if err == nil {
			_ = unix.PtraceDetach(pid)
		}
		return outcome("", err)
	case "kill":
		pid, _ := strconv.Atoi(arg(args, 0))
		return outcome("", unix.Kill(pid, 0))
	case "tiocsti":
		return tiocsti()
	case "tiocsti-stdin":
		return tiocstiOn(0, arg(args, 0))
	case "io-uring":
		var params [120]byte
		fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		if errno != 0 {
			return outcome("", errno)
		}
		unix.Close(int(fd))
		return outcome("", nil)
	case "userns":
		// clone(CLONE_NEWUSER): Go cannot unshare a user namespace from
		// a multi-threaded process, but it can start a child in one.
		c := exec.Command("/bin/true")
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
		return outcome("", c.Run())
	case "unshare-user":
		// Without a filter the kernel refuses this for a multi-threaded
		// process with EINVAL; the sandbox's filter answers first, EPERM.
		return outcome("", unix.Unshare(unix.CLONE_NEWUSER))
	case "mount":
		return outcome("", unix.Mount("none", arg(args, 0), "tmpfs", 0, ""))
	case "env":
		return outcome(strings.Join(os.Environ(), "\n"), nil)
	case "pids":
		ents, err := os.ReadDir("/proc")
		var pids []string
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, e.Name())
			}
		}
		return outcome(strings.Join(pids, " "), err)
	case "netns":
		l, err := os.Readlink("/proc/self/ns/net")
		return outcome(l, err)
	case "sleep-tree":
		token := arg(args, 0)
		for i := 0; i < 2; i++ {
			c := exec.Command("sleep", token)
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // detached: outlives this process if it can
			if err := c.Start(); err != nil {
				return outcome("", err)
			}
		}
		return outcome("", exec.Command("sleep", token).Run())
	}
	if r, ok := hostile(action, args); ok {
		return r
	}
	fmt.Fprintf(os.Stderr, "attempt: unknown action %q\n", action)
	os.Exit(2)
	return result{}
}

// tiocsti makes a fresh pty its controlling terminal (in a new session)
// and tries to push a byte into that terminal's input queue — the classic
// way to type commands into the user's shell.
func tiocsti() result {
	if os.Getenv("ATTEMPT_SESSION") == "" {
		self, err := os.Executable()
		if err != nil {
			return outcome("", err)
		}
		c := exec.Command(self, "tiocsti")
		c.Env = append(os.Environ(), "ATTEMPT_SESSION=1")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := c.Output()
		if err != nil {
			return outcome("", err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			return outcome("", err)
		}
		return r
	}
	// Closing our own terminal at the end hangs it up.
	signal.Ignore(syscall.SIGHUP)
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return outcome("open /dev/ptmx", err)
	}
	defer m.Close()
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return outcome("unlock pty", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		return outcome("pty number", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return outcome("open pty", err)
	}
	defer s.Close()
	if err := unix.IoctlSetInt(int(s.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return outcome("make it the controlling terminal", err)
	}
	c := byte('x')
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, s.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
	if errno != 0 {
		return outcome("", errno)
	}
	return outcome("", nil)
}

// tiocstiOn pushes text into the input queue of the terminal open on fd,
// one byte per ioctl, as an attacker typing into the user's shell would.
func tiocstiOn(fd int, text string) result {
	for i := 0; i < len(text); i++ {
		c := text[i]
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
		if errno != 0 {
			return outcome("", errno)
		}
	}
	return outcome("", nil)
}

// swapLink points link at a and b in turn, atomically (a new link renamed
// over it), until stop is closed.
func swapLink(link, a, b string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		target := a
		if i%2 == 1 {
			target = b
		}
		tmp := fmt.Sprintf("%s.%d", link, i%2)
		_ = os.Remove(tmp)
		_ = os.Symlink(target, tmp)
		_ = os.Rename(tmp, link)
	}
}
