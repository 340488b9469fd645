package main

import (
	"fmt"
	"io"

	"github.com/sbshim/sbshim/isolation"
)

func cmdDoctor(_ []string, stdout, _ io.Writer) int {
	checks := isolation.Probe()
	missing := 0
	for _, c := range checks {
		state := "available"
		if !c.Available {
			state = "unavailable"
			missing++
		}
		fmt.Fprintf(stdout, "%-12s %-11s %s\n", c.Layer, state, c.Detail)
		if !c.Available && c.Fix != "" {
			fmt.Fprintf(stdout, "%-12s %-11s fix: %s\n", "", "", c.Fix)
		}
	}
	if missing > 0 {
		fmt.Fprintf(stdout, "\n%d layer(s) unavailable: sbshim runs with the others (--strict refuses).\n", missing)
		return 1
	}
	fmt.Fprintln(stdout, "\nall layers available.")
	return 0
}
