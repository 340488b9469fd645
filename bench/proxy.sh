#!/usr/bin/env bash
# The network proxy, in one run: a 100 MB download from a loopback server
# by curl inside the sandbox, direct (--net host) against through sbshim's
# proxy (plain HTTP forwarding, and a CONNECT tunnel), as the median of
# RUNS downloads each; and the connect latency — time until the
# connection to the server is ready, curl's time_pretransfer, direct
# against through a CONNECT tunnel — as the median of CONNS fresh curls.
# Needs curl. Targets: throughput >= 70 % of direct, added p50 <= 1 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
conns=${CONNS:-200}
command -v curl >/dev/null || { echo "bench/proxy.sh needs curl (apt-get install curl)" >&2; exit 1; }
bin=$(mktemp -d /var/tmp/sbshim-bench-XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$bin"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -trimpath -o "$bin/sbshim" ./cmd/sbshim
CGO_ENABLED=0 go build -trimpath -o "$bin/server" bench/proxyserver.go
"$bin/server" >"$bin/port" &
server=$!
for _ in $(seq 50); do [ -s "$bin/port" ] && break; sleep 0.1; done
port=$(cat "$bin/port")
url="http://127.0.0.1:$port"
cd "$bin"
sb() { "$bin/sbshim" --audit-log - "$@"; }
direct=(--net host)
proxied=(--allow-net "127.0.0.1:$port")

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
speed() { # flags... -- curl args: median bytes/s of $runs downloads
  local -a flags=()
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  sb "${flags[@]}" -- sh -c 'for i in $(seq '"$runs"'); do curl -s -o /dev/null -w "%{speed_download}\n" "$@"; done' sh "$@" | median
}
latency() { # flags... -- curl args: median time_pretransfer in seconds of $conns curls
  local -a flags=()
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  sb "${flags[@]}" -- sh -c 'for i in $(seq '"$conns"'); do curl -s -o /dev/null -w "%{time_pretransfer}\n" "$@"; done' sh "$@" | median
}

d=$(speed "${direct[@]}" -- "$url/100m")
h=$(speed "${proxied[@]}" -- "$url/100m")
c=$(speed "${proxied[@]}" -- -p "$url/100m")
ld=$(latency "${direct[@]}" -- "$url/small")
lc=$(latency "${proxied[@]}" -- -p "$url/small")
awk -v d="$d" -v h="$h" -v c="$c" -v ld="$ld" -v lc="$lc" -v runs="$runs" -v conns="$conns" 'BEGIN {
  ok = 1
  printf "100 MB download from loopback, median of %d, curl inside sbshim\n", runs
  printf "  direct (--net host)              %8.0f MB/s\n", d/1e6
  printf "  proxy, plain HTTP forwarding     %8.0f MB/s  %5.1f %%\n", h/1e6, 100*h/d
  printf "  proxy, CONNECT tunnel            %8.0f MB/s  %5.1f %%\n", c/1e6, 100*c/d
  worst = (h < c) ? h : c
  r = (worst/d >= 0.70) ? "PASS" : "FAIL"; if (r == "FAIL") ok = 0
  printf "  throughput through the proxy     %5.1f %% of direct (target >= 70 %%)  %s\n", 100*worst/d, r
  printf "connect latency, p50 of %d fresh curls (time_pretransfer)\n", conns
  printf "  direct                           %8.3f ms\n", ld*1000
  printf "  CONNECT tunnel through the proxy %8.3f ms\n", lc*1000
  r = ((lc-ld)*1000 <= 1.0) ? "PASS" : "FAIL"; if (r == "FAIL") ok = 0
  printf "  added                            %8.3f ms (target <= 1 ms)  %s\n", (lc-ld)*1000, r
  exit !ok
}'
