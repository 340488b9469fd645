//go:build linux || darwin

package isolation

import "syscall"

// minorFaults is how many minor page faults this process has taken.
func minorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Minflt)
}
