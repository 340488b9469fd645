//go:build !linux && !darwin

package shim

import (
	"fmt"
	"runtime"
)

// runPTY: PTY mode needs a terminal made for the sandbox, which this
// platform's backend does not make yet.
func (s *Session) runPTY(streams) int {
	err := fmt.Errorf("PTY mode is not supported on %s yet (stdin is a terminal, or --pty); --no-pty runs the command without it", runtime.GOOS)
	s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
	s.rep.close()
	return s.startFailed("pty", err) // not a SetupError: 125
}
