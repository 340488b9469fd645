package isolation

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// thisThread runs a raw syscall on the calling thread alone.
func thisThread(what string, trap, a1, a2, a3 uintptr) error {
	if _, _, errno := syscall.RawSyscall(trap, a1, a2, a3); errno != 0 {
		return fmt.Errorf("%s: %w", what, errno)
	}
	return nil
}

func capLastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 63
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 63
	}
	return n
}

// dropPrivileges leaves every thread of the process with no capabilities
// and no way to regain any: empty bounding, ambient, inheritable,
// permitted and effective sets; securebits that make uid 0 ordinary and
// are locked; no_new_privs. Capability sets, securebits and no_new_privs
// are per thread; each step runs on all of them (AllThreadsSyscall).
func dropPrivileges() error {
	if !hasCapabilities() {
		// Nothing to drop, and no CAP_SETPCAP to drop it with (sbshim
		// inside sbshim, or a host without user namespaces): lock what
		// can be locked.
		return allThreads("set no_new_privs", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	}
	// The bounding set matters only across execve, which only this
	// (locked) thread does: one call per capability here, where on every
	// thread each would cost a stop-the-world round. The other threads
	// end with empty permitted, effective, inheritable and ambient sets,
	// no_new_privs and root made ordinary: they hold nothing and can gain
	// nothing.
	last := capLastCap()
	for c := 0; c <= last; c++ {
		err := thisThread("drop capability bounding set", unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if err != nil && c <= unix.CAP_LAST_CAP {
			return err
		}
	}
	if err := allThreads("clear ambient capabilities", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return err
	}
	const bits = 1<<0 | 1<<1 | // SECBIT_NOROOT(_LOCKED): uid 0 gains nothing on exec
		1<<2 | 1<<3 | // SECBIT_NO_SETUID_FIXUP(_LOCKED)
		1<<5 | // SECBIT_KEEP_CAPS_LOCKED
		1<<6 | 1<<7 // SECBIT_NO_CAP_AMBIENT_RAISE(_LOCKED)
	if err := allThreads("set securebits", unix.SYS_PRCTL, unix.PR_SET_SECUREBITS, bits, 0); err != nil {
		return err
	}
	if err := allThreads("set no_new_privs", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	err := allThreads("clear capabilities", unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	return err
}

// hasCapabilities says whether the calling thread holds any capability
// in its permitted or ambient set.
func hasCapabilities() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // assume so; the drop will say what fails
	}
	return data[0].Permitted|data[1].Permitted|data[0].Inheritable|data[1].Inheritable != 0
}
