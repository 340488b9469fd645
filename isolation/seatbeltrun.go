package isolation

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbshim/sbshim/isolation/netproxy"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// The platform-neutral half of the macOS backend (sandbox_darwin.go is the
// exec glue): the session's private folder, the command's environment,
// the verdict on a trial run of sandbox-exec, the proxy without a network
// namespace, and the watcher that turns `log stream` lines into Events.
// It builds and is tested on every OS.

// SeatbeltLayer is the Layer of the Events that Seatbelt's log reports.
const SeatbeltLayer = "seatbelt"

// sessionDirPrefix names a session's private folder; PrivateTmp puts the
// session's $TMP in it as "tmp", next to the generated profile.
const sessionDirPrefix = "sbshim-"

// PrivateTmp returns the $TMP of a new session on a platform without a
// mount namespace (macOS): base/sbshim-RANDOM/tmp. Nothing is created:
// the backend makes both folders, 0700, when the command starts (and
// refuses if either exists), and removes them when it has ended. base
// must be absolute and should be the user's own temporary folder with
// its symbolic links resolved, so that the path is the one the kernel
// reports.
func PrivateTmp(base string) (string, error) {
	if !filepath.IsAbs(base) {
		return "", fmt.Errorf("private $TMP: %q is not an absolute path", base)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("private $TMP: %w", err)
	}
	return filepath.Join(filepath.Clean(base), sessionDirPrefix+hex.EncodeToString(b[:]), "tmp"), nil
}

// sessionDir checks that tmp is a $TMP as PrivateTmp makes it and returns
// the session folder that holds it.
func sessionDir(tmp string) (string, error) {
	dir := filepath.Dir(tmp)
	name := filepath.Base(dir)
	hexPart, ok := strings.CutPrefix(name, sessionDirPrefix)
	if !filepath.IsAbs(tmp) || filepath.Clean(tmp) != tmp || filepath.Base(tmp) != "tmp" || !ok || len(hexPart) != 16 {
		return "", fmt.Errorf("$TMP %q is not a private session folder (isolation.PrivateTmp): the sandbox would share it", tmp)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("$TMP %q is not a private session folder (isolation.PrivateTmp)", tmp)
	}
	return dir, nil
}

// makeSessionDir creates the session folder of tmp and tmp itself, both
// 0700 and both new: a folder that is already there (planted by someone
// else, or left by another session) is refused, never reused.
func makeSessionDir(tmp string) (string, error) {
	dir, err := sessionDir(tmp)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("private session folder: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("private $TMP: %w", err)
	}
	return dir, nil
}

// hideTempFolder returns the policy the profile is generated from: pol,
// with the folder that holds the session folder (the user's temporary
// folder, $TMPDIR) made one of sbshim's private folders — hidden but for
// the allowWrite trees inside it, this session's $TMP among them. On
// Linux the sandbox has a /tmp of its own; without a mount namespace the
// host's temporary folder holds the other sessions' $TMP and the
// temporary files of every other program, which the sandbox must not
// read. When that folder holds the home, the workspace or the working
// directory (an odd $TMPDIR), or is the root, pol is returned as it is
// with the reason, for a warning.
func hideTempFolder(pol *policy.Policy, sessionDir, workDir string) (*policy.Policy, string) {
	base := filepath.Dir(sessionDir)
	for _, p := range []string{pol.Vars.Home, pol.Vars.Workspace, workDir} {
		if base == "/" || p != "" && policy.Within(p, base) {
			return pol, fmt.Sprintf("the temporary folder %s holds %s: the sandbox can read what other programs and sbshim sessions keep there", base, p)
		}
	}
	out := *pol
	out.Vars.PrivateDirs = append(slices.Clone(pol.Vars.PrivateDirs), base)
	out.Filesystem.DenyRead = append(slices.Clone(pol.Filesystem.DenyRead), base)
	return &out, ""
}

// writeProfile writes the generated profile into the session folder, 0600,
// as a new file, and returns its path.
func writeProfile(dir, text string) (string, error) {
	path := filepath.Join(dir, "profile.sb")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	return path, nil
}

