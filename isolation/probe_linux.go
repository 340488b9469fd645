package isolation

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Probe checks which isolation layers this host supports, and why not.
func Probe() []LayerCheck {
	return []LayerCheck{probeUserNS(), probeLandlock(), probeSeccomp(), probeMountAPI(), probePidsLimit()}
}

// probePidsLimit says how limits.pids is enforced for this user.
func probePidsLimit() LayerCheck {
	c := LayerCheck{Layer: "pids limit"}
	if os.Getuid() != 0 {
		c.Available = true
		c.Detail = "limits.pids is RLIMIT_NPROC, counted for the sandbox's user namespace"
		return c
	}
	dir, err := pidsCgroupDir()
	if err != nil {
		c.Detail = "the kernel does not apply RLIMIT_NPROC to root, and " + err.Error() + ": limits.pids does not bind when sbshim runs as root"
		c.Fix = "run sbshim as an ordinary user, or give it a cgroup with the pids controller"
		return c
	}
	c.Available = true
	c.Detail = "limits.pids binds root through a cgroup of its own under " + dir
	return c
}

func readSysctl(p string) (string, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func probeUserNS() LayerCheck {
	c := LayerCheck{Layer: "namespaces"}
	cmd := exec.Command("/proc/self/exe", ProbeArg)
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
			unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
	}
	err := cmd.Run()
	if err == nil {
		c.Available = true
		c.Detail = "user, mount, pid, net, ipc, uts and cgroup namespaces can be created by this user"
		return c
	}
	c.Detail = fmt.Sprintf("cannot create a user namespace: %v", err)
	switch {
	case sysctlIs("/proc/sys/kernel/unprivileged_userns_clone", "0"):
		c.Fix = "sudo sysctl kernel.unprivileged_userns_clone=1"
	case sysctlIs("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"):
		c.Fix = "AppArmor restricts unprivileged user namespaces: add an AppArmor profile for sbshim that allows 'userns,' or sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0"
	case sysctlIs("/proc/sys/user/max_user_namespaces", "0"):
		c.Fix = "sudo sysctl user.max_user_namespaces=15000"
	default:
		c.Fix = "inside a container, allow nested user namespaces (e.g. run it with seccomp=unconfined or as a privileged container)"
	}
	return c
}

func sysctlIs(p, v string) bool {
	got, ok := readSysctl(p)
	return ok && got == v
}

func probeLandlock() LayerCheck {
	c := LayerCheck{Layer: "landlock"}
	abi := landlockABI()
	if abi > 0 {
		c.Available = true
		c.Detail = fmt.Sprintf("ABI %d", abi)
		if abi < 6 {
			c.Detail += " (signal and abstract-socket scoping need ABI 6, Linux 6.12)"
		}
		if abi < 9 {
			c.Detail += "; pathname unix sockets are checked by sbshim's supervisor (the kernel does it from ABI 9)"
		}
		return c
	}
	c.Detail = "not available: Linux ≥ 5.13 with Landlock enabled is needed"
	if lsm, ok := readSysctl("/sys/kernel/security/lsm"); ok && !strings.Contains(lsm, "landlock") {
		c.Fix = "add landlock to the kernel's lsm= boot parameter (now: " + lsm + ")"
	} else {
		c.Fix = "upgrade the kernel or enable CONFIG_SECURITY_LANDLOCK and lsm=landlock"
	}
	return c
}

func probeSeccomp() LayerCheck {
	c := LayerCheck{Layer: "seccomp"}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		c.Detail = fmt.Sprintf("not available: %v", err)
		c.Fix = "a kernel built with CONFIG_SECCOMP_FILTER"
		return c
	}
	actions, _ := readSysctl("/proc/sys/kernel/seccomp/actions_avail")
	if !strings.Contains(actions, "user_notif") {
		c.Detail = "filters available, but no user notification: the supervisor is off"
		c.Fix = "Linux ≥ 5.9"
		return c
	}
	c.Available = true
	c.Detail = "filters and user notification (the supervisor)"
	return c
}

func probeMountAPI() LayerCheck {
	c := LayerCheck{Layer: "mount API"}
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		c.Detail = fmt.Sprintf("open_tree: %v", err)
		c.Fix = "Linux ≥ 5.12 (open_tree, move_mount, mount_setattr)"
		return c
	}
	unix.Close(fd)
	c.Available = true
	c.Detail = "open_tree, move_mount, mount_setattr"
	return c
}
