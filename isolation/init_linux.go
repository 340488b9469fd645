package isolation

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/execpath"
)

// initFD is the descriptor on which the init talks to its parent: a unix
// stream socket carrying the spec (initwire_linux.go), then the init's
// stdin, stdout and stderr as SCM_RIGHTS; back, length-prefixed JSON, and
// the seccomp listener and other descriptors as SCM_RIGHTS.
const initFD = 3

// initSpec is everything the init needs, as plain data.
type initSpec struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// Mounts is nil when the sandbox has no mount namespace (degraded).
	Mounts    *mountPlan   `json:"mounts,omitempty"`
	Landlock  landlockSpec `json:"landlock"`
	Supervise bool         `json:"supervise"`
	NetNS     bool         `json:"netns"`
	Pids      int          `json:"pids"`
	MemoryMB  int          `json:"memoryMB"`
	// ProxyPort is the proxy bridge's port on 127.0.0.1 in proxy mode.
	ProxyPort int `json:"proxyPort,omitempty"`
	// Forwards are loopback ADDR:PORTs of package mirrors on the host
	// that the sandbox reaches at the same address (sendForwards).
	Forwards []string `json:"forwards,omitempty"`
	// DNS asks for the DNS responder's sockets on the nameservers of
	// /etc/resolv.conf (a network namespace without host networking).
	DNS bool `json:"dns,omitempty"`
	// PTY asks for a terminal of the sandbox's devpts (PTY mode).
	PTY *ptySpec `json:"pty,omitempty"`
	// HostNetwork is network.mode "host".
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// CgroupWait: sbshim moves the init into a cgroup while it builds the
	// sandbox, and sends one byte once done; the command may not start
	// before.
	CgroupWait bool `json:"cgroupWait,omitempty"`
	// UserLimits are the sandbox's limits of per-user kernel resources
	// (names of /proc/sys/user files).
	UserLimits map[string]int64 `json:"userLimits,omitempty"`
	// Trace asks the init to send the times of its phases with its
	// status (SBSHIM_TRACE_START).
	Trace bool `json:"trace,omitempty"`
}

// initStatus is the init's one report to its parent: the command started,
// or set-up failed.
type initStatus struct {
	OK     bool   `json:"ok"`
	Layers Layers `json:"layers"`
	Code   int    `json:"code,omitempty"`
	Layer  string `json:"layer,omitempty"`
	Error  string `json:"error,omitempty"`
	// Trace is the init's phases when the spec asked for them.
	Trace []TraceMark `json:"trace,omitempty"`
}