// seatbeltEnv is the command's environment under Seatbelt: the host's,
// scrubbed by the policy as on Linux, with the user's registry settings,
// TMPDIR, TMP and TEMP naming the session's private $TMP, and in proxy
// mode the proxy's variables for port. The sandbox shares the host's
// loopback, which the profile closes but for the proxy's port, so
// nothing bypasses the proxy (NO_PROXY is empty).
func seatbeltEnv(pol *policy.Policy, host []string, port int, warn func(string)) []string {
	env := pol.Environ(host)
	env = withRegistrySettings(env, pol, warn)
	set := map[string]string{"TMPDIR": pol.Vars.Tmp + "/", "TMP": pol.Vars.Tmp, "TEMP": pol.Vars.Tmp}
	if pol.Network.Mode == policy.NetProxy && port > 0 {
		for k, v := range proxyEnvVars(port, true) {
			set[k] = v
		}
	}
	out := slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, ok := set[k]
		return ok
	})
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// Absolute paths of the system's tools: never looked up on PATH.
const (
	sandboxExecPath = "/usr/bin/sandbox-exec"
	logToolPath     = "/usr/bin/log"
	truePath        = "/usr/bin/true"
	loggerPath      = "/usr/bin/logger"
)

// sandboxExecVerdict is what a trial run of sandbox-exec with the
// session's profile says about running the command under it.
type sandboxExecVerdict int

const (
	// sandboxExecOK: the profile applies; the command can run.
	sandboxExecOK sandboxExecVerdict = iota
	// sandboxExecNested: sbshim itself runs inside a Seatbelt sandbox,
	// which lets no process apply another.
	sandboxExecNested
	// sandboxExecRefused: sandbox-exec refused the profile, or failed.
	sandboxExecRefused
)

// exitNested is sandbox-exec's status when sandbox_apply fails (EX_OSERR).
const exitNested = 71

// judgeSandboxExec classifies a trial run: its exit status and what it
// wrote on stderr. Inside another Seatbelt sandbox sandbox-exec exits 71
// with "sandbox_apply: Operation not permitted"; any other failure is a
// refusal, whose message is stderr's.
func judgeSandboxExec(code int, stderr string) (sandboxExecVerdict, string) {
	msg := strings.TrimSpace(stderr)
	switch {
	case code == 0:
		return sandboxExecOK, ""
	case code == exitNested && strings.Contains(msg, "sandbox_apply") && strings.Contains(msg, "Operation not permitted"):
		return sandboxExecNested, msg
	}
	if msg == "" {
		msg = fmt.Sprintf("sandbox-exec exited with status %d", code)
	}
	return sandboxExecRefused, msg
}

// seatbeltPlan is how the command is launched.
type seatbeltPlan struct {
	path string   // the program executed
	args []string // its argv, the command's byte for byte at the end
	// seatbelt: sandbox-exec applies the session's profile. Without it
	// (nested in another Seatbelt sandbox) only the outer one holds.
	seatbelt bool
	warn     string // for the user, when the command runs without it
}

// planSeatbelt decides the launch from the verdict of the trial run with
// the profile: under sandbox-exec (at path sandboxExec); nested, the command by itself with a
// warning, or nothing under --strict; refused, nothing (exit 125 with
// sandbox-exec's message). env is the command's environment, whose PATH
// finds it when it runs by itself.
func planSeatbelt(cfg Config, sandboxExec string, env []string, profile string, verdict sandboxExecVerdict, msg string) (seatbeltPlan, error) {
	switch verdict {
	case sandboxExecOK:
		args := append([]string{sandboxExec, "-f", profile, "--"}, cfg.Argv...)
		return seatbeltPlan{path: sandboxExec, args: args, seatbelt: true}, nil
	case sandboxExecNested:
		if cfg.Strict {
			return seatbeltPlan{}, &SetupError{Code: ExitSetup, Layer: "seatbelt", Err: nestedRefusal(msg)}
		}
		path, err := lookPathIn(cfg.Argv[0], env, cfg.Dir)
		if err != nil {
			return seatbeltPlan{}, err
		}
		return seatbeltPlan{path: path, args: slices.Clone(cfg.Argv), warn: nestedWarning(msg)}, nil
	}
	return seatbeltPlan{}, &SetupError{Code: ExitSetup, Layer: "seatbelt", Err: fmt.Errorf("sandbox-exec refused the profile: %s", msg)}
}

