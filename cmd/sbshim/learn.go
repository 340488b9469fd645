package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sbshim/sbshim/shim"
	"github.com/sbshim/sbshim/shim/audit"
	"github.com/sbshim/sbshim/shim/learn"
)

const learnUsage = `Usage: sbshim learn --server NAME [flags]

Reads the server's audit log and proposes the smallest additions to the
policy in force that would have let its blocked attempts through, as a
diff, commented by the tool that needed each one. --write saves it as the
user profile NAME (~/.config/sbshim/profiles/NAME.json, the previous one
kept as a backup); run the server with --profile NAME then. Run the server
again, use it, and learn again: only what is new is proposed.

Flags:
`

func cmdLearn(args []string, stdout, stderr io.Writer) int {
	var (
		o          learn.Options
		since, dir string
		secrets    []string
	)
	fs := newFlagSet("sbshim learn", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), learnUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Server, "server", "", "the server `NAME` (as in sbshim audit)")
	fs.StringVar(&since, "since", "", "only attempts since `WHEN`: a duration back (30m, 1h, 2d), an RFC 3339 time or a date")
	fs.StringVar(&o.Session, "session", "", "only session `ID`")
	fs.BoolVar(&o.Write, "write", false, "save the proposal as the user profile NAME")
	fs.Var(listFlag{&secrets}, "allow-secrets", "consider attempts under the secret location `PATH` (repeatable)")
	fs.StringVar(&o.Profile, "profile", "", "the profile the server runs with (default: its learned profile, else the one its last session used)")
	fs.StringVar(&o.Workspace, "workspace", "", "the `DIR` $WORKSPACE stood for (default: the working directory)")
	fs.StringVar(&dir, "dir", "", "read the audit logs in `DIR` (default $XDG_STATE_HOME/sbshim/audit)")
	fs.StringVar(&o.AuditFile, "audit-log", "", "read this audit log `FILE` instead")
	if code, ok := parseFlagsOnly(fs, args, stderr); !ok {
		return code
	}
	o.AllowSecrets = secrets
	o.Now, o.Loc = time.Now(), time.Local
	if since != "" {
		t, err := audit.ParseSince(since, o.Now)
		if err != nil {
			fmt.Fprintf(stderr, "sbshim learn: %v\n", err)
			return 2
		}
		o.Since = t
	}
	home, err := os.UserHomeDir()
	if err != nil {
		fmt.Fprintf(stderr, "sbshim learn: home folder: %v\n", err)
		return 1
	}
	if dir == "" {
		dir = audit.DefaultDir(os.Getenv, home)
	}
	o.AuditDir, o.ConfigDir = dir, shim.ConfigDir(home)
	if _, err := learn.Run(o, stdout); err != nil {
		fmt.Fprintf(stderr, "sbshim learn: %v\n", err)
		return 1
	}
	return 0
}