// InitMain is the sandbox's init. It never returns: it exits with the
// command's status (128+N if a signal N ended it) or, when set-up failed,
// with ExitSetup / ExitNotExecutable / ExitNotFound after telling its
// parent why.
func InitMain() {
	entered, enteredFaults := time.Now(), minorFaults()
	// Every per-thread restriction (capabilities, no_new_privs, Landlock,
	// seccomp) is applied to this one thread, and the command is forked
	// from it.
	runtime.LockOSThread()
	// sbshim passes signals on as soon as the init reports the command
	// started, so they are caught before the command is forked and kept
	// for it. Uncaught, one would make the Go runtime try to die of it,
	// which a namespace's PID 1 cannot: it would exit with status 2.
	// Catching them starts the runtime's signal machinery (a goroutine,
	// a thread), most of a millisecond here: it is done while the init
	// waits for its spec, and the command waits for it (caught).
	sigs := make(chan os.Signal, 16)
	chld := make(chan os.Signal, 1)
	caught := make(chan struct{})
	go func() {
		signal.Notify(sigs, forwardedSignals()...)
		signal.Notify(chld, unix.SIGCHLD)
		close(caught)
	}()
	// Only stdin, stdout and stderr cross into the sandbox: whatever
	// else sbshim was started with (a shell's "7<~") must not, and
	// neither must the channel to sbshim.
	if err := unix.CloseRange(initFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: init: close inherited descriptors: %v\n", err)
		os.Exit(ExitSetup)
	}
	conn := os.NewFile(initFD, "sbshim-init")
	var spec initSpec
	if err := readSpec(conn, &spec); err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: init: read spec: %v\n", err)
		os.Exit(ExitSetup)
	}
	if err := receiveStdio(initFD); err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: init: %v\n", err)
		os.Exit(ExitSetup)
	}
	if err := plainStdio(); err != nil {
		fmt.Fprintf(os.Stderr, "sbshim: init: %v\n", err)
		os.Exit(ExitSetup)
	}
	var tr *initTrace
	if spec.Trace {
		tr = &initTrace{marks: []TraceMark{{Proc: "init", Phase: "main entered", At: entered.UnixNano(), Faults: enteredFaults}}}
		tr.mark("spec read")
	}
	pid, layers, err := startInside(conn, &spec, tr, caught)
	if err != nil {
		var se *SetupError
		if !errors.As(err, &se) {
			se = &SetupError{Code: ExitSetup, Err: err}
		}
		_ = writeMsg(conn, initStatus{Code: se.Code, Layer: se.Layer, Error: se.Err.Error(), Trace: tr.list()})
		os.Exit(se.Code)
	}
	tr.mark("command forked")
	if err := writeMsg(conn, initStatus{OK: true, Layers: layers, Trace: tr.list()}); err != nil {
		// The parent is gone; so are we (its death signal follows).
		os.Exit(ExitSetup)
	}
	conn.Close()
	code := superviseChild(pid, spec.Mounts == nil, sigs, chld)
	if tr != nil {
		// Written after the command's end, where sbshim still reads:
		// how long the command took as the init saw it.
		fmt.Fprintf(os.Stderr, "sbshim: trace init: command ended %.3f ms after it was forked\n",
			float64(time.Now().UnixNano()-tr.marks[len(tr.marks)-1].At)/1e6)
	}
	os.Exit(code)
}

