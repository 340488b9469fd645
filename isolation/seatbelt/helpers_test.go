package seatbelt

import (
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// testTag is the session tag of every test profile.
const testTag = "sbshim-test"

// fakeVars are the fixed values of the path variables in the tests: a
// Mac's home, workspace, per-session $TMP and private cache, none of
// which exists on the machine that runs the tests.
func fakeVars() policy.Vars {
	return policy.Vars{
		Home:        "/Users/u",
		Workspace:   "/Users/u/proj",
		Tmp:         "/private/var/folders/xx/T/sbshim-1",
		Cache:       "/Users/u/Library/Caches/sbshim/srv",
		ConfigDir:   "/Users/u/Library/Application Support/sbshim",
		PrivateDirs: []string{"/Users/u/Library/Caches/sbshim", "/Users/u/.local/state/sbshim"},
	}
}

// loadBuiltin loads a built-in profile as shim does, with fakeVars and no
// user config, keeping it hermetic: the environment variables the Policy
// reads are cleared, and the denyRead entries that glob the test host's
// own /etc/ssh and /run/user (which differ between machines) are dropped.
func loadBuiltin(t *testing.T, name string) *policy.Policy {
	t.Helper()
	return loadOptions(t, policy.LoadOptions{Profile: name})
}

// loadWith loads the default profile with a server layer as loadBuiltin
// loads a built-in one.
func loadWith(t *testing.T, server *policy.ServerLayer) *policy.Policy {
	t.Helper()
	return loadOptions(t, policy.LoadOptions{Server: server})
}

func loadOptions(t *testing.T, o policy.LoadOptions) *policy.Policy {
	t.Helper()
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"} {
		t.Setenv(k, "")
	}
	o.UserConfigDir, o.Vars = fakeVars().ConfigDir, fakeVars()
	p, err := policy.Load(o)
	if err != nil {
		t.Fatalf("loading %+v: %v", o, err)
	}
	var keep []string
	for _, e := range p.Filesystem.DenyRead {
		if strings.HasPrefix(e, "/run/") || strings.HasPrefix(e, "/etc/ssh/") {
			continue
		}
		keep = append(keep, e)
	}
	p.Filesystem.DenyRead = keep
	return p
}
