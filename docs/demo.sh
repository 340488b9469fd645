#!/usr/bin/env bash
# sbshim in one minute: build it, give it a home with a secret and a host
# service, and watch what the sandbox refuses. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d /var/tmp/sbshim-demo-XXXXXX)
trap 'kill $svc 2>/dev/null || true; rm -rf "$demo"' EXIT

echo "building sbshim (CGO_ENABLED=0, one static binary)…"
CGO_ENABLED=0 go build -o "$demo/sbshim" ./cmd/sbshim
CGO_ENABLED=0 go build -o "$demo/attempt" ./testdata/attempt

# A home like yours: a private key, a project, a host service's socket.
home="$demo/home"
mkdir -p "$home/.ssh" "$home/proj" "$home/run"
echo "-----BEGIN OPENSSH PRIVATE KEY----- (demo)" > "$home/.ssh/id_rsa"
"$demo/attempt" serve-unix "$home/run/docker.sock" >/dev/null & svc=$!
sleep 0.2

run() {
  echo
  echo "\$ sbshim -- $*"
  (cd "$home/proj" && HOME="$home" XDG_CACHE_HOME="$home/.cache" "$demo/sbshim" -- "$@") || true
}
run sh -c 'cat ~/.ssh/id_rsa'
run sh -c 'echo pwned >> ~/.bashrc'
run sh -c 'echo "{\"mcpServers\":{}}" > .mcp.json'
run "$demo/attempt" connect-unix "$home/run/docker.sock"
run sh -c 'echo "work" > notes.txt && cat notes.txt'
run sh -c 'id -un; ls /proc | grep -c "^[0-9]"; cat /proc/self/status | grep -E "^(CapEff|NoNewPrivs|Seccomp):"'
echo
echo "The workspace kept notes.txt; nothing else on the host changed:"
ls -A "$home/proj"
