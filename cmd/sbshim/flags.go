package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sbshim/sbshim/mcp"
	"github.com/sbshim/sbshim/shim"
)

// listFlag is a repeatable string flag.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error { *l.v = append(*l.v, s); return nil }

// runFlags declares the flags of run and policy on fs, filling o.
func runFlags(fs *flag.FlagSet, o *shim.Options) {
	fs.StringVar(&o.Profile, "profile", "", "profile `NAME` (built-in or ~/.config/sbshim/profiles/NAME.json) or a JSON file")
	fs.BoolVar(&o.NoServerProfile, "no-server-profile", false, "do not add the built-in profile of a server sbshim recognises (npm, PyPI or Go package)")
	fs.StringVar(&o.Name, "name", "", "server `NAME` for the audit log and private cache (default: derived from COMMAND)")
	fs.StringVar(&o.Workspace, "workspace", "", "the project folder `DIR` that $WORKSPACE stands for (default: the working directory; /, ~ and folders holding ~ are none)")
	fs.BoolVar(&o.Strict, "strict", false, "refuse to run when an isolation layer is unavailable")
	fs.StringVar(&o.Flags.Net, "net", "", "network `MODE`: none, proxy or host")
	fs.Var(listFlag{&o.Flags.AllowNet}, "allow-net", "allow `HOST[:PORT]` (repeatable)")
	fs.Var(listFlag{&o.Flags.DenyNet}, "deny-net", "deny `HOST[:PORT]` (repeatable)")
	fs.Var(listFlag{&o.Flags.AllowWrite}, "allow-write", "make `PATH` writable (repeatable)")
	fs.Var(listFlag{&o.Flags.DenyRead}, "deny-read", "hide `PATH` (repeatable)")
	fs.Var(listFlag{&o.Flags.DenyWrite}, "deny-write", "keep `PATH` read-only (repeatable)")
	fs.Var(listFlag{&o.Flags.UnixSockets}, "allow-unix-socket", "allow connecting to the unix socket at `PATH` (repeatable)")
	fs.Var(listFlag{&o.Flags.EnvPass}, "env-pass", "pass environment variable `NAME` (repeatable; beats the deny patterns)")
	fs.Var(listFlag{&o.Flags.EnvSet}, "env-set", "set `NAME=VALUE` in the command's environment (repeatable)")
	fs.StringVar(&o.AuditLog, "audit-log", "", "append the audit log to `FILE` (\"-\": none; default $XDG_STATE_HOME/sbshim/audit/NAME.jsonl)")
	fs.DurationVar(&o.TermGrace, "term-grace", shim.DefaultTermGrace, "after the client closes stdin, how long an MCP server may take to exit before SIGTERM")
	fs.DurationVar(&o.KillGrace, "kill-grace", shim.DefaultKillGrace, "after SIGTERM, how long before SIGKILL")
	fs.IntVar(&o.MaxLine, "max-line", mcp.DefaultMaxLine, "parse cap in `BYTES`: longer messages are relayed without being parsed")
	fs.Var(ptyFlag{&o.PTY, shim.PTYOn}, "pty", "give COMMAND a terminal of its own in the sandbox (default: when stdin is a terminal)")
	fs.Var(ptyFlag{&o.PTY, shim.PTYOff}, "no-pty", "never give COMMAND a terminal of its own")
}

// ptyFlag is --pty / --no-pty: a boolean flag that sets the PTY mode.
type ptyFlag struct {
	v    *shim.PTYMode
	mode shim.PTYMode
}

func (p ptyFlag) IsBoolFlag() bool { return true }

func (p ptyFlag) String() string {
	if p.v != nil && *p.v == p.mode {
		return "true"
	}
	return "false"
}

func (p ptyFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	switch {
	case on:
		*p.v = p.mode
	case *p.v == p.mode:
		*p.v = shim.PTYAuto
	}
	return nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlagsOnly parses the args of a subcommand that takes flags and no
// arguments. ok is false when the command ends here, with status code:
// 0 after -h, 2 after a bad flag or an argument (named, with the usage).
// The flag set is named "sbshim SUBCOMMAND".
func parseFlagsOnly(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}
