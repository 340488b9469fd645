//go:build cgo && linux

package main

// sbshim must be built with CGO_ENABLED=0:
//
//	CGO_ENABLED=0 go install ./cmd/sbshim
//
// It is pure Go. The sandbox's init drops its capabilities and sets
// no_new_privs, Landlock and seccomp on every one of its threads with
// syscall.AllThreadsSyscall, which a cgo build does not support (ENOTSUP):
// such a binary could not set up a sandbox. This file turns a cgo build
// into a compile error ("missing function body" on the line below)
// instead; go vet, which compiles nothing, is not affected.
func sbshimMustBeBuiltWithCGO_ENABLED_0()
