// Package seatbelt is sbshim's macOS backend: it runs a command under
// /usr/bin/sandbox-exec with a Seatbelt (SBPL) profile generated from a
// policy.Policy, and reports what the sandbox blocked from the system
// log. Package isolation adapts it to its backend contract (Events,
// SetupErrors, the shared network proxy); this package imports only
// policy, never isolation.
//
// By concern:
//   - profile.go, sbpl.go: the profile generator (Generate);
//   - logparse.go: the parser of the sandbox's deny lines from
//     `log stream` (ParseLogLine), which names the policy rule of each;
//   - blocked.go: a denial as the report Linux's layers give (Blocked);
//   - watch.go: the watcher of `log stream` (session tag, readiness,
//     deduplication, the drain at exit);
//   - session.go: the session's private $TMP folder (PrivateTmp) and
//     profile file, and the user's temporary folder hidden;
//   - launch.go: Config, Tools, Error, the verdict on a trial run of
//     sandbox-exec (nested, refused) and the launch it calls for;
//   - process.go, probe.go: the exec glue (Start, Process, Probe), built
//     for linux and darwin so that the tests run it on Linux with
//     stand-ins for macOS's programs.
//
// All but the exec glue is plain Go without a build tag, built and
// tested on every OS (on Linux in CI, against golden profiles and
// recorded log lines).
//
// Every deny rule of a generated profile carries a message "<tag>#<i>"
// (DenyMessage): the session's tag and the index of the policy rule it
// enforces in Profile.Rules, so that a logged denial names the same rule a
// Linux Event would.
package seatbelt
