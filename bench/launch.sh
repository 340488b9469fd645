#!/usr/bin/env bash
# Launch time: the median whole-process time of `sbshim -- true` against
# bare bubblewrap (`bwrap --ro-bind / / --unshare-all true`) in one run,
# printed with their ratio. Needs hyperfine and bwrap (apt-get install
# hyperfine bubblewrap).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-300}
for tool in hyperfine bwrap; do
  command -v "$tool" >/dev/null || { echo "bench/launch.sh needs $tool (apt-get install hyperfine bubblewrap)" >&2; exit 1; }
done
bin=$(mktemp -d /var/tmp/sbshim-bench-XXXXXX)
trap 'rm -rf "$bin"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$bin/sbshim" ./cmd/sbshim
cd "$bin"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$bin/out.json" \
  'bwrap --ro-bind / / --unshare-all true' "$bin/sbshim -- true" >/dev/null
medians=$(grep -o '"median": *[0-9.e+-]*' "$bin/out.json" | awk '{print $2}')
bwrap=$(echo "$medians" | sed -n 1p)
sbshim=$(echo "$medians" | sed -n 2p)
awk -v b="$bwrap" -v s="$sbshim" -v n="$runs" 'BEGIN {
  printf "launch, median of %d runs each\n", n
  printf "  bwrap --ro-bind / / --unshare-all true  %7.2f ms\n", b*1000
  printf "  sbshim -- true                          %7.2f ms\n", s*1000
  printf "  ratio sbshim/bwrap                      %7.2f  (target <= 1.30)\n", s/b
}'
