#!/usr/bin/env bash
# PTY relay latency: a keystroke's echo round trip (one byte typed into the
# user's terminal until a raw-mode `cat` has echoed it back) through
# sbshim's PTY relay against the same program on a plain pty, interleaved
# in one run (BenchmarkPTYEcho). Prints both medians, sbshim's added
# latency at p50 and p99, and PASS/FAIL against the target: added p50 at
# most 1 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5000}
out=$(CGO_ENABLED=0 go test -count=1 -run '^$' -bench '^BenchmarkPTYEcho$' -benchtime "${runs}x" ./cmd/sbshim)
line=$(echo "$out" | grep '^BenchmarkPTYEcho') || { echo "$out" >&2; exit 1; }
metric() { echo "$line" | awk -v m="$1" '{ for (i = 2; i < NF; i++) if ($(i+1) == m) print $i }'; }
plain=$(metric plain-p50-µs)
sb=$(metric sbshim-p50-µs)
added50=$(metric added-p50-µs)
added99=$(metric added-p99-µs)
awk -v p="$plain" -v s="$sb" -v a="$added50" -v a99="$added99" -v n="$runs" 'BEGIN {
  printf "keystroke echo round trip, %d keystrokes each, interleaved\n", n
  printf "  plain pty, median              %8.1f µs\n", p
  printf "  through sbshim, median         %8.1f µs\n", s
  printf "  added by sbshim, p50           %8.1f µs  (ratio %.2f)\n", a, s/p
  printf "  added by sbshim, p99           %8.1f µs\n", a99
  verdict = (a <= 1000) ? "PASS" : "FAIL"
  printf "  %s: added p50 %.3f ms, target <= 1 ms\n", verdict, a/1000
  exit (verdict == "PASS") ? 0 : 1
}'
