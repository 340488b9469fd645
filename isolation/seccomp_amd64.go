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
		unix.SYS_LINK, unix.SYS_RENAME, unix.SYS_UNLINK, unix.SYS_RMDIR, unix.SYS_READLINK}
}

func sysOpen() (uint32, bool) { return unix.SYS_OPEN, true }
