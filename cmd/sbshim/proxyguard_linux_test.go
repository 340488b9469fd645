package main

import (
	"fmt"
	"strings"
	"testing"
)

// The proxy judges the request it forwards, end to end: a plain-HTTP
// request whose Host header names another host than its URL is refused
// and reported with the process that sent it; one that names nothing else
// (or, as old Node's http.request to the proxy does, the proxy itself)
// goes through.
func TestProxyRequestCheck(t *testing.T) {
	tool(t, "curl")
	node := tool(t, "node")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	allow := []string{"--allow-net", "127.0.0.1"}
	url := fmt.Sprintf("http://127.0.0.1:%d/check", port)
	other := fmt.Sprintf("other.example:%d", port)
	stdout, stderr, _, recs := b.proxyRun(allow, "curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H 'Host: "+other+"' "+url)
	if stdout != "403" {
		t.Fatalf("Host naming another host: stdout %q, stderr %q", stdout, stderr)
	}
	if want := "sbshim: blocked connect " + other; !strings.Contains(stderr, want) || !strings.Contains(stderr, "request check") {
		t.Fatalf("stderr lacks %q with the request check: %s", want, stderr)
	}
	r := proxyBlock(recs)
	if r == nil || r["target"] != other || !strings.HasPrefix(fmt.Sprint(r["rule"]), "request check:") ||
		!strings.HasSuffix(fmt.Sprint(r["exe"]), "curl") {
		t.Fatalf("audit event %v; all %v", r, recs)
	}
	// Old Node's way through a proxy: an absolute URL as the path, Host
	// left to Node, which names the proxy.
	script := `const http = require("http"); const p = new URL(process.env.HTTP_PROXY);
http.get({host: p.hostname, port: p.port, path: process.argv[1]}, r => {
  let s = ""; r.on("data", d => s += d); r.on("end", () => { console.log(r.statusCode, s); });
}).on("error", e => { console.log("error", e.code); process.exit(1); });`
	stdout, stderr, code := b.run(append([]string{"--name", "node"}, allow...), node, "-e", script, url)
	if code != 0 || strings.TrimSpace(stdout) != "200 hello from the host /check" {
		t.Fatalf("node http.get to the proxy without Host: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// A program that opens more connections to the proxy than the limit has
// the extra ones closed, and that is reported once.
func TestProxyConnectionLimit(t *testing.T) {
	tool(t, "curl")
	bash := tool(t, "bash")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	// 300 idle connections, then a request: the proxy takes connections
	// in order, so the request is turned away after the limit was
	// reported. bash stays a moment: a refusal is traced to its process
	// after the fact, from the sandbox's socket tables and descriptors,
	// which a process that has exited no longer has (on a loaded
	// machine bash could finish first).
	script := fmt.Sprintf(`p=${HTTP_PROXY##*:}
for i in $(seq 1 300); do exec {fd}<>/dev/tcp/127.0.0.1/$p || exit 3; done
curl -sS --max-time 10 http://127.0.0.1:%d/over && exit 4
sleep 1
exit 0`, port)
	logPath := b.root + "/audit-limit.jsonl"
	stdout, stderr, code := b.run([]string{"--audit-log", logPath, "--allow-net", "127.0.0.1"}, bash, "-c", script)
	if code != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if n := strings.Count(stderr, "proxy connection limit"); n != 1 {
		t.Fatalf("the limit was reported %d times on stderr, want once: %s", n, stderr)
	}
	r := proxyBlock(auditRecords(t, logPath))
	if r == nil || r["target"] != "proxy" || !strings.HasPrefix(fmt.Sprint(r["rule"]), "proxy connection limit") ||
		!strings.HasSuffix(fmt.Sprint(r["exe"]), "bash") {
		t.Fatalf("audit event %v", r)
	}
}
