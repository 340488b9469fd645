package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/shim"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	var o shim.Options
	fs := newFlagSet("sbshim run", stderr)
	runFlags(fs, &o)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return isolation.ExitSetup
	}
	o.Argv = fs.Args()
	if len(o.Argv) == 0 {
		fmt.Fprintln(stderr, "sbshim: no command given (sbshim --help)")
		return isolation.ExitSetup
	}
	return shim.Run(o, stderr)
}
