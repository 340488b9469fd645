// Command sbshim runs a command — an MCP server, an AI coding agent — in an
// OS sandbox, relays its stdio unchanged, and reports what the sandbox
// blocked. See the README for the command line.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/shim"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case isolation.InitArg:
			isolation.InitMain()
		case isolation.DeputyArg:
			isolation.DeputyMain()
		case isolation.ProbeArg:
			os.Exit(0)
		}
	}
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// subcommands maps the names sbshim takes as its first argument.
func subcommands() map[string]func(args []string, stdout, stderr io.Writer) int {
	return map[string]func([]string, io.Writer, io.Writer) int{
		"run":     cmdRun,
		"policy":  cmdPolicy,
		"audit":   cmdAudit,
		"learn":   cmdLearn,
		"doctor":  cmdDoctor,
		"wrap":    cmdWrap,
		"unwrap":  cmdUnwrap,
		"version": cmdVersion,
		"help":    cmdHelp,
	}
}

// dispatch runs a subcommand, or the drop-in form: sbshim [run-flags] [--]
// COMMAND [ARGS...].
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if f, ok := subcommands()[args[0]]; ok {
			return f(args[1:], stdout, stderr)
		}
		switch args[0] {
		case "-h", "-help", "--help":
			return cmdHelp(nil, stdout, stderr)
		case "-version", "--version":
			return cmdVersion(nil, stdout, stderr)
		}
	}
	return cmdRun(args, stdout, stderr)
}

func cmdHelp(_ []string, stdout, _ io.Writer) int {
	fmt.Fprint(stdout, usage)
	fs := newFlagSet("run", stdout)
	runFlags(fs, &shim.Options{})
	fs.PrintDefaults()
	return 0
}

const usage = `sbshim runs a command in an OS sandbox and reports what it blocked.

Usage:
  sbshim [run-flags] [--] COMMAND [ARGS...]   run COMMAND sandboxed (the drop-in form)
  sbshim run [run-flags] [--] COMMAND ...     the same, explicit
  sbshim policy [run-flags] [-- COMMAND ...]  print the effective, merged policy
  sbshim audit [--server S] [--tool T] [-f]   read the per-tool audit logs (table, --json, --events)
  sbshim learn --server NAME [--write]        propose (and save) a profile from what was blocked
  sbshim wrap [--client NAME | --all] [--dry-run] [--yes] [--list]
                                              put the MCP servers of your clients behind sbshim
  sbshim unwrap [--client NAME | --all] ...   take them out again
  sbshim doctor                               which isolation layers this host supports
  sbshim version

Run flags:
`
