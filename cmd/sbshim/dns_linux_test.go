package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DNS inside the sandbox, end to end: without host networking a program
// that looks a name up itself gets an immediate REFUSED from sbshim's
// responder, and the report names the name and type it looked up, the
// process, and the real cause — in proxy mode, that the program ignores
// the proxy sbshim set (for an old Node, which version and the fix).

// nodeAdvice is the part of the rule that names this Node and what to do.
func nodeAdvice(t *testing.T, node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(out))
	if nodeHonoursEnvProxy(t, node) {
		return "Node " + v + " honours them in fetch and http"
	}
	return "network.mode proxy: Node " + v + " ignores HTTP_PROXY in fetch and http (before 22.21 and 24.5): upgrade Node (sbshim sets NODE_USE_ENV_PROXY) or use a proxy agent"
}

func TestDNSQueriesAreNamed(t *testing.T) {
	getent := tool(t, "getent")
	node := tool(t, "node")
	b := newBox(t)
	const proxyRule = "network.mode proxy: the program resolves names itself instead of using the proxy sbshim set (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY)"
	// A TCP query by hand to the first nameserver the sandbox sees: the
	// answer's rcode is printed.
	tcpQuery := `const fs = require("fs"), net = require("net");
const ns = fs.readFileSync("/etc/resolv.conf", "utf8").split("\n").map(l => l.trim().split(/\s+/)).find(f => f[0] === "nameserver");
const name = Buffer.from("\x03tcp\x0asbshim-dns\x04test\x00", "latin1");
const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
const len = Buffer.alloc(2); len.writeUInt16BE(q.length);
const s = net.connect(53, ns ? ns[1] : "127.0.0.1", () => s.write(Buffer.concat([len, q])));
let got = Buffer.alloc(0);
s.on("data", d => { got = Buffer.concat([got, d]); if (got.length >= 4) { console.log("rcode", got[5] & 15); s.destroy(); } });
s.on("error", e => { console.log("error", e.code); process.exit(1); });`
	cases := []struct {
		name   string
		flags  []string
		argv   []string
		stdout string // what the program printed, when it prints
		target string
		exe    string
		rule   string // the rule, or a part of it
	}{
		{"glibc in proxy mode", nil, []string{getent, "hosts", "glibc.sbshim-dns.test"}, "",
			"glibc.sbshim-dns.test A", "getent", proxyRule},
		{"glibc in none mode", []string{"--net", "none"}, []string{getent, "hosts", "none.sbshim-dns.test"}, "",
			"none.sbshim-dns.test A", "getent", "network.mode none"},
		{"node dns.lookup", nil, []string{node, "-e", `require("dns").lookup("lookup.sbshim-dns.test", {family: 4}, e => console.log(e ? "failed" : "resolved"))`},
			"failed", "lookup.sbshim-dns.test A", "node", nodeAdvice(t, node)},
		// c-ares reads the answer's rcode: EREFUSED, not a timeout or an
		// unreachable network.
		{"node dns.resolve", nil, []string{node, "-e", `require("dns").resolve6("cares.sbshim-dns.test", e => console.log(e ? e.code : "resolved"))`},
			"EREFUSED", "cares.sbshim-dns.test AAAA", "node", nodeAdvice(t, node)},
		{"node over TCP", []string{"--net", "none"}, []string{node, "-e", tcpQuery},
			"rcode 5", "tcp.sbshim-dns.test A", "node", "network.mode none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(b.root, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			stdout, stderr, code := b.run(append([]string{"--audit-log", logPath}, tc.flags...), tc.argv...)
			if tc.stdout != "" && strings.TrimSpace(stdout) != tc.stdout {
				t.Fatalf("stdout %q, want %q; exit %d, stderr %q", stdout, tc.stdout, code, stderr)
			}
			if tc.stdout == "" && code == 0 {
				t.Fatalf("the lookup succeeded: stdout %q, stderr %q", stdout, stderr)
			}
			want := "sbshim: blocked dns " + tc.target + " (pid "
			i := strings.Index(stderr, want)
			if i < 0 {
				t.Fatalf("stderr lacks %q: %s", want, stderr)
			}
			line, _, _ := strings.Cut(stderr[i:], "\n")
			if !strings.Contains(line, " "+tc.exe+", ") || !strings.Contains(line, tc.rule) {
				t.Fatalf("stderr line %q lacks the process %s or the rule %q", line, tc.exe, tc.rule)
			}
			var ev map[string]any
			for _, r := range ofType(auditRecords(t, logPath), "blocked") {
				if r["op"] == "dns" && r["target"] == tc.target {
					ev = r
				}
			}
			if ev == nil {
				t.Fatalf("no audit record for %s", tc.target)
			}
			pid, _ := ev["pid"].(float64)
			exe, _ := ev["exe"].(string)
			if ev["kind"] != "net" || ev["layer"] != "dns" || pid <= 0 || filepath.Base(exe) != tc.exe ||
				!strings.Contains(fmt.Sprint(ev["rule"]), tc.rule) {
				t.Fatalf("audit record %v", ev)
			}
			// The resolver's address itself is not reported: the lookup
			// is, once per name and type.
			if ns := nameserver(); ns != "" && strings.Contains(stderr, "dns "+net.JoinHostPort(ns, "53")) {
				t.Fatalf("the resolver's address is reported: %s", stderr)
			}
		})
	}
}

