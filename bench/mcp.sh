#!/usr/bin/env bash
# MCP servers: the reference servers from the npm registry started
# directly, under bare bubblewrap and under sbshim, in one run (the three
# modes in turn, start by start and call by call, so that the machine's
# slow spells fall on all three alike), printed as a table with ratios
# against direct and the targets of issue 17:
#
#   cold start   spawn → initialize result, server-filesystem and
#                server-memory: sbshim <= 1.10x direct
#   read_graph   server-memory's tools/call round trip: added p50 <= 20 µs
#   /bin/true    the whole run: sbshim <= 2x bwrap
#   open burst   Node opening a file 3000 times in a row, time per open
#                (printed only: what a supervised open costs)
#
# COUNT (default 5) rounds; STARTS (default 5) starts and CALLS (default
# 300) calls a round. SBSHIM_BENCH_COMPARE="NAME=PATH ..." adds other
# builds of sbshim (the build before a change, say) to the same runs,
# printed below the table without targets. The servers are installed
# with npm (from the registry npm is configured for) into
# SBSHIM_TEST_NPM_DIR or a cache under /var/tmp. Needs node, npm and bwrap (apt-get install nodejs npm
# bubblewrap). Prints PASS/FAIL per target; exits 1 on a miss.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
starts=${STARTS:-5}
calls=${CALLS:-300}
for tool in node npm bwrap; do
  command -v "$tool" >/dev/null || { echo "bench/mcp.sh needs $tool (apt-get install nodejs npm bubblewrap)" >&2; exit 1; }
done
out=$(mktemp /var/tmp/sbshim-mcp-XXXXXX)
trap 'rm -f "$out"' EXIT
export CGO_ENABLED=0
go test -run '^$' -bench 'MCP(ColdStart|True|OpenBurst)' -benchtime "${starts}x" -count "$count" ./cmd/sbshim/ >"$out"
go test -run '^$' -bench 'MCPReadGraph' -benchtime "${calls}x" -count "$count" ./cmd/sbshim/ >>"$out"
awk -v count="$count" '
function median(key,   n, a, i, j, t) {
  n = split(vals[key], a, " ")
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
/^BenchmarkMCP/ {
  # one median per mode: "12.3 direct-ms/start 14.5 bwrap-ms/start ..."
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkMCP/, "", name)
  for (i = 3; i < NF; i++) if (split($(i+1), u, "-") >= 2 && u[1] ~ /^[a-z0-9]+$/) {
    key = name "/" u[1]; vals[key] = vals[key] " " $i
    if (u[1] != "direct" && u[1] != "bwrap" && u[1] != "sbshim" && !(u[1] in other)) { other[u[1]] = 1; others = others " " u[1] }
  }
}
function verdict(ok) { if (!ok) fail = 1; return ok ? "PASS" : "FAIL" }
END {
  printf "MCP servers, median of %d rounds (direct, bwrap, sbshim in one run)\n\n", count
  printf "  %-36s %10s %18s %18s\n", "", "direct", "bwrap", "sbshim"
  split("server-filesystem server-memory", servers, " ")
  for (k = 1; k <= 2; k++) {
    s = servers[k]; d = median("ColdStart/" s "/direct"); bw = median("ColdStart/" s "/bwrap"); sb = median("ColdStart/" s "/sbshim")
    printf "  %-36s %7.1f ms %7.1f ms (%4.2fx) %7.1f ms (%4.2fx)  target <= 1.10x: %s\n", s " cold start", d, bw, bw/d, sb, sb/d, verdict(sb/d <= 1.10)
  }
  d = median("ReadGraph/direct"); bw = median("ReadGraph/bwrap"); sb = median("ReadGraph/sbshim")
  printf "  %-36s %7.0f µs %+7.0f µs         %+7.0f µs          target <= +20 µs: %s\n", "server-memory read_graph, p50 (added)", d, bw-d, sb-d, verdict(sb-d <= 20)
  d = median("True/direct"); bw = median("True/bwrap"); sb = median("True/sbshim")
  printf "  %-36s %7.2f ms %7.2f ms         %7.2f ms (%4.2fx bwrap)  target <= 2x bwrap: %s\n", "X -- /bin/true", d, bw, sb, sb/bw, verdict(sb/bw <= 2)
  d = median("OpenBurst/direct"); bw = median("OpenBurst/bwrap"); sb = median("OpenBurst/sbshim")
  printf "  %-36s %7.1f µs %+7.1f µs         %+7.1f µs          (no target)\n", "open of a file, in a burst (added)", d, bw-d, sb-d
  n = split(others, names, " ")
  if (n > 0) printf "\nOther builds of sbshim, in the same runs (SBSHIM_BENCH_COMPARE)\n\n"
  for (k = 1; k <= n; k++) {
    o = names[k]
    for (j = 1; j <= 2; j++) {
      s = servers[j]
      printf "  %-10s %-30s %7.1f ms (%4.2fx direct; this build %4.2fx)\n", o, s " cold start", median("ColdStart/" s "/" o), median("ColdStart/" s "/" o) / median("ColdStart/" s "/direct"), median("ColdStart/" s "/sbshim") / median("ColdStart/" s "/direct")
    }
    printf "  %-10s %-30s %+7.0f µs (this build %+.0f µs)\n", o, "read_graph, p50 (added)", median("ReadGraph/" o) - median("ReadGraph/direct"), median("ReadGraph/sbshim") - median("ReadGraph/direct")
    printf "  %-10s %-30s %7.2f ms (%4.2fx bwrap; this build %4.2fx)\n", o, "X -- /bin/true", median("True/" o), median("True/" o) / median("True/bwrap"), median("True/sbshim") / median("True/bwrap")
    printf "  %-10s %-30s %+7.1f µs (this build %+.1f µs)\n", o, "open in a burst (added)", median("OpenBurst/" o) - median("OpenBurst/direct"), median("OpenBurst/sbshim") - median("OpenBurst/direct")
  }
  exit fail
}' "$out"
