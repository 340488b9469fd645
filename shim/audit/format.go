package audit

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatMS renders a duration in milliseconds for people: "0.25ms",
// "12.3ms", "1.2s", "2m03s", "1h05m".
func FormatMS(ms float64) string {
	switch {
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case ms < 999.95:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 59950:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	}
	d := time.Duration(ms * float64(time.Millisecond)).Round(time.Second)
	if d < time.Hour {
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// WriteTable writes the summary as an aligned table: SERVER TOOL CALLS
// ERRORS BLOCKED P50 P95, in the summary's order. With net, a second table
// lists the network destinations per tool, allowed and refused.
//
// Servers whose command never started are listed after the table, one
// line each.
func WriteTable(w io.Writer, s Summary, net bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(s.Tools) > 0 || len(s.StartFailures) == 0 {
		fmt.Fprintln(tw, "SERVER\tTOOL\tCALLS\tERRORS\tBLOCKED\tP50\tP95")
	}
	for _, t := range s.Tools {
		p50, p95 := "-", "-"
		if t.Calls > t.NoResponse {
			p50, p95 = FormatMS(t.P50MS), FormatMS(t.P95MS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", Escape(t.Server), Escape(t.Tool), t.Calls, t.Errors, t.Blocked, p50, p95)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Dropped > 0 {
		fmt.Fprintf(w, "(%d blocked attempt%s counted above were not listed one by one: sbshim audit --events shows the summaries)\n",
			s.Dropped, plural(s.Dropped))
	}
	for _, f := range s.StartFailures {
		fmt.Fprintln(w, StartFailureLine(f))
	}
	if !net {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tTOOL\tDESTINATION\tALLOWED\tREFUSED")
	rows := 0
	for _, t := range s.Tools {
		dests := slices.Sorted(maps.Keys(t.Net))
		for d := range maps.Keys(t.Refused) {
			if t.Net[d] == 0 {
				dests = append(dests, d)
			}
		}
		slices.Sort(dests)
		for _, d := range dests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", Escape(t.Server), Escape(t.Tool), Escape(d), t.Net[d], t.Refused[d])
			rows++
		}
	}
	if rows == 0 {
		fmt.Fprintln(tw, "(no network activity recorded)")
	}
	return tw.Flush()
}

// WriteEvents writes blocked records as an aligned table: TIME SERVER TOOL
// OP TARGET PID/EXE RULE, times in loc.
func WriteEvents(w io.Writer, recs []Record, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSERVER\tTOOL\tOP\tTARGET\tPID/EXE\tRULE")
	for _, r := range recs {
		if r.Type == TypeBlockedSummary {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t-\t-\n", r.TS.In(loc).Format("2006-01-02 15:04:05"), Escape(r.Server),
				orDash(Escape(r.Tool.String())), orDash(countsText(r.ByOp)), fmt.Sprintf("(%d not listed)", r.Count))
			continue
		}
		target := Escape(r.Target)
		if r.Count > 1 {
			target += fmt.Sprintf(" (%d times)", r.Count)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.TS.In(loc).Format("2006-01-02 15:04:05"), Escape(r.Server),
			orDash(Escape(r.Tool.String())), orDash(Escape(strings.TrimSpace(r.Kind+" "+r.Op))), orDash(target), orDash(procOf(r)), orDash(Escape(r.Rule)))
	}
	return tw.Flush()
}

// Line renders a record as one line for people, as `sbshim audit -f`
// prints it, the time in loc:
//
//	10:15:02 filesystem read_text_file  blocked file read /home/me/.ssh/id_rsa (pid 42 node, filesystem.denyRead ~/.ssh)
//	10:15:02 filesystem read_text_file  ok 12.3ms
func Line(r Record, loc *time.Location) string {
	head := r.TS.In(loc).Format("15:04:05") + " " + Escape(r.Server)
	switch r.Type {
	case TypeToolCall:
		s := fmt.Sprintf("%s %s  %s %s", head, orDash(Escape(r.Tool.String())), orDash(Escape(r.Outcome)), FormatMS(r.DurationMS))
		if r.Blocked > 0 {
			s += fmt.Sprintf(" (%d blocked)", r.Blocked)
		}
		return s
	case TypeBlocked:
		s := fmt.Sprintf("%s %s  blocked %s %s %s", head, orDash(Escape(r.Tool.String())), orDash(Escape(r.Kind)), orDash(Escape(r.Op)), orDash(Escape(r.Target)))
		var why []string
		if p := procOf(r); p != "" {
			why = append(why, "pid "+p)
		}
		if r.Rule != "" {
			why = append(why, Escape(r.Rule))
		}
		if r.Count > 1 {
			why = append(why, fmt.Sprintf("%d times", r.Count))
		}
		if len(why) > 0 {
			s += " (" + strings.Join(why, ", ") + ")"
		}
		return s
	case TypeBlockedSummary:
		s := fmt.Sprintf("%s %s  %d blocked attempt%s not listed", head, orDash(Escape(r.Tool.String())), r.Count, plural(r.Count))
		if len(r.ByOp) > 0 {
			s += ": " + countsText(r.ByOp)
		}
		return s
	case TypeConnection:
		s := fmt.Sprintf("%s %s  connected %s", head, orDash(Escape(r.Tool.String())), orDash(Escape(r.Target)))
		if r.Rule != "" {
			s += " (" + Escape(r.Rule) + ")"
		}
		return s
	case TypeSessionStart:
		s := fmt.Sprintf("%s  session %s started: %s", head, Escape(r.Session), Escape(strings.Join(r.Command, " ")))
		if r.Profile != "" {
			s += " (profile " + Escape(r.Profile) + ")"
		}
		return s
	case TypeStartFailed:
		s := fmt.Sprintf("%s  session %s did not start", head, Escape(r.Session))
		if len(r.Command) > 0 {
			s += ": " + Escape(strings.Join(r.Command, " "))
		}
		if r.ExitCode != nil {
			s += fmt.Sprintf(" (exit %d)", *r.ExitCode)
		}
		return s + ": " + orDash(Escape(r.Error))
	case TypeSessionEnd:
		s := fmt.Sprintf("%s  session %s ended", head, Escape(r.Session))
		if r.ExitCode != nil {
			s += fmt.Sprintf(": exit %d", *r.ExitCode)
		}
		s += fmt.Sprintf(" after %s, %d tool calls, %d blocked", FormatMS(r.DurationMS), r.ToolCalls, r.Blocked)
		if r.Dropped > 0 {
			s += fmt.Sprintf(" (%d not listed)", r.Dropped)
		}
		return s
	}
	return fmt.Sprintf("%s  %s", head, Escape(r.Type))
}

// StartFailureLine renders a server's failed starts for people:
//
//	github: did not start (2 times; last 2026-11-22T10:15:02Z, exit 127): npx: command not found
func StartFailureLine(f StartFailure) string {
	return fmt.Sprintf("%s: did not start (%d time%s; last %s, exit %d): %s", Escape(f.Server), f.Count, plural(f.Count),
		f.Last.UTC().Format(time.RFC3339), f.ExitCode, orDash(Escape(f.Error)))
}

// procOf is "42 node": the pid and the executable's base name, as far as
// known.
func procOf(r Record) string {
	var parts []string
	if r.PID != 0 {
		parts = append(parts, strconv.Itoa(r.PID))
	}
	if r.Exe != "" {
		parts = append(parts, Escape(filepath.Base(r.Exe)))
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// countsText is "12000 file read, 345 net connect": counts by key, the
// largest first, escaped.
func countsText(m map[string]int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], Escape(k))
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
