#!/usr/bin/env bash
# Relay overhead: the same test server driven directly and through sbshim,
# in one run, interleaved (direct, sbshim, direct, sbshim, ...), so that a
# noisy machine weighs on both alike. Prints the figures, the differences
# and ratios, and PASS/FAIL per target; exits 1 on a miss.
#
#   latency     one tools/call round trip at a time to testdata/echo:
#               added p50 <= 50 µs, added p99 <= 250 µs (medians of the
#               per-run differences)
#   throughput  1 MiB messages through /bin/cat and back, both directions
#               at once: sbshim >= 80 % of cat on plain pipes (median ratio)
#   memory      sbshim's peak resident set while relaying <= 25 MB
#   huge line   a 100 MB line relayed with bounded memory (printed only;
#               TestRelayHugeLineWithBoundedMemory holds the bound)
#
# RUNS (default 7) is how many direct/sbshim pairs each benchmark runs;
# CALLS (default 5000) round trips and MSGS (default 1000) messages per run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
calls=${CALLS:-5000}
msgs=${MSGS:-1000}
out=$(mktemp /var/tmp/sbshim-relay-XXXXXX)
trap 'rm -f "$out" "$out.huge"' EXIT
export CGO_ENABLED=0
# The benchmarks build sbshim and the test servers (TestMain) and run them.
go test -run '^$' -bench 'RelayToolsCall' -benchtime "${calls}x" -count "$runs" ./cmd/sbshim/ >"$out"
go test -run '^$' -bench 'RelayThroughput' -benchtime "${msgs}x" -count "$runs" ./cmd/sbshim/ >>"$out"
go test -run 'TestRelayHugeLineWithBoundedMemory' -v -count 1 ./cmd/sbshim/ >"$out.huge" 2>&1 || true
huge=$(sed -n 's/.*peak RSS of sbshim relaying a 100 MB line: \([0-9]*\) MiB.*/\1/p' "$out.huge" | tail -1)
awk -v runs="$runs" -v calls="$calls" -v msgs="$msgs" -v huge="${huge:-?}" '
function metric(name,   i) { for (i = 3; i < NF; i++) if ($(i+1) == name) return $i; return "" }
function median(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
/^BenchmarkRelayToolsCall\/direct/ { dp50 = metric("p50-µs"); dp99 = metric("p99-µs") }
/^BenchmarkRelayToolsCall\/sbshim/ {
  n++; p50d[n] = dp50; p99d[n] = dp99; p50s[n] = metric("p50-µs"); p99s[n] = metric("p99-µs")
  add50[n] = p50s[n] - dp50; add99[n] = p99s[n] - dp99; cpu[n] = metric("cpu-µs/op")
  if (metric("peak-RSS-MiB") > rss) rss = metric("peak-RSS-MiB")
}
/^BenchmarkRelayThroughput\/direct/ { dmb = metric("MB/s") }
/^BenchmarkRelayThroughput\/sbshim/ {
  m++; mbd[m] = dmb; mbs[m] = metric("MB/s"); ratio[m] = (dmb > 0 ? metric("MB/s") / dmb : 0)
  if (metric("peak-RSS-MiB") > rss) rss = metric("peak-RSS-MiB")
}
END {
  if (n == 0 || m == 0) { print "bench/relay.sh: no benchmark results" > "/dev/stderr"; exit 1 }
  a50 = median(add50, n); a99 = median(add99, n); r = median(ratio, m)
  rssMB = rss * 1048576 / 1e6
  fail = 0
  printf "relay, %d interleaved runs of each (%d round trips, %d x 1 MiB per run), medians\n", runs, calls, msgs
  printf "  tools/call round trip   direct p50 %7.1f µs  p99 %7.1f µs\n", median(p50d, n), median(p99d, n)
  printf "                          sbshim p50 %7.1f µs  p99 %7.1f µs  (sbshim CPU %.1f µs per call)\n", median(p50s, n), median(p99s, n), median(cpu, n)
  printf "  added by sbshim         p50 %7.1f µs   target <= 50   %s\n", a50, (a50 <= 50 ? "PASS" : "FAIL")
  printf "                          p99 %7.1f µs   target <= 250  %s\n", a99, (a99 <= 250 ? "PASS" : "FAIL")
  printf "  1 MiB messages          cat %7.1f MB/s  through sbshim %7.1f MB/s\n", median(mbd, m), median(mbs, m)
  printf "  throughput ratio        %7.2f         target >= 0.80 %s\n", r, (r >= 0.80 ? "PASS" : "FAIL")
  printf "  sbshim peak RSS         %7.1f MB      target <= 25   %s\n", rssMB, (rssMB <= 25 ? "PASS" : "FAIL")
  printf "  100 MB line, peak RSS   %7s MiB     (bound 80 MiB, held by the test)\n", huge
  fail = (a50 > 50) + (a99 > 250) + (r < 0.80) + (rssMB > 25)
  exit (fail > 0)
}' "$out"
