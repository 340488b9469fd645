//go:build !linux && !darwin

package isolation

import (
	"fmt"
	"os"
	"runtime"
)

// Process is a command running in a sandbox.
type Process struct{}

// Layers reports the isolation layers in force.
func (p *Process) Layers() Layers { return Layers{} }

// Serving tells the sandbox that the command has started.
func (p *Process) Serving() {}

// Pid is the host pid of the sandbox's init.
func (p *Process) Pid() int { return 0 }

// Signal sends sig to the command.
func (p *Process) Signal(os.Signal) error { return ErrUnsupported }

// Wait waits for the command.
func (p *Process) Wait() (int, error) { return ExitSetup, ErrUnsupported }

// Start reports that this platform has no sandbox yet.
func Start(Config) (*Process, error) {
	return nil, &SetupError{Code: ExitSetup, Layer: runtime.GOOS, Err: ErrUnsupported}
}

// InitMain is never reached on this platform.
func InitMain() {
	fmt.Fprintln(os.Stderr, "sbshim: init:", ErrUnsupported)
	os.Exit(ExitSetup)
}

// Probe reports that this platform has no sandbox yet.
func Probe() []LayerCheck {
	return []LayerCheck{{Layer: runtime.GOOS, Detail: ErrUnsupported.Error(),
		Fix: "run sbshim on Linux; macOS support (sandbox-exec) is planned"}}
}

// DeputyMain is never reached on this platform.
func DeputyMain() {
	os.Exit(ExitSetup)
}