// nestedWarning is the one line a session nested in another Seatbelt
// sandbox gets when it runs without its own (no --strict).
func nestedWarning(msg string) string {
	return "sbshim runs inside another Seatbelt sandbox (sandbox-exec: " + msg + "), which allows no second one: " +
		"the command runs under the outer sandbox's rules only — sbshim's policy (denyRead, allowWrite, network) is not applied " +
		"and nothing it blocks is reported; the relay and the audit log still work (--strict refuses to run)"
}

// nestedRefusal is the error of a nested session under --strict.
func nestedRefusal(msg string) error {
	return fmt.Errorf("sbshim runs inside another Seatbelt sandbox (sandbox-exec: %s), which allows no second one; --strict refuses to run the command under the outer sandbox's rules only", msg)
}

// newSessionTag returns the tag of a session's deny messages: random, so
// that no other session (nor a program that guesses) shares it, and plain
// ASCII so that it can stand in a log predicate as it is.
func newSessionTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sbshim-" + hex.EncodeToString(b[:])
}

// logPredicate selects the log messages of a session's tag.
func logPredicate(tag string) string {
	return `eventMessage CONTAINS "` + tag + `"`
}

// Bounds of the log watcher.
const (
	// logLineMax is the longest log line read; a longer one is skipped.
	logLineMax = 256 << 10
	// dedupWindow: the same attempt (process, operation, target) logged
	// again within it is one attempt — realpath's readlink and the open
	// that follows, a retry of the same call.
	dedupWindow = 100 * time.Millisecond
	// dedupEntries bounds the attempts remembered for deduplication.
	dedupEntries = 4096
	// maxRepeats bounds the Events one "N duplicate reports" line gives.
	maxRepeats = 64
)

// logWatcher turns the lines of `log stream --style ndjson` into Events.
type logWatcher struct {
	tag    string
	rules  []string
	report func(Event)
	now    func() time.Time

	ready     chan struct{} // closed at the first line
	readyOnce sync.Once
	done      chan struct{} // closed when the stream has ended
	activity  chan struct{} // a line arrived (capacity 1)
	marked    chan struct{} // closed when the marker line has come through
	markOnce  sync.Once

	seen map[dedupKey]time.Time // run's goroutine only

	// lost, if set, hears that a live stream ended before stopping was
	// set: what the sandbox blocks from then on goes unreported.
	lost     func()
	stopping atomic.Bool
}

type dedupKey struct {
	pid              int
	kind, op, target string
}

func newLogWatcher(tag string, rules []string, report func(Event)) *logWatcher {
	if report == nil {
		report = func(Event) {}
	}
	return &logWatcher{
		tag: tag, rules: rules, report: report, now: time.Now,
		ready: make(chan struct{}), done: make(chan struct{}), activity: make(chan struct{}, 1),
		marked: make(chan struct{}),
		seen:   make(map[dedupKey]time.Time),
	}
}

