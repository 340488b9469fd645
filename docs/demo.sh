#!/usr/bin/env bash
# sbshim in one minute: build it and a small MCP server (testdata/probe),
# run the server sandboxed under the default profile, call its try_escape
# tool — which tries to read ~/.ssh/id_rsa, write outside the workspace and
# connect out — and show the three reports. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d /var/tmp/sbshim-demo-XXXXXX)
trap 'rm -rf "$demo"' EXIT

echo "building sbshim (CGO_ENABLED=0, one static binary) and the probe MCP server…"
CGO_ENABLED=0 go build -o "$demo/sbshim" ./cmd/sbshim
CGO_ENABLED=0 go build -o "$demo/probe" ./testdata/probe

# A home like yours, with a private key and a project.
home="$demo/home"
mkdir -p "$home/.ssh" "$home/proj"
echo "-----BEGIN OPENSSH PRIVATE KEY----- (demo)" > "$home/.ssh/id_rsa"
export HOME="$home" XDG_CACHE_HOME="$home/.cache" XDG_STATE_HOME="$demo/state"

# What an MCP client does: the handshake, then a log level (so that the
# server may be sent log notifications), then one tool call; each step waits
# for the answer to the one before, as a client does, and the client keeps
# its end open until the tool's answer has come. sbshim runs as a
# coprocess: SB[1] is its stdin, SB[0] its stdout.
coproc SB { cd "$home/proj" && exec "$demo/sbshim" -- "$demo/probe" 2>"$demo/err"; }
send() { printf '%s\n' "$@" >&"${SB[1]}"; }
# answer ID: copy the server's messages to $demo/out until the answer to
# request ID has come.
answer() {
  local line
  while IFS= read -r -t 30 line <&"${SB[0]}"; do
    printf '%s\n' "$line" >>"$demo/out"
    case $line in *'"id":'"$1"[,}]*) return 0 ;; esac
  done
  echo "no answer to request $1; sbshim said:" >&2
  cat "$demo/err" >&2
  exit 1
}
client() {
  send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}'
  answer 1
  send '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"info"}}'
  answer 2
  send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"try_escape","arguments":{}}}'
  answer 3
  # Done: close sbshim's stdin, keep what is left of its output.
  local out=${SB[0]} pid=$SB_PID
  exec {SB[1]}>&-
  cat <&"$out" >>"$demo/out"
  wait "$pid" || true
}

echo
echo '$ sbshim -- probe          # as an mcpServers entry would run it; the client calls try_escape'
: >"$demo/out"
client

echo
echo "1. stderr (what the client shows in its server log):"
sed 's/^/   /' "$demo/err"
echo
echo "2. in-band, on the MCP stream: a log notification per attempt, and the tool result"
echo "   carries one more text item saying what was blocked:"
grep -E '"notifications/message"|"id":3' "$demo/out" | cut -c1-400 | sed 's/^/   /; s/$/…/'
echo
echo "3. the audit log (sbshim audit --events, then the per-tool summary):"
"$demo/sbshim" audit --events | sed 's/^/   /'
echo
"$demo/sbshim" audit | sed 's/^/   /'
echo
if [ -e "$home/sbshim-demo-escape.txt" ]; then echo "the write outside the workspace got through!"; exit 1; fi
echo "Nothing outside the workspace was written, the key was not read, nothing left the machine."
