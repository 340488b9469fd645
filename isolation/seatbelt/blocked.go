package seatbelt

import (
	"strings"
	"time"
)

// Layer is the name of the layer that refused a Blocked attempt, as an
// isolation.Event names it.
const Layer = "seatbelt"

// Blocked is one attempt the sandbox refused, in the terms of the
// Events of sbshim's Linux layers (isolation.Event, whose fields these
// are but the Layer, always Layer): the adapter of package isolation
// turns it into an Event field by field.
type Blocked struct {
	Time time.Time
	// Kind is "file", "net" or "syscall".
	Kind string
	// Op is what was attempted: read, write, create, delete, link, exec,
	// connect, bind, accept, dns, or Seatbelt's name of the operation
	// for kind "syscall".
	Op string
	// Target is the path, host:port, unix socket or service name.
	Target string
	PID    int
	// Exe is the process's name as the kernel logged it: the sandbox's
	// choice, only a label.
	Exe string
	// Rule is the policy rule that refused it (from the profile's Rules).
	Rule string
	// Errno is the error the program saw.
	Errno string
}

// quietService says whether name is a mach service that system
// libraries look up on their own in every program (diagnostics and usage
// statistics): refusing it changes nothing the program does, and
// reporting it would name a blocked attempt in nearly every tool call.
func quietService(name string) bool {
	return name == "com.apple.diagnosticd" || name == "com.apple.analyticsd"
}

// blocked turns a Seatbelt denial into the report Linux's layers would
// give for the same attempt; rules are the profile's, by index. It says
// false for what is no report: metadata reads, which programs make by the
// thousand (realpath, stat, access) and Linux does not report either, and
// the lookups of a quietService.
func blocked(d Denial, rules []string) (Blocked, bool) {
	b := Blocked{Time: d.Time, PID: d.PID, Exe: d.Process, Target: d.Target, Errno: "EPERM"}
	if d.Rule >= 0 && d.Rule < len(rules) {
		b.Rule = rules[d.Rule]
	} else {
		b.Rule = "seatbelt: not allowed by the profile"
	}
	op := strings.TrimSuffix(d.Operation, "*")
	switch {
	case op == "":
		// A message that could not be split: reported whole.
		b.Kind, b.Op = "syscall", "seatbelt"
	case op == "file-read-metadata":
		return Blocked{}, false
	case strings.HasPrefix(op, "file-read"):
		b.Kind, b.Op = "file", "read"
	case op == "file-write-create":
		b.Kind, b.Op = "file", "create"
	case op == "file-write-unlink":
		b.Kind, b.Op = "file", "delete"
	case op == "file-link":
		b.Kind, b.Op = "file", "link"
	case strings.HasPrefix(op, "file-write"):
		b.Kind, b.Op = "file", "write"
	case strings.HasPrefix(op, "process-exec"), op == "file-map-executable":
		// Running a file, or mapping it as code (a library, dlopen).
		b.Kind, b.Op = "file", "exec"
	case op == "network-outbound" && (d.Target == "/private/var/run/mDNSResponder" || d.Target == "/var/run/mDNSResponder"):
		// getaddrinfo asking the host's resolver: a name lookup, which
		// network modes none and proxy refuse, as Linux's DNS responder.
		b.Kind, b.Op = "net", "dns"
	case op == "network-outbound":
		b.Kind, b.Op = "net", "connect"
	case op == "network-bind":
		b.Kind, b.Op = "net", "bind"
	case op == "network-inbound":
		b.Kind, b.Op = "net", "accept"
	case op == "mach-lookup" && quietService(d.Target):
		return Blocked{}, false
	default:
		// mach-lookup, signal, iokit-open, sysctl-read, …: Seatbelt's
		// name of it, and what it named.
		b.Kind, b.Op = "syscall", op
	}
	return b, true
}
