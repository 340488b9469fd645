//go:build !linux

package shim

import (
	"fmt"

	"github.com/sbshim/sbshim/isolation"
)

// runPTY: PTY mode needs the sandbox's own terminal, which this platform
// does not have yet.
func (s *Session) runPTY(streams) int {
	err := fmt.Errorf("PTY mode: %w", isolation.ErrUnsupported)
	s.errw.message(fmt.Appendf(nil, "sbshim: %v\n", err))
	s.rep.close()
	return s.startFailed("pty", err) // not a SetupError: 125
}
