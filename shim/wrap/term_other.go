//go:build !linux && !darwin

package wrap

import "os"

func isTerminal(*os.File) bool { return false }
