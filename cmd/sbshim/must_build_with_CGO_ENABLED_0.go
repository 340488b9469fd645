//go:build cgo && linux

package main

import _ "unsafe" // for go:linkname

// sbshim must be built with CGO_ENABLED=0:
//
//	CGO_ENABLED=0 go install ./cmd/sbshim
//
// It is pure Go. The sandbox's init drops its capabilities and sets
// no_new_privs, Landlock and seccomp on every one of its threads with
// syscall.AllThreadsSyscall, which a cgo build does not support (ENOTSUP):
// such a binary could not set up a sandbox. This file makes a cgo build
// fail to link, naming the symbol below ("relocation target
// sbshim.must_build_with_CGO_ENABLED_0 not defined"), instead of giving
// a binary that cannot run; go vet and the type checker are not affected.
//
//go:linkname sbshimMustBeBuiltWithCGO_ENABLED_0 sbshim.must_build_with_CGO_ENABLED_0
func sbshimMustBeBuiltWithCGO_ENABLED_0()

func init() { sbshimMustBeBuiltWithCGO_ENABLED_0() }
