package isolation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// deputyMsg is the control message that carries the deputy's sockets.
const deputyMsg = "deputy"

// writeSpec sends the init's spec: its length (4 bytes, big-endian), then
// its encoding (initSpec.marshal).
func writeSpec(conn io.Writer, spec *initSpec) error {
	return writeFrame(conn, "spec", spec.marshal())
}

// readSpec reads what writeSpec sent into a zero spec.
func readSpec(r io.Reader, spec *initSpec) error {
	body, err := readFrame(r, "spec")
	if err != nil {
		return err
	}
	return spec.unmarshal(body)
}

// writeFrame sends body (what names it in errors) after its length, 4
// bytes big-endian: the spec, then the deputy's configuration.
func writeFrame(conn io.Writer, what string, body []byte) error {
	if len(body) > maxSpecLen {
		return fmt.Errorf("%s of %d bytes is too large (at most %d)", what, len(body), maxSpecLen)
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	_, err := conn.Write(append(msg, body...))
	return err
}

// readFrame reads what writeFrame sent.
func readFrame(r io.Reader, what string) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxSpecLen {
		return nil, fmt.Errorf("%s of %d bytes is too large", what, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%s of %d bytes: %w", what, n, err)
	}
	return body, nil
}

// plainStdio replaces a directory on stdin, stdout or stderr with
// /dev/null: a directory descriptor opened outside would let the command
// walk the host's tree past every mask (openat(0, ".ssh/id_rsa")).
func plainStdio() error {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("replace directory on descriptor %d: %w", fd, err)
		}
		err = unix.Dup3(null, fd, 0)
		unix.Close(null)
		if err != nil {
			return fmt.Errorf("replace directory on descriptor %d: %w", fd, err)
		}
		fmt.Fprintf(os.Stderr, "sbshim: descriptor %d is a directory; the sandbox gets /dev/null there instead\n", fd)
	}
	return nil
}

// allThreads runs a raw syscall on every thread of the process (see
// syscall.AllThreadsSyscall): the init is PID 1, and none of its threads
// may keep what the command lacks.
func allThreads(what string, trap, a1, a2, a3 uintptr) error {
	if _, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3); errno != 0 {
		return fmt.Errorf("%s: %w", what, errno)
	}
	return nil
}

// userLimitNames are the per-user kernel resources whose use inside the
// sandbox is also counted against the user's own limits outside: without a
// bound, the sandbox could exhaust them for the user's session (inotify
// instances above all: 128 by default for all of a user's programs).
var userLimitNames = []string{"max_inotify_instances", "max_inotify_watches", "max_fanotify_groups", "max_fanotify_marks"}

// userLimitShare is the share of each of the user's limits one sandbox may
// take.
const userLimitShare = 8

// userLimits reads the limits of userLimitNames that hold for sbshim's user
// and returns the sandbox's share of each.
func userLimits() map[string]int64 {
	out := map[string]int64{}
	for _, name := range userLimitNames {
		b, err := os.ReadFile("/proc/sys/user/" + name)
		if err != nil {
			continue // an older kernel, or built without it
		}
		host, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || host <= 0 {
			continue
		}
		out[name] = max(host/userLimitShare, 1)
	}
	return out
}

// limitUserResources sets the user namespace's own limits (the
// /proc/sys/user files of a new user namespace are its own). It needs
// CAP_SYS_RESOURCE in the user namespace.
func limitUserResources(limits map[string]int64) error {
	for name, limit := range limits {
		p := "/proc/sys/user/" + name
		if err := os.WriteFile(p, []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
			return fmt.Errorf("limit %s to %d: %w", name, limit, err)
		}
	}
	return nil
}

// procReadOnly are the parts of the sandbox's /proc through which the
// kernel's own settings are changed; they are made read-only, as
// container runtimes do. (Landlock refuses writes there too; this holds
// where Landlock is missing, and for a sandbox whose user is root.)
var procReadOnly = []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"}

// protectProc re-binds procReadOnly read-only.
func protectProc() error {
	for _, p := range procReadOnly {
		tree, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read-only %s: %w", p, err)
		}
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE,
			&unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC})
		if err == nil {
			err = unix.MoveMount(tree, "", unix.AT_FDCWD, p, unix.MOVE_MOUNT_F_EMPTY_PATH)
		}
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("read-only %s: %w", p, err)
		}
	}
	return nil
}

// deputyProc is the init's end of a started deputy.
type deputyProc struct {
	sync, async int // the supervisor's ends of the deputy's sockets
}

func (d *deputyProc) close() {
	unix.Close(d.sync)
	unix.Close(d.async)
}

// startDeputy starts the deputy (see deputy_linux.go) from the calling
// thread, which must already carry every restriction the deputy is to
// have. With wait, it returns only once the deputy has made itself
// undumpable: where Landlock is missing, nothing else would keep the
// command, started next, from its memory. (With Landlock, the command's
// domain is nested in the deputy's, and Landlock refuses it the deputy's
// memory from the start.)
func startDeputy(config []byte, wait bool) (*deputyProc, error) {
	var pairs [2][2]int
	for i := range pairs {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("deputy sockets: %w", err)
		}
		pairs[i] = [2]int{p[0], p[1]}
	}
	var cfg [2]int
	if err := unix.Pipe2(cfg[:], unix.O_CLOEXEC); err != nil {
		closeAll([]int{pairs[0][0], pairs[0][1], pairs[1][0], pairs[1][1]})
		return nil, fmt.Errorf("deputy configuration pipe: %w", err)
	}
	null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		closeAll([]int{pairs[0][0], pairs[0][1], pairs[1][0], pairs[1][1], cfg[0], cfg[1]})
		return nil, fmt.Errorf("deputy: %w", err)
	}
	attr := &syscall.ProcAttr{Dir: "/", Env: []string{},
		Files: []uintptr{uintptr(null), uintptr(null), 2, uintptr(pairs[0][1]), uintptr(pairs[1][1]), uintptr(cfg[0])},
		Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}}
	_, err = syscall.ForkExec("/proc/self/exe", []string{"sbshim-deputy", DeputyArg}, attr)
	closeAll([]int{null, pairs[0][1], pairs[1][1], cfg[0]})
	d := &deputyProc{sync: pairs[0][0], async: pairs[1][0]}
	if err != nil {
		unix.Close(cfg[1])
		d.close()
		return nil, fmt.Errorf("start the deputy: %w", err)
	}
	w := os.NewFile(uintptr(cfg[1]), "sbshim-deputy-config")
	ready := byte(deputyNoReady)
	if wait {
		ready = deputyReady
	}
	_, err = w.Write(append([]byte{ready}, config...))
	w.Close()
	if err == nil && wait {
		var b [1]byte
		var n int
		n, err = unix.Read(d.sync, b[:])
		if err == nil && n != 1 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		d.close()
		return nil, fmt.Errorf("configure the deputy: %w", err)
	}
	return d, nil
}