// startInside builds the sandbox around the calling process and starts the
// command in it.
func startInside(conn *os.File, spec *initSpec, tr *initTrace, caught <-chan struct{}) (int, Layers, error) {
	layers := Layers{UserNS: spec.Mounts != nil, NetNS: spec.NetNS}
	fail := func(layer string, err error) (int, Layers, error) {
		return 0, layers, &SetupError{Code: ExitSetup, Layer: layer, Err: err}
	}
	if spec.Mounts != nil {
		if err := buildRoot(*spec.Mounts); err != nil {
			return fail("mount", err)
		}
		tr.mark("mounts built")
	}
	var tty *sandboxTTY
	if spec.PTY != nil {
		t, err := openTTY(conn, spec.PTY)
		if err != nil {
			return fail("pty", err)
		}
		tty = t
		defer tty.close()
	}
	if spec.NetNS {
		if err := loopbackUp(); err != nil {
			return fail("netns", err)
		}
		if spec.ProxyPort > 0 {
			if err := sendBridge(conn, spec.ProxyPort); err != nil {
				return fail("proxy", err)
			}
			if err := sendForwards(conn, spec.Forwards); err != nil {
				return fail("proxy", err)
			}
		}
		if spec.DNS {
			if err := sendDNS(conn); err != nil {
				return fail("netns", err)
			}
		}
	}
	tr.mark("network set up")
	if err := os.Chdir(spec.Dir); err != nil {
		return fail("workdir", fmt.Errorf("the working directory is not reachable in the sandbox: %w", err))
	}
	if err := setLimits(spec.Pids, spec.MemoryMB); err != nil {
		return fail("limits", err)
	}
	if spec.Mounts != nil {
		// Still holding the user namespace's capabilities: bound what the
		// sandbox may take of the per-user kernel resources it shares with
		// the user's own session, then freeze the kernel's settings.
		if err := limitUserResources(spec.UserLimits); err != nil {
			return fail("limits", err)
		}
		if err := protectProc(); err != nil {
			return fail("mount", err)
		}
	}
	tr.mark("limits set")
	// From here on every thread of this process is restricted, not just
	// the one that forks: the init is PID 1, and its other threads must be
	// worth no more to the command than the command itself.
	if err := dropPrivileges(); err != nil {
		return fail("capabilities", err)
	}
	tr.mark("privileges dropped")
	ruleset, abi, err := landlockRuleset(spec.Landlock)
	if err != nil {
		return fail("landlock", err)
	}
	if ruleset >= 0 {
		defer unix.Close(ruleset)
		if err := allThreads("landlock_restrict_self", unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); err != nil {
			return fail("landlock", err)
		}
	}
	layers.Landlock = abi
	tr.mark("landlock")
	base, err := buildSeccompFilter(seccompOptions{NoInetDatagram: spec.Mounts == nil && !spec.HostNetwork})
	if err != nil {
		return fail("seccomp", err)
	}
	if _, err := installSeccomp(base, false, true); err != nil {
		return fail("seccomp", err)
	}
	layers.Seccomp = true
	tr.mark("seccomp")
	// Nothing in the sandbox may read or write the init's memory.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail("capabilities", fmt.Errorf("make the init undumpable: %w", err))
	}
	var dep *deputyProc
	if spec.Supervise {
		// The deputy shares every restriction so far; the command gets
		// a Landlock domain nested in the deputy's (so that it can
		// neither trace nor signal it) and the user-notification filter.
		// Its configuration follows the spec and the stdio: sbshim
		// encodes it while the init builds the sandbox. The init passes
		// it on without reading it.
		config, err := readFrame(conn, "deputy configuration")
		if err != nil {
			return fail("supervisor", fmt.Errorf("read the deputy's configuration: %w", err))
		}
		dep, err = startDeputy(config, abi == 0)
		if err != nil {
			return fail("supervisor", err)
		}
		defer dep.close()
		tr.mark("deputy started")
	}
	if ruleset >= 0 {
		if err := thisThread("landlock_restrict_self", unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); err != nil {
			return fail("landlock", err)
		}
	}
	if spec.Supervise {
		prog, err := buildSeccompFilter(seccompOptions{Supervise: true, NoInetDatagram: spec.Mounts == nil && !spec.HostNetwork})
		if err != nil {
			return fail("seccomp", err)
		}
		listener, err := installSeccomp(prog, true, false)
		switch {
		case errors.Is(err, unix.EBUSY):
			// A filter of an enclosing sbshim already has the one
			// listener a filter chain may have; that sbshim's
			// supervisor goes on answering for this sandbox too.
		case err != nil:
			return fail("seccomp", err)
		default:
			err := writeMsg(conn, deputyMsg, dep.sync, dep.async)
			if err == nil {
				err = writeMsg(conn, "listener", listener)
			}
			unix.Close(listener)
			if err != nil {
				return fail("seccomp", fmt.Errorf("hand the listener to sbshim: %w", err))
			}
			layers.Supervisor = true
			layers.Observer = true // the same listener carries the observed calls
		}
		tr.mark("notify filter and listener sent")
	}
	path, err := lookPath(spec.Argv[0], spec.Env)
	if err != nil {
		return 0, layers, err
	}
	// The command leads a session of its own. Outside PTY mode that
	// leaves it without a controlling terminal: whatever terminal sbshim
	// was started from (an MCP client running in one, say), /dev/tty
	// inside cannot reach it. The session is also the process group that,
	// without a pid namespace, is ended with the command.
	attr := &syscall.ProcAttr{Dir: spec.Dir, Env: spec.Env, Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Setsid: true}}
	if spec.Mounts == nil {
		attr.Sys.Pdeathsig = syscall.SIGKILL
	}
	if tty != nil {
		tty.apply(attr)
	}
	tr.mark("command looked up")
	if spec.CgroupWait {
		// sbshim has been moving this process into the sandbox's pids
		// cgroup meanwhile; the command may not start before it is
		// there. The deputy may: it is not the sandbox's (nothing in the
		// sandbox can trace or signal it, and it never forks), and it
		// stays one process whichever cgroup it is in.
		var b [1]byte
		if _, err := io.ReadFull(conn, b[:]); err != nil {
			return fail("limits", fmt.Errorf("wait for the pids cgroup: %w", err))
		}
		tr.mark("cgroup awaited")
	}
	<-caught
	pid, err := syscall.ForkExec(path, spec.Argv, attr)
	if err != nil {
		return 0, layers, execError(spec.Argv[0], err)
	}
	return pid, layers, nil
}

