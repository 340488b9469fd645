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

# What an MCP client sends: the handshake, a log level (so that the server
# may be sent log notifications), and one tool call. The client keeps its
# end open until the answer has come.
client() {
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"info"}}'
  sleep 0.3 # a client waits for the answers before it calls a tool
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"try_escape","arguments":{}}}'
  sleep 2
}

echo
echo '$ sbshim -- probe          # as an mcpServers entry would run it; the client calls try_escape'
(cd "$home/proj" && client | "$demo/sbshim" -- "$demo/probe" >"$demo/out" 2>"$demo/err") || true

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
