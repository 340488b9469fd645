package isolation

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbshim/sbshim/isolation/policy"
)

// Process is a command running in a sandbox.
type Process struct {
	cmd    *exec.Cmd
	layers Layers
	stop   context.CancelFunc
	supErr chan error
	exited chan struct{} // closed when the init has been waited for
	sigs   chan os.Signal
	once   sync.Once
	proxy  *sandboxProxy // nil unless network.mode is proxy
	dns    *dnsResponder // nil without a network namespace of the sandbox's own
	cgroup *pidsCgroup   // the sandbox's own pids cgroup, when sbshim runs as root
	deputy *deputyClient // until the supervisor takes it
	pty    *os.File      // the terminal's master in PTY mode
	trace  *StartTrace   // Config.Trace
	// serving is set once the command answers its client (Serving).
	serving atomic.Bool
}

// Serving tells the supervisor that the command has started: it answers
// its client. The supervisor then stops waiting for the sandbox's calls
// on a thread of its own (see notifWaiter).
func (p *Process) Serving() { p.serving.Store(true) }

// Layers reports the isolation layers in force.
func (p *Process) Layers() Layers { return p.layers }

// Pid is the host pid of the sandbox's init.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the command (through the sandbox's init).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the command and returns its exit status: its own code,
// 128+N if signal N ended it. When it returns, nothing of the sandbox is
// left running.
func (p *Process) Wait() (int, error) {
	err := p.cmd.Wait()
	p.trace.Mark("init waited for")
	close(p.exited)
	p.release()
	p.trace.Mark("supervisor, proxy and DNS stopped")
	p.cgroup.remove()
	p.trace.Mark("cgroup removed")
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return ExitSetup, fmt.Errorf("wait for the sandbox: %w", err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			code = 128 + int(ws.Signal())
		default:
			code = ws.ExitStatus()
		}
	}
	return code, nil
}

func (p *Process) release() {
	p.once.Do(func() {
		if p.sigs != nil {
			signal.Stop(p.sigs)
			close(p.sigs)
		}
		if p.stop != nil {
			p.stop()
			<-p.supErr
		}
		if p.proxy != nil {
			p.proxy.stop()
		}
		p.dns.stop()
	})
}

// Start runs cfg.Argv in a sandbox built from cfg.Policy. The signals
// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH that
// reach sbshim are passed on to the command. If sbshim dies, even by
// SIGKILL, everything in the sandbox dies with it.
func Start(cfg Config) (*Process, error) {
	if len(cfg.Argv) == 0 {
		return nil, &SetupError{Code: ExitSetup, Layer: "exec", Err: errors.New("no command given")}
	}
	if cfg.Policy == nil {
		return nil, &SetupError{Code: ExitSetup, Layer: "policy", Err: errors.New("no policy")}
	}
	cfg.Trace.Mark("isolation.Start")
	// The init is forked while its spec is built: it needs the spec only
	// once its runtime has started.
	netNS := cfg.Policy.Network.Mode != policy.NetHost
	p, err := startInit(cfg, func() *initSpec { return buildInitSpec(cfg, true, bridgePort()) }, true, netNS, nil)
	if err != nil && isNamespaceRefusal(err) {
		if cfg.Strict {
			return nil, &SetupError{Code: ExitSetup, Layer: "userns", Err: fmt.Errorf(
				"cannot create user namespaces (%v); --strict refuses to run without them (see 'sbshim doctor')", err)}
		}
		if cfg.Warn != nil {
			cfg.Warn(fmt.Sprintf("user namespaces are unavailable (%v): running with Landlock, seccomp and the supervisor only, without a private mount tree, /tmp or network namespace; see 'sbshim doctor'", err))
		}
		ln, port, lerr := degradedBridge(cfg.Policy)
		if lerr != nil {
			return nil, &SetupError{Code: ExitSetup, Layer: "proxy", Err: lerr}
		}
		spec := buildInitSpec(cfg, false, port)
		p, err = startInit(cfg, func() *initSpec { return spec }, false, false, ln)
	}
	if err != nil {
		var se *SetupError
		if !errors.As(err, &se) {
			err = &SetupError{Code: ExitSetup, Layer: "userns", Err: err}
		}
		return nil, err
	}
	return p, nil
}

