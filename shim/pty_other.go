//go:build !linux

package shim

import (
	"fmt"

	"github.com/sbshim/sbshim/isolation"
)

// runPTY: PTY mode needs the sandbox's own terminal, which this platform
// does not have yet.
func (s *Session) runPTY(streams) int {
	s.errw.message(fmt.Appendf(nil, "sbshim: PTY mode: %v\n", isolation.ErrUnsupported))
	s.rep.close()
	return isolation.ExitSetup
}