// TestDNSRetriesCollapse: a program that retries a lookup in a loop gets
// a bounded number of stderr lines, not one per query.
func TestDNSRetriesCollapse(t *testing.T) {
	tool(t, "getent")
	b := newBox(t)
	stdout, stderr, _ := b.run([]string{"--net", "none"}, "sh", "-c", "for i in $(seq 100); do getent hosts loop.sbshim-dns.test; done; echo done")
	if strings.TrimSpace(stdout) != "done" {
		t.Fatalf("stdout %q, stderr %q", stdout, stderr)
	}
	n := strings.Count(stderr, "blocked dns loop.sbshim-dns.test A ")
	if n == 0 || n > 5 {
		t.Fatalf("%d stderr lines for one name and type: %s", n, stderr)
	}
}

// TestDNSResolverAddress: a datagram sent (sendto, which the observer
// sees) to the resolver's port 53 reaches the responder, which reports
// what it got; the resolver's address is the sandbox's only for port 53:
// a connect to another port of it is refused and reported as any direct
// connect.
func TestDNSResolverAddress(t *testing.T) {
	ns := nameserver()
	if ns == "" || net.ParseIP(ns) == nil {
		t.Fatalf("this test needs a nameserver in /etc/resolv.conf, got %q", ns)
	}
	b := newBox(t)
	_, stderr, _ := b.run(nil, filepath.Join(binDir, "attempt"), "send-udp", net.JoinHostPort(ns, "53"))
	b.mustWork(nil, "send-udp", net.JoinHostPort(ns, "53"))
	// (The sender does not wait for an answer: it may be gone before it
	// can be attributed.)
	if !strings.Contains(stderr, "sbshim: blocked dns (malformed DNS message) (") {
		t.Fatalf("the datagram to the resolver is not reported: %s", stderr)
	}
	target := net.JoinHostPort(ns, "80")
	if net.ParseIP(ns).IsLoopback() {
		// The sandbox's own loopback: nothing listens there, nothing is
		// refused.
		b.mustFail(nil, "ECONNREFUSED", "connect-tcp", target)
		return
	}
	b.mustFail(nil, "ENETUNREACH", "connect-tcp", target)
	_, stderr, _ = b.run(nil, filepath.Join(binDir, "attempt"), "connect-tcp", target)
	if !strings.Contains(stderr, "sbshim: blocked connect "+target+" ") {
		t.Fatalf("the connect to %s is not reported: %s", target, stderr)
	}
}