// isNamespaceRefusal says whether starting the init failed because the
// host does not let this user create namespaces.
func isNamespaceRefusal(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) ||
		errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EUSERS)
}

// buildInitSpec turns the Config into the init's plain-data spec;
// proxyPort is the bridge's port in proxy mode.
func buildInitSpec(cfg Config, namespaces bool, proxyPort int) *initSpec {
	pol := cfg.Policy
	spec := &initSpec{
		Argv:        cfg.Argv,
		Env:         pol.Environ(os.Environ()),
		Dir:         cfg.Dir,
		Supervise:   true,
		HostNetwork: pol.Network.Mode == policy.NetHost,
		Pids:        pol.Limits.Pids,
		MemoryMB:    pol.Limits.MemoryMB,
		Trace:       cfg.Trace != nil,
	}
	cfg.Trace.Mark("spec: environment")
	if cfg.PTY != nil {
		spec.PTY = &ptySpec{Size: *cfg.PTY}
	}
	if spec.Dir == "" {
		spec.Dir, _ = os.Getwd()
	}
	write := append([]string(nil), pol.Filesystem.AllowWrite...)
	spec.Landlock = landlockSpec{Write: write, UnixSockets: pol.Network.AllowUnixSockets}
	if !namespaces {
		spec.Landlock.ReadDeny = pol.Filesystem.DenyRead
		spec.Landlock.ReadAllow = pol.ReadExemptions()
	}
	if namespaces {
		plan := planMounts(pol)
		spec.Mounts = &plan
		cfg.Trace.Mark("spec: mounts planned")
		spec.UserLimits = userLimits()
		spec.NetNS = pol.Network.Mode != policy.NetHost
		spec.DNS = spec.NetNS
	}
	cfg.Trace.Mark("spec: namespaces")
	writable := writableMemo{}
	spec.Env = withRegistrySettings(spec.Env, pol, cfg.Warn, writable)
	cfg.Trace.Mark("spec: registry settings")
	if pol.Network.Mode == policy.NetProxy {
		spec.ProxyPort = proxyPort
		spec.Env = withProxyEnv(spec.Env, proxyPort, pol)
		if !namespaces {
			// Without a network namespace the host's loopback is shared:
			// Landlock keeps TCP to the proxy's port (its rules name
			// ports, not addresses: a mirror's port cannot be added
			// without opening that port everywhere). With one, the empty
			// namespace does, and the sandbox's own loopback stays usable.
			spec.Landlock.ConnectTCP = []int{proxyPort}
		} else {
			// A package mirror on the host's loopback is reached at the
			// same address of the sandbox's own.
			for _, m := range loopbackRegistries(pol, spec.Env, writable) {
				spec.Forwards = append(spec.Forwards, m.String())
			}
		}
	}
	return spec
}

