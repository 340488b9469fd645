package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/shim"
)

func cmdPolicy(args []string, stdout, stderr io.Writer) int {
	var o shim.Options
	fs := newFlagSet("sbshim policy", stderr)
	runFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return isolation.ExitSetup
	}
	o.Argv = fs.Args()
	pol, err := o.Policy()
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		return isolation.ExitSetup
	}
	fmt.Fprint(stderr, shim.WorkspaceNotice(o, pol))
	out, err := json.MarshalIndent(pol, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		return isolation.ExitSetup
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