// run reads the stream until it ends, reporting each denial of the
// session. The first line (the stream's banner) makes the watcher ready.
func (w *logWatcher) run(r io.Reader) {
	defer close(w.done)
	defer w.readyOnce.Do(func() {}) // ended before its first line: never ready
	defer func() {
		select {
		case <-w.ready:
			if w.lost != nil && !w.stopping.Load() {
				w.lost()
			}
		default:
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, logLineMax)
		if line != nil {
			w.readyOnce.Do(func() { close(w.ready) })
			select {
			case w.activity <- struct{}{}:
			default:
			}
			w.line(line)
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line without its newline; a line longer than max
// comes back empty (read and skipped, not kept).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		if !long {
			line = append(line, frag...)
			if len(line) > max+1 {
				long, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		switch {
		case long:
			return []byte{}, err
		case len(line) == 0:
			return nil, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// line handles one line of the stream.
func (w *logWatcher) line(line []byte) {
	d, ok := seatbelt.ParseLogLine(line, w.tag)
	if !ok {
		if bytes.Contains(line, []byte(readyMarker(w.tag))) {
			w.markOnce.Do(func() { close(w.marked) })
		}
		return
	}
	ev, ok := denialEvent(d, w.rules)
	if !ok {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = w.now()
	}
	key := dedupKey{ev.PID, ev.Kind, ev.Op, ev.Target}
	if last, ok := w.seen[key]; ok && d.Repeats == 1 && ev.Time.Sub(last).Abs() < dedupWindow {
		return
	}
	if len(w.seen) >= dedupEntries {
		for k, t := range w.seen {
			if ev.Time.Sub(t).Abs() >= dedupWindow {
				delete(w.seen, k)
			}
		}
		if len(w.seen) >= dedupEntries {
			clear(w.seen)
		}
	}
	w.seen[key] = ev.Time
	for range min(d.Repeats, maxRepeats) {
		w.report(ev)
	}
}

// readyMarker is the text sbshim logs, once the stream has started, to
// see it come through: from then on the stream is known to deliver the
// session's messages. It carries the tag, so the predicate selects it.
func readyMarker(tag string) string { return tag + " log stream ready" }

// waitMarked waits until the marker has come through, the stream has
// ended, or timeout has passed; it says whether the marker came.
func (w *logWatcher) waitMarked(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.marked:
		return true
	case <-w.done:
	case <-t.C:
	}
	select {
	case <-w.marked:
		return true
	default:
		return false
	}
}

// stop says that the stream is about to be ended on purpose.
func (w *logWatcher) stop() { w.stopping.Store(true) }

// waitReady waits until the stream has written its first line, has
// ended, or timeout has passed; it says whether the stream is live.
func (w *logWatcher) waitReady(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-w.done:
		select {
		case <-w.ready:
			return true
		default:
			return false
		}
	case <-t.C:
		return false
	}
}

// drain waits, once the command has ended, for the denials still on their
// way: until no line has arrived for quiet, the stream has ended, or max
// has passed.
func (w *logWatcher) drain(quiet, max time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	q := time.NewTimer(quiet)
	defer q.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-deadline.C:
			return
		case <-q.C:
			return
		case <-w.activity:
			if !q.Stop() {
				select {
				case <-q.C:
				default:
				}
			}
			q.Reset(quiet)
		}
	}
}

// quietService says whether name is a mach service that system
// libraries look up on their own in every program (diagnostics and usage
// statistics): refusing it changes nothing the program does, and
// reporting it would name a blocked attempt in nearly every tool call.
func quietService(name string) bool {
	return name == "com.apple.diagnosticd" || name == "com.apple.analyticsd"
}

// denialEvent turns a Seatbelt denial into the Event Linux's layers
// would give for the same attempt; rules are the profile's, by index. It
// says false for what is no report: metadata reads, which programs make
// by the thousand (realpath, stat, access) and Linux does not report
// either, and the lookups of a quietService.
func denialEvent(d seatbelt.Denial, rules []string) (Event, bool) {
	ev := Event{Time: d.Time, PID: d.PID, Exe: d.Process, Target: d.Target, Layer: SeatbeltLayer, Errno: "EPERM"}
	if d.Rule >= 0 && d.Rule < len(rules) {
		ev.Rule = rules[d.Rule]
	} else {
		ev.Rule = "seatbelt: not allowed by the profile"
	}
	op := strings.TrimSuffix(d.Operation, "*")
	switch {
	case op == "":
		// A message that could not be split: reported whole.
		ev.Kind, ev.Op = "syscall", "seatbelt"
	case op == "file-read-metadata":
		return Event{}, false
	case strings.HasPrefix(op, "file-read"):
		ev.Kind, ev.Op = "file", "read"
	case op == "file-write-create":
		ev.Kind, ev.Op = "file", "create"
	case op == "file-write-unlink":
		ev.Kind, ev.Op = "file", "delete"
	case op == "file-link":
		ev.Kind, ev.Op = "file", "link"
	case strings.HasPrefix(op, "file-write"):
		ev.Kind, ev.Op = "file", "write"
	case strings.HasPrefix(op, "process-exec"), op == "file-map-executable":
		// Running a file, or mapping it as code (a library, dlopen).
		ev.Kind, ev.Op = "file", "exec"
	case op == "network-outbound" && (d.Target == "/private/var/run/mDNSResponder" || d.Target == "/var/run/mDNSResponder"):
		// getaddrinfo asking the host's resolver: a name lookup, which
		// network modes none and proxy refuse, as Linux's DNS responder.
		ev.Kind, ev.Op = "net", "dns"
	case op == "network-outbound":
		ev.Kind, ev.Op = "net", "connect"
	case op == "network-bind":
		ev.Kind, ev.Op = "net", "bind"
	case op == "network-inbound":
		ev.Kind, ev.Op = "net", "accept"
	case op == "mach-lookup" && quietService(d.Target):
		return Event{}, false
	default:
		// mach-lookup, signal, iokit-open, sysctl-read, …: Seatbelt's
		// name of it, and what it named.
		ev.Kind, ev.Op = "syscall", op
	}
	return ev, true
}

// sharedProxy is the filtering proxy of a sandbox without a network
// namespace of its own: it listens on the host's loopback, and refusals
// are reported without the process (the proxy cannot tell which process
// of the sandbox connected).
type sharedProxy struct {
	port   int
	cancel context.CancelFunc
	done   chan struct{}
}

// startSharedProxy serves the policy's proxy on 127.0.0.1:0; env is the
// program's environment (for registry discovery).
func startSharedProxy(cfg Config, env []string) (*sharedProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen on loopback: %w", err)
	}
	report := cfg.Report
	if report == nil {
		report = func(Event) {}
	}
	srv := &netproxy.Server{
		Load:    func() *netproxy.Rules { return proxyRules(cfg.Policy, env, cfg.Warn) },
		Refused: func(r netproxy.Refusal) { report(refusalEvent(r, 0, "")) },
		Warn:    cfg.Warn,
	}
	if cfg.Connected != nil {
		srv.Allowed = func(c netproxy.Connection) { cfg.Connected(connectionEvent(c)) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	sp := &sharedProxy{port: ln.Addr().(*net.TCPAddr).Port, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		_ = srv.Serve(ctx, ln)
	}()
	return sp, nil
}

// stop closes the proxy and waits for its connections to end.
func (sp *sharedProxy) stop() {
	if sp == nil {
		return
	}
	sp.cancel()
	<-sp.done
}

// findCommand checks, before anything starts, that the command can be run
// as sandbox-exec will look it up: a missing command is exit 127 and one
// that is not executable 126, as a shell says.
func findCommand(name string, env []string, dir string) error {
	_, err := lookPathIn(name, env, dir)
	return err
}

// lookPathIn finds name as execvp(3) would with the PATH of env, relative
// names from dir.
func lookPathIn(name string, env []string, dir string) (string, error) {
	check := func(p string) error {
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &SetupError{Code: ExitNotFound, Layer: "exec", Err: fmt.Errorf("%s: no such file or directory", name)}
		case err != nil:
			return &SetupError{Code: ExitNotExecutable, Layer: "exec", Err: fmt.Errorf("%s: %w", name, err)}
		case fi.IsDir():
			return &SetupError{Code: ExitNotExecutable, Layer: "exec", Err: fmt.Errorf("%s: is a directory", name)}
		case fi.Mode().Perm()&0o111 == 0:
			return &SetupError{Code: ExitNotExecutable, Layer: "exec", Err: fmt.Errorf("%s: permission denied", name)}
		}
		return nil
	}
	if strings.Contains(name, "/") {
		return name, check(name)
	}
	path := "/usr/bin:/bin:/usr/sbin:/sbin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	var first error
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		err := check(p)
		if err == nil {
			return p, nil
		}
		var se *SetupError
		if first == nil && errors.As(err, &se) && se.Code == ExitNotExecutable {
			first = err
		}
	}
	if first != nil {
		return "", first
	}
	return "", &SetupError{Code: ExitNotFound, Layer: "exec", Err: fmt.Errorf("%s: command not found", name)}
}