// startInit starts sbshim's init, in new namespaces when namespaces is
// true (with a network namespace of its own when netNS is), or takes the
// one cfg.Prefork started in those, sends it the spec that build returns
// (built while the init starts), its stdin, stdout and stderr and the
// deputy's policy, and waits until it reports that the command started.
// ln is the proxy's listener when sbshim made it itself (no network
// namespace). As root, the init's pids cgroup gets the policy's limit
// before the init may start the command.
func startInit(cfg Config, build func() *initSpec, namespaces, netNS bool, ln net.Listener) (*Process, error) {
	f := cfg.Prefork.take(namespaces, netNS)
	if f == nil {
		var err error
		f, err = forkInit(namespaces, netNS, cfg.Trace)
		// A preforked init in other namespaces is not needed; it goes
		// once the new one catches the signals.
		cfg.Prefork.Discard()
		if err != nil {
			return nil, err
		}
	}
	cmd, parentConn := f.cmd, f.parentConn
	defer parentConn.Close()
	p := &Process{cmd: cmd, exited: f.exited, sigs: f.sigs, trace: cfg.Trace}
	// The init is moved into its pids cgroup, if it has one, while it
	// builds the sandbox (the move takes milliseconds); it waits for the
	// move, told by a byte after its spec, before it starts any process.
	var join *cgroupJoin // set before startErr is sent on
	specSent := make(chan bool, 1)
	startErr := make(chan error, 1)
	go func() {
		err := <-f.started
		if err == nil && f.move != nil {
			if max := cfg.Policy.Limits.Pids; max > 0 {
				join = joinCgroup(f.move, max, cmd.Process, parentConn, cfg.Strict, specSent)
			}
		}
		startErr <- err
	}()
	spec := build()
	cfg.Trace.Mark("init spec built")
	if ln != nil {
		p.proxy = startProxy(ln, cfg, spec.Env, spec.ProxyPort, func() int { return 0 })
	}
	err := <-startErr
	cfg.Trace.Mark("init forked")
	if err != nil {
		p.release()
		if namespaces {
			return nil, fmt.Errorf("start the sandbox: %w", err)
		}
		return nil, &SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("start the sandbox: %w", err)}
	}
	spec.CgroupWait = join != nil
	// joined waits for the move and takes the cgroup the init is in;
	// it returns why the cgroup does not limit the init, when a limit
	// was asked for.
	joined := func() error {
		if join == nil {
			c, _ := f.move.wait()
			p.cgroup = c
			return nil
		}
		c, err := join.wait()
		p.cgroup = c
		return err
	}
	fail := func(err error) (*Process, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		close(p.exited)
		p.release()
		p.dropPTY()
		if cgErr := joined(); cgErr != nil && cfg.Strict {
			err = &SetupError{Code: ExitSetup, Layer: "limits", Err: fmt.Errorf(
				"limits.pids cannot bind root without a cgroup (%v); --strict refuses (see 'sbshim doctor')", cgErr)}
		}
		p.cgroup.remove()
		return nil, err
	}
	if spec.NetNS != netNS {
		// Start and buildInitSpec decide alike; a mismatch is a bug, and
		// the init's namespaces are not those the spec describes.
		specSent <- false
		return fail(&SetupError{Code: ExitSetup, Layer: "netns", Err: errors.New("the init's network namespace and its spec disagree")})
	}
	rc, err := parentConn.SyscallConn()
	if err == nil {
		err = writeSpec(parentConn, spec)
	}
	if err == nil {
		// The init gets its stdin, stdout and stderr with its spec: it
		// may have been forked before sbshim knew them (Prefork).
		err = sendStdio(rc, cfg)
	}
	if err != nil {
		specSent <- false
		return fail(&SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("send the spec: %w", err)})
	}
	cfg.Trace.Mark("spec sent")
	sent := true
	if spec.Supervise {
		// The deputy's configuration comes next: the init needs it
		// only once it has built the sandbox, so it is encoded
		// meanwhile rather than before the spec.
		config, err := encodeDeputyConfig(cfg.Policy)
		if err != nil {
			specSent <- false
			return fail(&SetupError{Code: ExitSetup, Layer: "supervisor", Err: err})
		}
		if err := writeFrame(parentConn, "deputy configuration", config); err != nil {
			// The init ended first, usually because building the
			// sandbox failed: the status saying why is read below.
			// An init still waiting for the frame sees its end.
			sent = false
			_ = rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_WR) })
		}
		cfg.Trace.Mark("deputy configuration sent")
	}
	specSent <- sent
	rd := &msgReader{rc: rc}
	for {
		body, fds, err := rd.next()
		if err != nil {
			return fail(&SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("the sandbox's init ended during set-up: %w", err)})
		}
		if len(fds) > 0 && string(body) == `"`+proxyMsg+`"` && p.proxy == nil && spec.ProxyPort > 0 {
			p.serveBridge(fds[0], cfg, spec)
			closeAll(fds[1:])
			continue
		}
		if len(fds) == 2 && string(body) == `"`+dnsMsg+`"` && spec.DNS && p.stop == nil {
			p.serveDNS(fds[0], fds[1], cfg)
			continue
		}
		if len(fds) > 0 {
			if p.takePTY(body, fds) || p.takeForward(body, fds, spec) {
				continue
			}
			if string(body) == `"`+deputyMsg+`"` && len(fds) == 2 && p.deputy == nil {
				p.deputy = newDeputyClient(fds[0], fds[1])
				continue
			}
			if !spec.Supervise || p.stop != nil {
				closeAll(fds)
				continue
			}
			p.startSupervisor(fds[0], cfg, spec)
			cfg.Trace.Mark("supervisor started")
			closeAll(fds[1:])
			continue
		}
		var st initStatus
		if err := json.Unmarshal(body, &st); err != nil {
			return fail(&SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("bad report from init: %w", err)})
		}
		cfg.Trace.add(st.Trace)
		cfg.Trace.Mark("init status read")
		if !st.OK {
			_ = cmd.Wait()
			close(p.exited)
			p.release()
			p.dropPTY()
			_ = joined()
			p.cgroup.remove()
			msg := st.Error
			if st.Code == ExitNotFound || st.Code == ExitNotExecutable {
				msg += hiddenHint(cfg.Argv[0], spec.Dir, cfg.Policy, namespaces)
			}
			return nil, &SetupError{Code: st.Code, Layer: st.Layer, Err: errors.New(msg)}
		}
		p.layers = st.Layers
		break
	}
	// The init waited for the move before it started the command.
	if err := joined(); err != nil && cfg.Warn != nil {
		cfg.Warn(fmt.Sprintf("limits.pids does not bind root here (%v); see 'sbshim doctor'", err))
	}
	go func() {
		for sig := range p.sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	return p, nil
}

