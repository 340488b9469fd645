#!/usr/bin/env bash
# Observer overhead: file-heavy workloads under sbshim (every open, exec
# and delete goes to the observer) against bare bubblewrap, in one run.
#   find /usr -type f -size +1k   one open per directory, a stat per file
#   node -e 0                     Node's start: a few hundred opens and stats
# Prints each median and the ratio sbshim/bwrap; target <= 1.50. Exit 1 on
# a miss. Needs hyperfine, bwrap and node (apt-get install hyperfine
# bubblewrap nodejs).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
target=1.50
for tool in hyperfine bwrap node; do
  command -v "$tool" >/dev/null || { echo "bench/observer.sh needs $tool (apt-get install hyperfine bubblewrap nodejs)" >&2; exit 1; }
done
bin=$(mktemp -d /var/tmp/sbshim-bench-XXXXXX)
trap 'rm -rf "$bin"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$bin/sbshim" ./cmd/sbshim
cd "$bin"
# bwrap needs its own /dev for find to write /dev/null; sbshim's sandbox
# has one. The audit log is off so that only the observer is measured.
bw='bwrap --ro-bind / / --dev /dev --unshare-all'
sb="$bin/sbshim --audit-log -"
fail=0
measure() { # name, command
  hyperfine -N -i --warmup 2 --runs "$runs" --output=null --export-json "$bin/out.json" \
    "$bw $2" "$sb -- $2" >/dev/null 2>&1
  local medians b s
  medians=$(grep -o '"median": *[0-9.e+-]*' "$bin/out.json" | awk '{print $2}')
  b=$(echo "$medians" | sed -n 1p)
  s=$(echo "$medians" | sed -n 2p)
  awk -v n="$1" -v b="$b" -v s="$s" -v t="$target" 'BEGIN {
    r = s / b
    printf "  %-34s bwrap %8.1f ms   sbshim %8.1f ms   ratio %5.2f  %s\n", n, b*1000, s*1000, r, (r <= t ? "PASS" : "FAIL")
    exit (r <= t ? 0 : 1)
  }' || fail=1
}
echo "observer overhead, median of $runs runs each (target: ratio <= $target)"
measure "find /usr -type f -size +1k" "find /usr -type f -size +1k -fprint /dev/null"
measure "node -e 0" "node -e 0"
exit $fail
