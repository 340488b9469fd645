//go:build !linux && !darwin

package isolation

import "os"

// PTY is the master side of the command's terminal in PTY mode; nil here.
func (p *Process) PTY() *os.File { return nil }
