package learn

import "github.com/sbshim/sbshim/shim/audit"

// escape makes a string from the log safe to print on a terminal.
func escape(s string) string { return audit.Escape(s) }
