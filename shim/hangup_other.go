//go:build !linux

package shim

import "os"

// hangup is Linux-only for now: elsewhere the relay sees the client's EOF
// when it reads it.
func hangup(*os.File) <-chan struct{} { return make(chan struct{}) }
