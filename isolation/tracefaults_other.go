//go:build !linux && !darwin

package isolation

// minorFaults is not counted here.
func minorFaults() int64 { return 0 }
