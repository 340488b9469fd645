package isolation

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestAfterPoll: only POLLHUP ends the supervisor's wait. POLLERR is what
// the kernel answers when a signal interrupts its wait for the listener's
// lock, and must not be taken for the sandbox's end: that stopped the
// supervisor while the sandbox ran, and its calls failed with ENOSYS.
func TestAfterPoll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		revents int16
		res     pollResult
		ready   bool
	}{
		{"a notification", unix.POLLIN, pollNothing, true},
		{"every process gone", unix.POLLHUP, pollGone, false},
		{"gone, one left unanswered", unix.POLLHUP | unix.POLLIN, pollGone, false},
		{"lock wait interrupted", unix.POLLERR, pollAgain, false},
		{"interrupted, and gone", unix.POLLERR | unix.POLLHUP, pollGone, false},
		{"a closed descriptor: the receive says so", unix.POLLNVAL, pollNothing, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, ready := afterPoll(tc.revents)
			if res != tc.res || ready != tc.ready {
				t.Errorf("afterPoll(%#x) = %v, %v; want %v, %v", tc.revents, res, ready, tc.res, tc.ready)
			}
		})
	}
}
