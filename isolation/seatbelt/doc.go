// Package seatbelt holds the macOS backend's platform-neutral parts: the
// profile generator, which turns a policy.Policy into a Seatbelt (SBPL)
// profile for /usr/bin/sandbox-exec, and the log-line parser, which turns
// the sandbox's deny lines from `log stream` back into the policy rules
// they enforce. Neither makes a system call or carries a build tag, so
// both build and are tested on every OS (on Linux in CI, against golden
// profiles and recorded log lines); the darwin runtime that launches
// sandbox-exec and watches the log uses them.
//
// Every deny rule of a generated profile carries a message "<tag>#<i>"
// (DenyMessage): the session's tag and the index of the policy rule it
// enforces in Profile.Rules, so that a logged denial names the same rule a
// Linux Event would.
package seatbelt
