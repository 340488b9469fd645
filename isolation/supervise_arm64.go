//go:build linux && arm64

package isolation

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// legacy: arm64 has only the *at forms.
func (c *call) legacy(uintptr) (int64, syscall.Errno) { return 0, unix.ENOSYS }

// isLegacyOpen: arm64 has no legacy open calls.
func isLegacyOpen(uintptr) bool { return false }
