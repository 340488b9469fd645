package shim

import (
	"fmt"
	"io"
	"os"

	"github.com/sbshim/sbshim/isolation"
)

// Run runs one session and returns the exit status sbshim should end with:
// the command's own, 128+N for a signal, or 125/126/127 for sbshim's errors
// (DESIGN.md, "Exit status"). stderr receives sbshim's own lines.
func Run(o Options, stderr io.Writer) int {
	pol, err := o.Policy()
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		return isolation.ExitSetup
	}
	if err := os.MkdirAll(pol.Vars.Cache, 0o700); err != nil {
		// Inside another sbshim the home is read-only: the command
		// runs without a private cache rather than not at all.
		fmt.Fprintf(stderr, "sbshim: warning: private cache %s: %v\n", pol.Vars.Cache, err)
	}
	if pol.Network.Mode == isolation.NetHost {
		fmt.Fprintln(stderr, "sbshim: warning: network mode \"host\": the command shares this machine's network, unfiltered")
	}
	proc, err := isolation.Start(isolation.Config{
		Policy: pol,
		Argv:   o.Argv,
		Strict: o.Strict,
		Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Warn: func(msg string) { fmt.Fprintf(stderr, "sbshim: warning: %s\n", msg) },
		Report: func(ev isolation.Event) {
			if pol.Report.Stderr {
				fmt.Fprintf(stderr, "sbshim: blocked %s %s %s (pid %d %s, %s)\n", ev.Kind, ev.Op, ev.Target, ev.PID, ev.Exe, ev.Rule)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		return isolation.ExitCode(err)
	}
	code, err := proc.Wait()
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
	}
	return code
}