func (p *Process) startSupervisor(listener int, cfg Config, spec *initSpec) {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.supErr = make(chan error, 1)
	report := cfg.Report
	if report == nil {
		report = func(Event) {}
	}
	sup := newSupervisor(listener, cfg.Policy, cfg.Policy.Network.Mode, report, p.deputy)
	sup.serving = &p.serving
	p.deputy = nil // the supervisor closes it
	sup.directNet = directNetGate(cfg.Policy.Network.Mode, spec.NetNS, spec.ProxyPort)
	if p.dns != nil && sup.directNet == nil {
		sup.directNet = p.dns.gate(cfg.Policy.Network.Mode)
	}
	sup.dns = p.dns
	if spec.Mounts != nil {
		sup.ownTmp = true
		for _, w := range cfg.Policy.Filesystem.AllowWrite {
			if w != "/tmp" && strings.HasPrefix(w, "/tmp/") {
				sup.hostTmp = append(sup.hostTmp, w)
			}
		}
	}
	go func() {
		err := sup.Run(ctx)
		if err != nil && ctx.Err() == nil && cfg.Warn != nil {
			// The kernel now fails every supervised call of the sandbox
			// with ENOSYS (closed, not open): say why.
			cfg.Warn(fmt.Sprintf("the supervisor stopped: %v; the sandbox's supervised calls fail from now on", err))
		}
		p.supErr <- err
	}()
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// initFork is a sandbox init being started: forked into its namespaces
// and exec'd, waiting for its spec.
type initFork struct {
	cmd        *exec.Cmd
	parentConn *os.File // sbshim's end of the init's socket, non-blocking
	namespaces bool
	netNS      bool
	// sigs has caught the signals passed on to the command since before
	// the fork (see forkInit).
	sigs chan os.Signal
	// started receives cmd.Start's result, once.
	started chan error
	// exited is closed once the init has been waited for; until then
	// the thread that forked it stays (see forkInit).
	exited chan struct{}
	// move is the init's move into its pids cgroup when sbshim runs as
	// root (RLIMIT_NPROC does not bind root): started as soon as the
	// init is forked, set before started is sent on; nil otherwise.
	move *cgroupMove
	// used is set once Start took the init or it was discarded.
	used bool
}

// forkInit starts sbshim's init, in new namespaces when namespaces is
// true (with a network namespace of its own when netNS is). Its stdin,
// stdout and stderr are /dev/null until it is sent the real ones with its
// spec (sendStdio). The fork runs on a goroutine of its own: wait for
// started.
func forkInit(namespaces, netNS bool, tr *StartTrace) (*initFork, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("socketpair: %w", err)}
	}
	// sbshim's end waits in the runtime's poller: a thread blocked in
	// recvmsg would keep its P, and the supervisor's goroutine, started
	// while the init still sets up, would wait for the runtime's monitor
	// to take that P back (milliseconds at start-up) before it could
	// answer the command's first call.
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return nil, &SetupError{Code: ExitSetup, Layer: "init", Err: fmt.Errorf("socketpair: %w", err)}
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return nil, &SetupError{Code: ExitSetup, Layer: "init", Err: err}
	}
	parentConn := os.NewFile(uintptr(pair[0]), "sbshim-init-parent")
	childConn := os.NewFile(uintptr(pair[1]), "sbshim-init-child")
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{"sbshim-init", InitArg},
		// One P: the init's work is sequential and its waits block in
		// the kernel, and a runtime with fewer Ps starts with less
		// memory to fault in, and stops fewer threads to change its
		// credentials. The command gets its own environment (the spec).
		Env:        []string{"GOMAXPROCS=1"},
		Stdin:      devNull,
		Stdout:     devNull,
		Stderr:     devNull,
		ExtraFiles: []*os.File{childConn},
		SysProcAttr: &syscall.SysProcAttr{
			// The init must die with sbshim; it is PID 1 of its pid
			// namespace, so everything inside dies with it.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if namespaces {
		uid, gid := os.Getuid(), os.Getgid()
		flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
			unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP)
		if netNS {
			flags |= unix.CLONE_NEWNET
		}
		cmd.SysProcAttr.Cloneflags = flags
		// The user keeps their own uid and gid inside; files they
		// create belong to them.
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
		if uid != 0 {
			// A non-root init would lose its capabilities in the new
			// namespace at exec; it keeps just those it needs to build
			// the sandbox, and drops them before the command runs.
			cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP, unix.CAP_NET_ADMIN, unix.CAP_SYS_RESOURCE, unix.CAP_NET_BIND_SERVICE}
		}
	}
	var pc *pendingCgroup
	if namespaces && os.Getuid() == 0 {
		pc = makePidsCgroup()
	}
	f := &initFork{cmd: cmd, parentConn: parentConn, namespaces: namespaces, netNS: netNS,
		sigs: make(chan os.Signal, 16), started: make(chan error, 1), exited: make(chan struct{})}
	// Catch the forwarded signals before the init exists, so that none of
	// them ends sbshim (and with it the sandbox) instead of reaching the
	// command; they are kept, and passed on once the init is there to
	// receive them.
	signal.Notify(f.sigs, forwardedSignals()...)
	// The kernel sends Pdeathsig when the thread that forked the child
	// exits, not the process: fork from a locked thread that stays alive
	// until the init has been waited for.
	go func() {
		runtime.LockOSThread()
		tr.Mark("init fork begins")
		err := cmd.Start()
		childConn.Close()
		devNull.Close()
		switch {
		case err == nil && pc != nil:
			f.move = moveIntoCgroup(pc, cmd.Process.Pid, tr)
		case pc != nil:
			go func() {
				if c, err := pc.wait(); err == nil {
					c.remove()
				}
			}()
		}
		f.started <- err
		if err == nil {
			<-f.exited
		}
	}()
	return f, nil
}

