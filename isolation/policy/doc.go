// Package policy is the Policy of a session as plain data: the profiles
// (built-in, the user's, --profile, flags), their decoding, validation,
// merge and variable expansion into one Policy, and the questions every
// sandbox backend asks of it — may this path be read or written, is this
// unix socket allowed, which paths are protected inside every writable
// tree (shell rc files, agent configs, sbshim's own config, and the git
// hooks and config found by reading the repository's own files), which
// private state is hidden, which environment the program gets and which
// secrets are held back, which agent state is copied.
//
// It touches the disk only through package os (reading profiles, git
// configuration and repositories; copying agent state), starts no
// program, makes no system call of its own and has no build tags: it
// builds and tests the same on every OS (as runc's libcontainer/configs does), so that every
// backend enforces the same decisions. The backends live in the parent
// package isolation (Linux: namespaces, mounts, Landlock, seccomp,
// supervisor), which imports policy; policy never imports isolation,
// and knows nothing of MCP.
package policy