// stdioByte is the byte that carries the init's stdin, stdout and
// stderr, which follow its spec (sendStdio).
const stdioByte = 'S'

// receiveStdio takes the three descriptors sbshim sends after the spec
// and puts them in place of the init's stdin, stdout and stderr (until
// then /dev/null).
func receiveStdio(fd int) error {
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := unix.Recvmsg(fd, b[:], oob, unix.MSG_CMSG_CLOEXEC)
	for errors.Is(err, unix.EINTR) {
		n, oobn, _, _, err = unix.Recvmsg(fd, b[:], oob, unix.MSG_CMSG_CLOEXEC)
	}
	if err != nil {
		return fmt.Errorf("receive stdin, stdout and stderr: %w", err)
	}
	fds := rightsOf(oob[:oobn])
	defer func() {
		for _, f := range fds {
			unix.Close(f)
		}
	}()
	if n != 1 || b[0] != stdioByte || len(fds) != 3 {
		return fmt.Errorf("receive stdin, stdout and stderr: got %d bytes and %d descriptors", n, len(fds))
	}
	for i, f := range fds {
		if err := unix.Dup3(f, i, 0); err != nil {
			return fmt.Errorf("take descriptor %d: %w", i, err)
		}
	}
	return nil
}

// lookPath finds the command as a shell would, with the command's own PATH,
// inside the sandbox.
func lookPath(name string, env []string) (string, error) {
	path, err := execpath.Look(name, env, "", "/usr/local/bin:/usr/bin:/bin")
	var e *execpath.Error
	if errors.As(err, &e) {
		code := ExitNotExecutable
		if e.NotFound {
			code = ExitNotFound
		}
		return "", &SetupError{Code: code, Layer: "exec", Err: err}
	}
	return path, err
}

func execError(name string, err error) error {
	code := ExitNotExecutable
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	return &SetupError{Code: code, Layer: "exec", Err: fmt.Errorf("%s: %w", name, err)}
}

// forwardedSignals are passed on to the command.
func forwardedSignals() []os.Signal {
	return []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
		unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM}
}

// superviseChild is the init's life after the command started: it passes
// the signals of sigs on, reaps every process that is reparented to it
// (chld tells of SIGCHLD), and returns the command's status once the
// command is gone. When the init exits, the kernel ends every other
// process of the pid namespace.
func superviseChild(pid int, ownGroup bool, sigs, chld <-chan os.Signal) int {
	target := pid
	if ownGroup {
		target = -pid
	}
	for {
		if code, done := reap(pid); done {
			if ownGroup {
				_ = unix.Kill(-pid, unix.SIGKILL)
			}
			return code
		}
		select {
		case <-chld:
		case sig := <-sigs:
			_ = unix.Kill(target, sig.(syscall.Signal))
		}
	}
}

// reap collects every exited child without blocking and reports the
// command's status once it has exited.
func reap(pid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 {
			return 0, false
		}
		if got != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ws.ExitStatus(), true
	}
}

// loopbackUp brings up "lo" in a fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// setLimits applies the policy's process and memory limits. Both are
// counted per user namespace, so in a full sandbox they bound the sandbox
// alone.
func setLimits(pids, memoryMB int) error {
	if pids > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: uint64(pids), Max: uint64(pids)}); err != nil {
			return fmt.Errorf("pids: %w", err)
		}
	}
	if memoryMB > 0 {
		b := uint64(memoryMB) << 20
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: b, Max: b}); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	return nil
}

// writeMsg sends v as length-prefixed JSON, with the descriptors fds
// attached as SCM_RIGHTS (those < 0 are left out).
func writeMsg(conn *os.File, v any, fds ...int) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	msg = append(msg, body...)
	var oob []byte
	var rights []int
	for _, fd := range fds {
		if fd >= 0 {
			rights = append(rights, fd)
		}
	}
	if len(rights) > 0 {
		oob = unix.UnixRights(rights...)
	}
	n, err := unix.SendmsgN(int(conn.Fd()), msg, oob, nil, 0)
	if err != nil {
		return err
	}
	if n < len(msg) {
		_, err = conn.Write(msg[n:])
	}
	return err
}
