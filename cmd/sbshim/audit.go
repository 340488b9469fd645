package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sbshim/sbshim/shim/audit"
)

// auditEnv is what cmdAudit takes from the process, so that tests can
// fix it.
type auditEnv struct {
	ctx  context.Context
	now  time.Time
	loc  *time.Location
	dir  func() (string, error) // the default log directory
	poll time.Duration
}

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runAudit(args, stdout, stderr, auditEnv{
		ctx: ctx, now: time.Now(), loc: time.Local,
		dir: func() (string, error) {
			home, err := os.UserHomeDir()
			if err != nil && os.Getenv("XDG_STATE_HOME") == "" {
				return "", fmt.Errorf("audit log directory: %w", err)
			}
			return audit.DefaultDir(os.Getenv, home), nil
		},
	})
}

const auditUsage = `Usage: sbshim audit [flags]

Summarises the per-tool audit logs: calls, errors, blocked attempts and
durations per server and tool. --events lists the blocked attempts, -f
follows the logs live.

Flags:
`

func runAudit(args []string, stdout, stderr io.Writer, env auditEnv) int {
	var (
		f                           audit.Filter
		since, dir                  string
		asJSON, net, events, follow bool
	)
	fs := newFlagSet("sbshim audit", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), auditUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.Server, "server", "", "only server `NAME`")
	fs.StringVar(&f.Tool, "tool", "", "only tool `NAME` (\"-\": what happened outside tool calls)")
	fs.StringVar(&since, "since", "", "only records since `WHEN`: a duration back (30m, 1h, 2d), an RFC 3339 time or a date (2026-11-22)")
	fs.StringVar(&f.Session, "session", "", "only session `ID`")
	fs.BoolVar(&asJSON, "json", false, "print JSON: the summary, or with --events or -f the records as JSON lines")
	fs.BoolVar(&net, "net", false, "also list network destinations per tool, allowed and refused")
	fs.BoolVar(&events, "events", false, "list the blocked attempts instead of the summary")
	fs.BoolVar(&follow, "f", false, "follow: print records as they are written, until interrupted")
	fs.BoolVar(&follow, "follow", false, "the same as -f")
	fs.StringVar(&dir, "dir", "", "read the logs in `DIR` (default $XDG_STATE_HOME/sbshim/audit)")
	if code, ok := parseFlagsOnly(fs, args, stderr); !ok {
		return code
	}
	if since != "" {
		t, err := audit.ParseSince(since, env.now)
		if err != nil {
			fmt.Fprintf(stderr, "sbshim audit: %v\n", err)
			return 2
		}
		f.Since = t
	}
	if dir == "" {
		d, err := env.dir()
		if err != nil {
			fmt.Fprintf(stderr, "sbshim audit: %v\n", err)
			return 1
		}
		dir = d
	}
	if events {
		f.Types = []string{audit.TypeBlocked, audit.TypeBlockedSummary}
	}

	if follow {
		fl := &audit.Follower{Dir: dir, Filter: f, Interval: env.poll,
			OnBad: func(b audit.BadLine) { fmt.Fprintf(stderr, "sbshim audit: skipped %s\n", audit.Escape(b.String())) }}
		err := fl.Run(env.ctx, func(e audit.Entry) error {
			var err error
			if asJSON {
				_, err = fmt.Fprintf(stdout, "%s\n", audit.SafeJSON(e.Raw))
			} else {
				_, err = fmt.Fprintln(stdout, audit.Line(e.Record, env.loc))
			}
			return err
		})
		if err != nil {
			fmt.Fprintf(stderr, "sbshim audit: %v\n", err)
			return 1
		}
		return 0
	}

	log, err := audit.ReadDir(dir, f)
	if err != nil {
		fmt.Fprintf(stderr, "sbshim audit: %v\n", err)
		return 1
	}
	if log.Bad > 0 {
		fmt.Fprintf(stderr, "sbshim audit: skipped %d line(s) that are not audit records; first: %s\n", log.Bad, audit.Escape(log.BadLines[0].String()))
	}
	if !asJSON && len(log.Entries) == 0 {
		if len(log.Files) == 0 {
			fmt.Fprintf(stdout, "no audit logs in %s\n", dir)
		} else {
			fmt.Fprintf(stdout, "no matching records in %s (%d log file(s))\n", dir, len(log.Files))
		}
		return 0
	}
	switch {
	case events && asJSON:
		for _, e := range log.Entries {
			fmt.Fprintf(stdout, "%s\n", audit.SafeJSON(e.Raw))
		}
	case events:
		err = audit.WriteEvents(stdout, log.Records(), env.loc)
	case asJSON:
		s := audit.Summarize(log.Records())
		s.BadLines = log.Bad
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(s)
	default:
		err = audit.WriteTable(stdout, audit.Summarize(log.Records()), net)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbshim audit: %v\n", err)
		return 1
	}
	return 0
}
