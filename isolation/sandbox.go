package isolation

import (
	"errors"
	"fmt"
	"os"

	"github.com/sbshim/sbshim/isolation/policy"
)

// Config is what a sandbox needs to run one command.
type Config struct {
	Policy *policy.Policy
	// Argv is the command and its arguments, byte for byte as given.
	Argv []string
	// Dir is the working directory; host paths keep their names inside.
	Dir string
	// Stdin, Stdout and Stderr are handed to the command as they are.
	Stdin, Stdout, Stderr *os.File
	// Strict refuses to run when a layer is unavailable instead of
	// degrading.
	Strict bool
	// Report receives every blocked attempt a layer saw. It may be called
	// from several goroutines at once.
	Report func(Event)
	// Connected, if set, receives every connection the network proxy
	// made for the program (Kind "net", Op "connect", Rule the allow
	// entry, Layer "proxy"); it may be called from several goroutines.
	Connected func(Event)
	// Warn receives one-line notices for the user (a degraded layer).
	Warn func(msg string)
	// PTY, when set, gives the command a new terminal of the sandbox's
	// own devpts (on macOS: a pty made outside, the one terminal device
	// the profile allows), of this initial size, as its stdin, stdout,
	// stderr and controlling terminal; Process.PTY returns its master.
	// Stdin, Stdout and Stderr then serve only sbshim's init (unused on
	// macOS).
	PTY *WinSize
	// Trace, when set, records the phases of the start (sbshim's and the
	// init's); nil records nothing.
	Trace *StartTrace
	// Prefork, when set, is an init started before the policy was
	// loaded (see Prefork); Start uses it when its namespaces are those
	// the policy needs, and discards it otherwise.
	Prefork *Preforked
}

// Layers says which isolation layers are in force for a session.
type Layers struct {
	UserNS     bool `json:"userns"`
	Landlock   int  `json:"landlock"` // the ABI version applied, 0 if none
	Seccomp    bool `json:"seccomp"`
	NetNS      bool `json:"netns"`
	Supervisor bool `json:"supervisor"` // sbshim checks creates and unix connects itself
	Observer   bool `json:"observer"`
	// Seatbelt: macOS's sandbox (sandbox-exec with sbshim's profile) is
	// in force.
	Seatbelt bool `json:"seatbelt,omitempty"`
}

// Exit statuses of sbshim's own failures, as DESIGN.md fixes them.
const (
	ExitSetup         = 125 // sbshim failed before the command started
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// SetupError is a failure before the command started. Code is the exit
// status sbshim ends with: ExitSetup, ExitNotExecutable or ExitNotFound.
type SetupError struct {
	Code  int
	Layer string // which part failed: "policy", "userns", "mount", "landlock", "seccomp", "exec", …
	Err   error
}

func (e *SetupError) Error() string {
	if e.Layer == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.Layer, e.Err)
}

func (e *SetupError) Unwrap() error { return e.Err }

// ExitCode returns the exit status that err calls for: a SetupError's code,
// otherwise ExitSetup.
func ExitCode(err error) int {
	var se *SetupError
	if errors.As(err, &se) {
		return se.Code
	}
	return ExitSetup
}

// ErrUnsupported is returned by Start on platforms without a sandbox yet.
var ErrUnsupported = errors.New("sandboxing is not supported on this platform yet")

// InitArg is the hidden first argument with which sbshim re-executes itself
// (through /proc/self/exe) as the sandbox's init: Go cannot run code
// between fork and exec, so the set-up runs in a fresh process that is
// already inside the new namespaces.
const InitArg = "__sbshim_init"

// DeputyArg is the hidden first argument with which the sandbox's init
// starts the deputy, the process inside the sandbox that performs the
// calls the supervisor answers (see deputy_linux.go).
const DeputyArg = "__sbshim_deputy"

// ProbeArg is the hidden first argument of the process that Probe starts in
// new namespaces to see whether the host allows them; it exits at once.
const ProbeArg = "__sbshim_probe"

// LayerCheck is one line of `sbshim doctor`.
type LayerCheck struct {
	Layer     string `json:"layer"`
	Available bool   `json:"available"`
	Detail    string `json:"detail"`
	Fix       string `json:"fix,omitempty"`
}
