// Package execpath finds the program a command names the way a shell
// does, before it is started: through the PATH of the command's own
// environment, skipping folders that are missing or cannot be searched,
// and telling a command that is not there (exit status 127) from one
// that cannot be run (126). Both sandbox backends use it: Linux's init
// inside the sandbox, and the macOS backend before sandbox-exec starts.
package execpath
