//go:build linux && amd64

package isolation

import "golang.org/x/sys/unix"

func auditArch() (uint32, bool) { return unix.AUDIT_ARCH_X86_64, true }

// x32Bit marks the x32 ABI's syscall numbers, which share the x86_64 arch
// value: refused.
func x32Bit() uint32 { return 0x40000000 }

// cloneFlagsArg: clone(flags, stack, parent_tid, child_tid, tls).
func cloneFlagsArg() int { return 0 }

func archDeniedSyscalls() map[uintptr]string {
	return map[uintptr]string{unix.SYS_IOPL: "iopl", unix.SYS_IOPERM: "ioperm", unix.SYS_USELIB: "uselib", unix.SYS_SYSFS: "sysfs"}
}

func archSupervisedSyscalls() []uintptr {
	return []uintptr{unix.SYS_CREAT, unix.SYS_MKDIR, unix.SYS_MKNOD, unix.SYS_SYMLINK,
		unix.SYS_LINK, unix.SYS_RENAME, unix.SYS_UNLINK, unix.SYS_RMDIR, unix.SYS_READLINK,
		unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN, unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT}
}

func sysOpen() (uint32, bool) { return unix.SYS_OPEN, true }

func archModeChecks() []modeCheck {
	return []modeCheck{{unix.SYS_CHMOD, 1, -1}, {unix.SYS_CREAT, 1, -1}, {unix.SYS_MKNOD, 1, -1}, {unix.SYS_OPEN, 2, 1}}
}

// isOpenNr says whether nr is open(2), which the filter sends to the
// supervisor whatever its flags.
func isOpenNr(nr uintptr) bool { return nr == unix.SYS_OPEN }

func archSyscallName(nr uintptr) (string, bool) {
	switch nr {
	case unix.SYS_CHMOD:
		return "chmod", true
	case unix.SYS_CREAT:
		return "creat", true
	case unix.SYS_MKNOD:
		return "mknod", true
	case unix.SYS_OPEN:
		return "open", true
	}
	return "", false
}
