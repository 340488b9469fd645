// Package audit writes and reads sbshim's per-server audit logs: one JSON
// object per line, one file per server, under
// $XDG_STATE_HOME/sbshim/audit/<server>.jsonl (DESIGN.md, "Events and the
// audit log").
//
// # Writing
//
// [Open] returns a [Writer] for one server and one session. Each
// [Writer.Write] encodes one [Record] with zap's JSON encoder and hands the
// whole line, newline included, to a single write(2) on a file opened with
// O_APPEND. Lines from goroutines sharing a Writer, and from several sbshim
// processes appending to the same file, therefore never interleave. The
// directory is created 0700 and the file 0600.
//
// # Reading
//
// [ReadDir] and [ReadFile] read logs into a [Log], keeping the records a
// [Filter] admits. A line that is not a record (torn by a crash, garbage)
// is counted in Log.Bad and skipped; reading goes on. When a torn line is
// followed on the same line by a whole record, the record is recovered.
// [ParseSince] understands the --since forms (a duration such as 1h or 2d,
// an RFC 3339 time, a date).
//
// [Summarize] condenses records into per (server, tool) figures: calls,
// errors, cancellations, blocked attempts, duration percentiles, and the
// network destinations reached or refused.
//
// A blocked_summary record counts the blocked attempts a session did not
// write one by one (a flood past its limits); Summarize adds those made
// outside any call to tool "-" and totals them in Summary.Dropped.
//
// A start_failed record is a session whose command never started (bad
// config, command not found, sandbox set-up failed), with the error and
// sbshim's exit status; it is the session's only record. Summarize lists
// such servers in Summary.StartFailures.
//
// # Showing records to people
//
// [Line], [WriteEvents] and [WriteTable] pass every string of a record
// through [Escape]: a name a sandboxed program chose (a file, a host, an
// executable) can neither break a line nor reach the terminal as a control
// sequence. The JSON keeps the exact text; a target or executable that is
// not valid UTF-8 also keeps its exact bytes in target_b64 / exe_b64.
//
// [Follow] tails a directory: new lines in existing files, files that
// appear later, a last line still being written (it waits for the
// newline).
package audit
