//go:build linux && arm64

package isolation

import "golang.org/x/sys/unix"

func auditArch() (uint32, bool) { return unix.AUDIT_ARCH_AARCH64, true }

func x32Bit() uint32 { return 0 }

// cloneFlagsArg: clone(flags, stack, parent_tid, tls, child_tid).
func cloneFlagsArg() int { return 0 }

func archDeniedSyscalls() map[uintptr]string { return nil }

// arm64 has only the *at forms.
func archSupervisedSyscalls() []uintptr { return nil }

func sysOpen() (uint32, bool) { return 0, false }

func archModeChecks() []modeCheck { return nil }

func isOpenNr(uintptr) bool { return false }

func archSyscallName(uintptr) (string, bool) { return "", false }
