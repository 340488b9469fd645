package seatbelt

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/sbshim/sbshim/isolation/execpath"
	"github.com/sbshim/sbshim/isolation/policy"
)

// Config is what Start needs to run one command under Seatbelt.
type Config struct {
	Policy *policy.Policy
	// Argv is the command and its arguments, byte for byte as given.
	Argv []string
	// Dir is the working directory.
	Dir string
	// Stdin, Stdout and Stderr are handed to the command as they are;
	// nil is sbshim's own. In PTY mode (TTY set) they are not used.
	Stdin, Stdout, Stderr *os.File
	// TTY, in PTY mode, is the slave side of the terminal made for the
	// command (its name the device's path, /dev/ttysN): it becomes the
	// command's stdin, stdout, stderr and controlling terminal, in a
	// session of its own, and it is the one terminal device the profile
	// allows (Options.TTY). The caller keeps the master and closes its
	// copy of the slave once Start returned.
	TTY *os.File
	// Env is the command's environment, NAME=VALUE: the host's, scrubbed
	// by the policy, with the private $TMP and, in proxy mode, the
	// proxy's variables. Its PATH finds the command.
	Env []string
	// ProxyPort is the port on 127.0.0.1 of the filtering proxy, the
	// only outbound connection the profile allows in network mode
	// proxy; 0 outside that mode.
	ProxyPort int
	// Strict refuses to run when a layer is unavailable (nested in
	// another Seatbelt sandbox, no log access) instead of degrading.
	Strict bool
	// Warn receives one-line notices for the user.
	Warn func(msg string)
	// Report receives every blocked attempt the system log reports; it
	// may be called from several goroutines at once.
	Report func(Blocked)
	// Tools are the programs run; the zero value is macOS's (MacTools).
	Tools Tools
}

// Tools are the programs the macOS backend runs, by absolute path, never
// looked up on PATH: macOS's own (MacTools), or the tests' stand-ins.
type Tools struct {
	SandboxExec, Log, Logger, True string
}

// Absolute paths of the system's tools: never looked up on PATH.
const (
	sandboxExecPath = "/usr/bin/sandbox-exec"
	logToolPath     = "/usr/bin/log"
	truePath        = "/usr/bin/true"
	loggerPath      = "/usr/bin/logger"
)

// MacTools are macOS's programs.
func MacTools() Tools {
	return Tools{SandboxExec: sandboxExecPath, Log: logToolPath, Logger: loggerPath, True: truePath}
}

// ErrorKind says which exit status a failure before the command started
// calls for.
type ErrorKind int

const (
	// ErrSetup: sbshim failed; nothing ran (exit 125).
	ErrSetup ErrorKind = iota
	// ErrNotExecutable: the command cannot be run (exit 126).
	ErrNotExecutable
	// ErrNotFound: the command does not exist (exit 127).
	ErrNotFound
)

// Error is a failure before the command started.
type Error struct {
	Kind  ErrorKind
	Layer string // which part failed: "policy", "tmp", "seatbelt", "log", "exec", …
	Err   error
}

func (e *Error) Error() string {
	if e.Layer == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.Layer, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

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

// plan is how the command is launched.
type plan struct {
	path string   // the program executed
	args []string // its argv, the command's byte for byte at the end
	// seatbelt: sandbox-exec applies the session's profile. Without it
	// (nested in another Seatbelt sandbox) only the outer one holds.
	seatbelt bool
	warn     string // for the user, when the command runs without it
}

// planLaunch decides the launch from the verdict of the trial run with
// the profile: under sandbox-exec (at path sandboxExec); nested, the
// command by itself with a warning, or nothing under --strict; refused,
// nothing (exit 125 with sandbox-exec's message). cfg.Env is the
// command's environment, whose PATH finds it when it runs by itself.
func planLaunch(cfg Config, sandboxExec string, profile string, verdict sandboxExecVerdict, msg string) (plan, error) {
	switch verdict {
	case sandboxExecOK:
		args := append([]string{sandboxExec, "-f", profile, "--"}, cfg.Argv...)
		return plan{path: sandboxExec, args: args, seatbelt: true}, nil
	case sandboxExecNested:
		if cfg.Strict {
			return plan{}, &Error{Kind: ErrSetup, Layer: "seatbelt", Err: nestedRefusal(msg)}
		}
		path, err := lookPathIn(cfg.Argv[0], cfg.Env, cfg.Dir)
		if err != nil {
			return plan{}, err
		}
		return plan{path: path, args: slices.Clone(cfg.Argv), warn: nestedWarning(msg)}, nil
	}
	return plan{}, &Error{Kind: ErrSetup, Layer: "seatbelt", Err: fmt.Errorf("sandbox-exec refused the profile: %s", msg)}
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

// findCommand checks, before anything starts, that the command can be run
// as sandbox-exec will look it up: a missing command is exit 127 and one
// that is not executable 126, as a shell says.
func findCommand(name string, env []string, dir string) error {
	_, err := lookPathIn(name, env, dir)
	return err
}

// lookPathIn finds name as a shell would with the PATH of env, relative
// names from dir.
func lookPathIn(name string, env []string, dir string) (string, error) {
	path, err := execpath.Look(name, env, dir, "/usr/bin:/bin:/usr/sbin:/sbin")
	var e *execpath.Error
	if errors.As(err, &e) {
		kind := ErrNotExecutable
		if e.NotFound {
			kind = ErrNotFound
		}
		return "", &Error{Kind: kind, Layer: "exec", Err: err}
	}
	return path, err
}
