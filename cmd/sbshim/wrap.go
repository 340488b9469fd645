package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sbshim/sbshim/shim/wrap"
)

func cmdWrap(args []string, stdout, stderr io.Writer) int {
	return wrapCommand(wrap.OpWrap, args, stdout, stderr)
}

func cmdUnwrap(args []string, stdout, stderr io.Writer) int {
	return wrapCommand(wrap.OpUnwrap, args, stdout, stderr)
}

// wrapCommand is sbshim wrap and sbshim unwrap: flags → wrap.Run or wrap.List.
func wrapCommand(op wrap.Op, args []string, stdout, stderr io.Writer) int {
	name := map[wrap.Op]string{wrap.OpWrap: "wrap", wrap.OpUnwrap: "unwrap"}[op]
	var o wrap.Options
	var clients, servers []string
	var all, list bool
	fs := newFlagSet("sbshim "+name, stderr)
	fs.Var(listFlag{&clients}, "client", "edit the files of client `NAME` (repeatable or comma-separated): "+strings.Join(wrap.ClientNames(), ", "))
	fs.BoolVar(&all, "all", false, "edit the files of every client (the default)")
	fs.StringVar(&o.Config, "config", "", "edit only the file at `PATH`")
	fs.Var(listFlag{&servers}, "server", "only the server `NAME` (repeatable or comma-separated)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the diff; write nothing")
	fs.BoolVar(&o.Yes, "yes", false, "write without asking")
	fs.BoolVar(&list, "list", false, "list every server of every client, wrapped or not, and change nothing")
	if op == wrap.OpWrap {
		fs.StringVar(&o.Profile, "profile", "", "run the servers with sbshim profile `P`")
		fs.StringVar(&o.Executable, "sbshim", "", "the sbshim binary the entries run, an absolute `PATH` (default: this one)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sbshim %s [--client NAME... | --all] [--config PATH] [--server NAME...] [--dry-run] [--yes] [--list]\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sbshim %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	if all && len(clients) > 0 {
		fmt.Fprintf(stderr, "sbshim %s: --all and --client exclude each other\n", name)
		return 2
	}
	o.Clients, o.Servers = splitCommas(clients), splitCommas(servers)
	env, err := wrap.OSEnv()
	if err != nil {
		fmt.Fprintf(stderr, "sbshim: %v\n", err)
		return 1
	}
	o.Env = env
	if list {
		err = wrap.List(o, stdout)
	} else {
		o.Confirm = wrap.TerminalConfirm(os.Stdin, stdout)
		err = wrap.Run(op, o, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbshim %s: %v\n", name, err)
		return 1
	}
	return 0
}

func splitCommas(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
