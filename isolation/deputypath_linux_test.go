package isolation

import "testing"

func TestCallersLink(t *testing.T) {
	for _, c := range []struct {
		dir    string
		caller int32
		want   bool
	}{
		{"/proc/7/fd/3/", 7, true},
		{"/proc/7/fd/3/sub/", 7, true},
		{"/proc/7/cwd/", 7, true},
		{"/proc/7/task/8/fd/3/", 7, true},
		{"/proc/7/task/8/cwd/", 7, true},
		{"/proc/7/root/", 7, false},             // leads anywhere
		{"/proc/7/root/proc/9/fd/3/", 7, false}, // another process's, through root
		{"/proc/7/task/8/root/", 7, false},      // the same, of a thread
		{"/proc/8/fd/3/", 7, false},             // another process
		{"/proc/70/fd/3/", 7, false},            // a pid with the caller's as prefix
		{"/proc/7/fd/3/", 0, false},             // no caller known
		{"/proc/self/fd/3/", 7, false},          // self is the deputy's
		{"/ws/proc/7/fd/3/", 7, false},          // not /proc
		{"/proc/7/fdinfo/3/", 7, false},         // not a link
		{"/proc/7/task/8/fdinfo/", 7, false},    // not a link
		{"/proc/7/task/../root/", 7, false},     // no way round with ..
	} {
		if got := callersLink(c.dir, c.caller); got != c.want {
			t.Errorf("callersLink(%q, %d) = %v, want %v", c.dir, c.caller, got, c.want)
		}
	}
}