// Prefork starts a sandbox's init in the namespaces that most policies
// need (all of them, a network namespace included), before the policy is
// known; Start takes it when the policy agrees, and discards it otherwise
// (network.mode "host", no user namespaces). Call Discard once the
// session no longer needs it: it ends the init unless Start took it.
func Prefork(tr *StartTrace) *Preforked {
	f, err := forkInit(true, true, tr)
	if err != nil {
		return nil
	}
	return &Preforked{f: f}
}

// take hands the preforked init to startInit when it was forked with
// these namespaces; otherwise it returns nil (see Discard).
func (p *Preforked) take(namespaces, netNS bool) *initFork {
	if p == nil || p.f.used || p.f.namespaces != namespaces || p.f.netNS != netNS {
		return nil
	}
	p.f.used = true
	return p.f
}

// Discard ends the preforked init unless Start took it.
func (p *Preforked) Discard() {
	if p == nil || p.f.used {
		return
	}
	f := p.f
	f.used = true
	signal.Stop(f.sigs)
	f.parentConn.Close()
	if err := <-f.started; err == nil {
		_ = f.cmd.Process.Kill()
		_ = f.cmd.Wait()
	}
	close(f.exited)
	if c, _ := f.move.wait(); c != nil {
		c.remove()
	}
}

