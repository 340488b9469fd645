// Package isolation runs a command in a sandbox that enforces a
// policy.Policy, and reports what the sandbox blocked.
//
// The contract every backend keeps is small: Start runs a command under a
// Config (the Policy, argv, working directory, stdio or a PTY, and the
// callbacks that receive each blocked attempt as an Event); the Process
// it returns can be waited for and signalled, and says which Layers are
// in force; Probe tells `sbshim doctor` what the host supports. Failures
// before the command started are SetupErrors with sbshim's exit status.
//
// The policy itself — load, decode, validate, merge, expand, match,
// protected paths, environment — is platform-neutral data in the
// sub-package policy, which this package imports and which never imports
// it. What lives here is per platform: the Linux backend (*_linux.go:
// namespaces, the re-executed init, mounts, Landlock, seccomp, the
// supervisor and its deputy, the DNS responder, the bridge to the
// proxy), the adapter of the macOS backend (*_darwin.go and macos.go,
// seatbeltenv.go, sharedproxy.go: the environment, the shared proxy, and
// Events and SetupErrors from what the sibling package seatbelt — the
// backend itself — reports), the set-up every backend shares (proxy.go: the proxy's rules and
// environment from the Policy), and a stub for platforms without a
// backend yet (*_other.go), which refuses to run anything. The filtering
// network proxy is the sibling package netproxy.
//
// It knows nothing of MCP. The shim package joins its Events to tool calls.
package isolation
