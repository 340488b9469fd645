package isolation

import (
	"errors"

	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// The platform-neutral half of the macOS adapter (macos.go is the rest):
// the command's environment, and the translation of package seatbelt's
// reports and errors into Events and SetupErrors. It builds and is tested
// on every OS.

// SeatbeltLayer is the Layer of the Events that Seatbelt's log reports.
const SeatbeltLayer = seatbelt.Layer

// PrivateTmp returns the $TMP of a new session on a platform without a
// mount namespace (macOS): base/sbshim-RANDOM/tmp (seatbelt.PrivateTmp).
// Nothing is created: the backend makes both folders, 0700, when the
// command starts (and refuses if either exists), and removes them when it
// has ended. base must be absolute and should be the user's own
// temporary folder with its symbolic links resolved, so that the path is
// the one the kernel reports.
func PrivateTmp(base string) (string, error) { return seatbelt.PrivateTmp(base) }

// seatbeltEnv is the command's environment under Seatbelt: the host's,
// scrubbed by the policy as on Linux, with the user's registry settings,
// TMPDIR, TMP and TEMP naming the session's private $TMP, and in proxy
// mode the proxy's variables for port. The sandbox shares the host's
// loopback, which the profile closes but for the proxy's port, so
// nothing bypasses the proxy (NO_PROXY is empty).
func seatbeltEnv(pol *policy.Policy, host []string, port int, warn func(string)) []string {
	env := pol.Environ(host)
	env = withRegistrySettings(env, pol, warn, nil)
	set := map[string]string{"TMPDIR": pol.Vars.Tmp + "/", "TMP": pol.Vars.Tmp, "TEMP": pol.Vars.Tmp}
	if pol.Network.Mode == policy.NetProxy && port > 0 {
		for k, v := range proxyEnvVars(port, true) {
			set[k] = v
		}
	}
	return withVars(env, set)
}

// blockedEvent is the Event of an attempt Seatbelt refused.
func blockedEvent(b seatbelt.Blocked) Event {
	return Event{Time: b.Time, Kind: b.Kind, Op: b.Op, Target: b.Target, PID: b.PID, Exe: b.Exe,
		Rule: b.Rule, Layer: SeatbeltLayer, Errno: b.Errno}
}

// seatbeltSetupError turns a failure of seatbelt.Start into the
// SetupError of its exit status; err is returned as it is when it is
// none of seatbelt's.
func seatbeltSetupError(err error) error {
	var se *seatbelt.Error
	if !errors.As(err, &se) {
		return err
	}
	code := ExitSetup
	switch se.Kind {
	case seatbelt.ErrNotExecutable:
		code = ExitNotExecutable
	case seatbelt.ErrNotFound:
		code = ExitNotFound
	}
	return &SetupError{Code: code, Layer: se.Layer, Err: se.Err}
}