// sendStdio sends the init the descriptors of cfg's Stdin, Stdout and
// Stderr (sbshim's own where unset), which it puts in place of its own.
func sendStdio(rc syscall.RawConn, cfg Config) error {
	fds := []int{0, 1, 2}
	for i, f := range []*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		if f != nil {
			fds[i] = int(f.Fd())
		}
	}
	oob := unix.UnixRights(fds...)
	var serr error
	err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), []byte{stdioByte}, oob, nil, 0)
		return !errors.Is(serr, unix.EAGAIN)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send the init its stdin, stdout and stderr: %w", err)
	}
	// Keep the files (and so their descriptors) until they are sent.
	runtime.KeepAlive(cfg.Stdin)
	runtime.KeepAlive(cfg.Stdout)
	runtime.KeepAlive(cfg.Stderr)
	return nil
}

// msgReader reads the init's length-prefixed messages and the descriptors
// that come with them.
type msgReader struct {
	rc         syscall.RawConn // non-blocking, in the runtime's poller
	buf        []byte
	chunk, oob []byte // one read's space, made once
}

func (r *msgReader) next() ([]byte, []int, error) {
	var fds []int
	for {
		if len(r.buf) >= 4 {
			n := int(binary.BigEndian.Uint32(r.buf))
			if len(r.buf) >= 4+n {
				body := r.buf[4 : 4+n]
				r.buf = r.buf[4+n:]
				return body, fds, nil
			}
		}
		if r.chunk == nil {
			r.chunk = make([]byte, 64<<10)
			r.oob = make([]byte, unix.CmsgSpace(4*4))
		}
		chunk, oob := r.chunk, r.oob
		var n, oobn int
		var err error
		if rerr := r.rc.Read(func(fd uintptr) bool {
			n, oobn, _, _, err = unix.Recvmsg(int(fd), chunk, oob, unix.MSG_CMSG_CLOEXEC)
			return !errors.Is(err, unix.EAGAIN)
		}); rerr != nil {
			return nil, fds, rerr
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fds, err
		}
		fds = append(fds, rightsOf(oob[:oobn])...)
		if n == 0 {
			return nil, fds, errors.New("connection closed")
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// serveBridge starts the proxy on the bridge socket the init sent.
func (p *Process) serveBridge(fd int, cfg Config, spec *initSpec) {
	ln, err := listenerFromFD(fd)
	if err != nil {
		if cfg.Warn != nil {
			cfg.Warn(err.Error())
		}
		return
	}
	pid := p.cmd.Process.Pid
	p.proxy = startProxy(ln, cfg, spec.Env, spec.ProxyPort, func() int { return pid })
}

// serveDNS answers, from sbshim, the DNS queries sent to one resolver
// address of the sandbox, on the sockets the init sent.
func (p *Process) serveDNS(udp, tcp int, cfg Config) {
	if p.dns == nil {
		p.dns = newDNSResponder(cfg.Policy.Network.Mode, cfg.Report, p.cmd.Process.Pid)
	}
	if err := p.dns.add(udp, tcp); err != nil && cfg.Warn != nil {
		cfg.Warn(err.Error())
	}
}

// degradedBridge listens for the proxy on the host's loopback when there
// is no network namespace to put the bridge in.
func degradedBridge(pol *policy.Policy) (net.Listener, int, error) {
	if pol.Network.Mode != policy.NetProxy {
		return nil, 0, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, fmt.Errorf("listen on loopback: %w", err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port, nil
}

// hiddenHint explains a command the sandbox could not find or run that
// exists on the host: which layer hides it. "" when it does not exist
// outside either, or was looked up on PATH.
func hiddenHint(name, dir string, pol *policy.Policy, namespaces bool) string {
	if !strings.Contains(name, "/") {
		return ""
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	if rule, ok := pol.CanRead(p); !ok {
		return fmt.Sprintf(" (it exists outside the sandbox, hidden by %s)", rule)
	}
	if !namespaces {
		return " (it exists outside the sandbox, but not inside it)"
	}
	return " (it exists outside the sandbox, hidden by " + absentRule(p) + ")"
}
