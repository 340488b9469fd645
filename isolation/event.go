package isolation

import "time"

// Event is one blocked attempt, as a sandbox layer saw it. The shim joins it
// to the tool call(s) in flight and reports it.
type Event struct {
	Time time.Time `json:"ts"`
	// Kind is "file", "net" or "syscall".
	Kind string `json:"kind"`
	// Op is what was attempted: read, write, create, delete, rename, link,
	// exec, connect, bind, dns, or a syscall name for kind "syscall".
	Op string `json:"op"`
	// Target is the path (as seen inside the sandbox, which is the host
	// path) or host:port.
	Target string `json:"target"`
	PID    int    `json:"pid"`
	Exe    string `json:"exe"`
	// Rule names the policy rule that refused it, e.g. "filesystem.denyRead ~/.ssh"
	// or "protected .git/hooks".
	Rule string `json:"rule"`
	// Layer is the layer that refused it: mount, landlock, seccomp,
	// supervisor, observer, proxy, dns (the DNS responder), seatbelt
	// (macOS).
	Layer string `json:"layer"`
	// Errno is the error the program saw, e.g. "EACCES".
	Errno string `json:"errno,omitempty"`
}
