package isolation

import "github.com/sbshim/sbshim/isolation/policy"

// matchPolicy is a hand-built policy: home /home/u, workspace /home/u/proj.
// It is the same as the policy package's test fixture of that name.
func matchPolicy() *policy.Policy {
	return &policy.Policy{
		Filesystem: policy.FilesystemPolicy{
			DenyRead:   []string{"/home/u/.ssh", "/home/u/proj/secrets", "/etc/shadow"},
			AllowWrite: []string{"/home/u/proj", "/tmp", "/home/u/.cache/sbshim/srv"},
			DenyWrite:  []string{"/home/u/proj/.env", "/home/u/proj/vendor/lock"},
		},
		Network: policy.NetworkPolicy{AllowUnixSockets: []string{"/run/user/1/app.sock", "/home/u/proj/sockets"}},
		Vars: policy.Vars{
			Home: "/home/u", Workspace: "/home/u/proj", Tmp: "/tmp",
			Cache: "/home/u/.cache/sbshim/srv", ConfigDir: "/home/u/.config/sbshim",
		},
	}
}

// privatePolicy is matchPolicy with sbshim's private state hidden, as
// the policy package's test fixture of that name.
func privatePolicy() *policy.Policy {
	p := matchPolicy()
	p.Vars.PrivateDirs = []string{"/home/u/.cache/sbshim", "/home/u/.local/state/sbshim"}
	p.Filesystem.DenyRead = append(p.Filesystem.DenyRead, p.Vars.PrivateDirs...)
	p.Filesystem.DenyWrite = append(p.Filesystem.DenyWrite, "/home/u/.cache/sbshim/srv/agent/c/.credentials.json")
	return p
}
