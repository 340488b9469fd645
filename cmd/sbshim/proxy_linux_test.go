package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// The network proxy, end to end: real programs (curl, node, git) inside
// the sandbox reach a server the test starts on the host's loopback — the
// only address these tests ever use — through sbshim's filtering proxy,
// and every refusal is reported.

// loopbackServer serves hello on 127.0.0.1 and returns its port.
func loopbackServer(t *testing.T, h http.Handler) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func helloHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the host %s", r.URL.Path)
	})
}

// tool returns the path of a program the tests need; it fails the test
// with the reason when the host lacks it (.ci/run installs it).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for this test (apt-get install %s): %v", name, name, err)
	}
	return p
}

// proxyRun runs a shell command in the sandbox with flags, returning
// stdout, stderr, exit status and the audit records.
func (b *box) proxyRun(flags []string, script string) (string, string, int, []map[string]any) {
	b.t.Helper()
	logPath := filepath.Join(b.root, fmt.Sprintf("audit-%d.jsonl", time.Now().UnixNano()))
	stdout, stderr, code := b.run(append([]string{"--audit-log", logPath}, flags...), "sh", "-c", script)
	return stdout, stderr, code, auditRecords(b.t, logPath)
}

// proxyBlock returns the first blocked record of layer proxy.
func proxyBlock(recs []map[string]any) map[string]any {
	for _, r := range ofType(recs, "blocked") {
		if r["layer"] == "proxy" {
			return r
		}
	}
	return nil
}

func TestProxyCurlAllowed(t *testing.T) {
	tool(t, "curl")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	allow := []string{"--allow-net", "127.0.0.1"}
	for _, tc := range []struct{ name, script string }{
		{"plain http", `curl -sS --max-time 10 ` + url + `/plain`},
		{"connect", `curl -sS --max-time 10 --proxytunnel ` + url + `/tunnel`},
		{"socks5 with a name", `curl -sS --max-time 10 -x "$ALL_PROXY" http://localhost:` + strconv.Itoa(port) + `/socks`},
		{"socks5 with an allowed address", `curl -sS --max-time 10 -x "socks5://${ALL_PROXY#socks5h://}" ` + url + `/socksip`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := allow
			if strings.Contains(tc.script, "localhost") {
				flags = append(flags, "--allow-net", "localhost")
			}
			stdout, stderr, code, recs := b.proxyRun(flags, tc.script)
			path := tc.script[strings.LastIndex(tc.script, "/"):]
			if code != 0 || stdout != "hello from the host "+path {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if r := proxyBlock(recs); r != nil {
				t.Fatalf("an allowed connection was reported blocked: %v", r)
			}
			end := ofType(recs, "session_end")
			if len(end) != 1 || fmt.Sprint(end[0]["net"]) == "<nil>" {
				t.Fatalf("session_end does not count the connection: %v", end)
			}
		})
	}
}

func TestProxyRefusals(t *testing.T) {
	tool(t, "curl")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	ip := fmt.Sprintf("127.0.0.1:%d", port)
	name := fmt.Sprintf("localhost:%d", port)
	for _, tc := range []struct {
		name   string
		flags  []string
		url    string
		target string
		rule   string
	}{
		{"not listed", nil, "http://" + ip + "/", ip, "network.allow (not listed)"},
		{"deny beats allow", []string{"--allow-net", "127.0.0.1", "--deny-net", ip}, "http://" + ip + "/", ip, "network.deny " + ip},
		{"port rule", []string{"--allow-net", fmt.Sprintf("127.0.0.1:%d", port+1)}, "http://" + ip + "/", ip, "network.allow (not listed)"},
		{"wildcard is for subdomains only", []string{"--allow-net", "*.localhost", "--allow-net", "127.0.0.1"}, "http://" + name + "/", name, "network.allow (not listed)"},
		{"rebinding guard", []string{"--allow-net", "localhost"}, "http://" + name + "/", name, "rebinding guard: localhost resolves to 127.0.0.1"},
		{"connect refused", nil, "https://" + ip + "/", ip, "network.allow (not listed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// --noproxy '': where the policy allows no loopback address,
			// NO_PROXY sends loopback to the sandbox's own; this test
			// asks the proxy for the host's.
			stdout, stderr, code, recs := b.proxyRun(tc.flags, "curl -sS --max-time 10 --noproxy '' -o /dev/null -w '%{http_code}' "+tc.url)
			if tc.url[:5] == "https" {
				// curl tunnels https with CONNECT and says the proxy refused.
				if code == 0 || !strings.Contains(stderr, "403") {
					t.Fatalf("CONNECT: exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
			} else if stdout != "403" {
				t.Fatalf("want a 403 from the proxy, got exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if want := "sbshim: blocked connect " + tc.target; !strings.Contains(stderr, want) || !strings.Contains(stderr, tc.rule) {
				t.Fatalf("stderr lacks %q with %q: %s", want, tc.rule, stderr)
			}
			r := proxyBlock(recs)
			if r == nil || r["target"] != tc.target || !strings.Contains(fmt.Sprint(r["rule"]), tc.rule) || r["kind"] != "net" {
				t.Fatalf("audit event %v, want target %s rule ~%s; all %v", r, tc.target, tc.rule, recs)
			}
			if r["pid"] == nil || !strings.HasSuffix(fmt.Sprint(r["exe"]), "curl") {
				t.Fatalf("the event does not name curl: %v", r)
			}
		})
	}
	t.Run("both allowed", func(t *testing.T) {
		stdout, stderr, code, _ := b.proxyRun([]string{"--allow-net", "localhost", "--allow-net", "127.0.0.1"},
			"curl -sS --max-time 10 http://"+name+"/ok")
		if code != 0 || stdout != "hello from the host /ok" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestProxyBypassIsRefused(t *testing.T) {
	tool(t, "curl")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	// A client that ignores the proxy variables reaches nothing: the
	// sandbox's network has no route, and the attempt is reported.
	stdout, stderr, code, recs := b.proxyRun([]string{"--allow-net", "127.0.0.1"},
		"curl -sS --max-time 10 --noproxy '*' http://192.0.2.1:"+strconv.Itoa(port)+"/")
	if code == 0 || !strings.Contains(stderr, "Failed to connect") {
		t.Fatalf("direct connect: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var ev map[string]any
	for _, r := range ofType(recs, "blocked") {
		if r["op"] == "connect" && r["target"] == "192.0.2.1:"+strconv.Itoa(port) {
			ev = r
		}
	}
	if ev == nil || !strings.Contains(fmt.Sprint(ev["rule"]), "network.mode proxy") || ev["errno"] != "ENETUNREACH" {
		t.Fatalf("no event for the direct connect: %v", recs)
	}
	// The same for a DNS query over UDP.
	b.mustFail(nil, "ENETUNREACH", "send-udp", "192.0.2.1:53")
}

func TestProxyNode(t *testing.T) {
	node := tool(t, "node")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	url := fmt.Sprintf("http://127.0.0.1:%d/node", port)
	// What works on every Node: http.get through the proxy named in
	// HTTP_PROXY, as a proxy-aware client does it.
	script := `const http = require("http"); const p = new URL(process.env.HTTP_PROXY);
http.get({host: p.hostname, port: p.port, path: process.argv[1], headers: {Host: new URL(process.argv[1]).host}}, r => {
  let s = ""; r.on("data", d => s += d); r.on("end", () => { console.log(r.statusCode, s); });
}).on("error", e => { console.log("error", e.code); process.exit(1); });`
	stdout, stderr, code := b.run([]string{"--name", "node", "--allow-net", "127.0.0.1"}, node, "-e", script, url)
	if code != 0 || strings.TrimSpace(stdout) != "200 hello from the host /node" {
		t.Fatalf("node http via HTTP_PROXY: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// fetch honours the proxy variables where Node supports
	// NODE_USE_ENV_PROXY (sbshim sets it); older Node's fetch resolves
	// names itself and must fail cleanly, reported.
	fetch := `fetch(process.argv[1]).then(r => r.text()).then(t => console.log("ok", t), e => { console.log("failed", e.cause && e.cause.code); process.exit(1); });`
	flags := []string{"--name", "node", "--allow-net", "127.0.0.1", "--allow-net", "localhost"}
	if nodeHonoursEnvProxy(t, node) {
		stdout, stderr, code = b.run(flags, node, "-e", fetch, fmt.Sprintf("http://localhost:%d/fetch", port))
		if code != 0 || strings.TrimSpace(stdout) != "ok hello from the host /fetch" {
			t.Fatalf("fetch with NODE_USE_ENV_PROXY: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		return
	}
	// A name that needs DNS: the lookup itself is refused, and reported
	// with the name, this Node's version and the fix.
	stdout, stderr, code = b.run(flags, node, "-e", fetch, "http://sbshim-proxy-test.invalid/")
	if code == 0 || !strings.HasPrefix(stdout, "failed") {
		t.Fatalf("fetch on a Node without env proxy support: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "sbshim: blocked dns sbshim-proxy-test.invalid A (pid ") || !strings.Contains(stderr, nodeAdvice(t, node)) {
		t.Fatalf("the DNS query of fetch was not reported with the name and the fix: stdout %q, stderr %q", stdout, stderr)
	}
}

// nameserver is the first nameserver of /etc/resolv.conf.
func nameserver() string {
	b, _ := os.ReadFile("/etc/resolv.conf")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			return f[1]
		}
	}
	return ""
}

// nodeHonoursEnvProxy says whether this Node's fetch reads the proxy
// variables under NODE_USE_ENV_PROXY=1 (Node 24.5+, 22.21+).
func nodeHonoursEnvProxy(t *testing.T, node string) bool {
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		t.Fatal(err)
	}
	var major, minor int
	fmt.Sscanf(strings.TrimSpace(string(out)), "%d.%d", &major, &minor)
	return major > 24 || major == 24 && minor >= 5 || major == 22 && minor >= 21
}

func TestProxyGit(t *testing.T) {
	git := tool(t, "git")
	b := newBox(t)
	// A repository served over git's dumb HTTP protocol by a plain file
	// server on loopback.
	src := filepath.Join(b.root, "src")
	bare := filepath.Join(b.root, "srv", "repo.git")
	for _, args := range [][]string{
		{"init", "-q", src},
		{"-C", src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "through the proxy"},
		{"clone", "-q", "--bare", src, bare},
		{"-C", bare, "update-server-info"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Env = append(os.Environ(), "HOME="+b.home, "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	port := loopbackServer(t, http.FileServer(http.Dir(filepath.Join(b.root, "srv"))))
	url := fmt.Sprintf("http://127.0.0.1:%d/repo.git", port)
	stdout, stderr, code, recs := b.proxyRun([]string{"--allow-net", "127.0.0.1:" + strconv.Itoa(port)},
		"git clone -q "+url+" /tmp/clone && git -C /tmp/clone log --format=%s")
	if code != 0 || strings.TrimSpace(stdout) != "through the proxy" {
		t.Fatalf("git clone through the proxy: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if r := proxyBlock(recs); r != nil {
		t.Fatalf("blocked: %v", r)
	}
	_, stderr, code, recs = b.proxyRun([]string{"--allow-net", "127.0.0.1:1"}, "git ls-remote "+url)
	if code == 0 || !strings.Contains(stderr, "403") || proxyBlock(recs) == nil {
		t.Fatalf("git ls-remote of a host not allowed: exit %d, stderr %q", code, stderr)
	}
}

// TestProxyAudit: sbshim audit --net shows allowed destinations counted
// and refused ones per tool.
func TestProxyAudit(t *testing.T) {
	tool(t, "curl")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	ip := fmt.Sprintf("127.0.0.1:%d", port)
	dir := filepath.Join(b.root, "auditdir")
	logPath := filepath.Join(dir, "srv.jsonl")
	script := "curl -s -o /dev/null http://" + ip + "/a; curl -s -o /dev/null http://" + ip + "/b; curl -s -o /dev/null --max-time 5 http://localhost:" + strconv.Itoa(port) + "/"
	if _, stderr, code := b.run([]string{"--audit-log", logPath, "--allow-net", "127.0.0.1"}, "sh", "-c", script); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, out, errOut := runAuditT(t, "--dir", dir, "--net")
	if code != 0 {
		t.Fatalf("sbshim audit: %d %s", code, errOut)
	}
	wantAllowed := fmt.Sprintf("%s  2  0", ip)
	wantRefused := fmt.Sprintf("localhost:%d  0  1", port)
	if !strings.Contains(collapseSpaces(out), collapseSpaces(wantAllowed)) || !strings.Contains(collapseSpaces(out), collapseSpaces(wantRefused)) {
		t.Fatalf("sbshim audit --net:\n%s\nwant rows %q and %q", out, wantAllowed, wantRefused)
	}
}

func collapseSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestNpxFirstRunThroughProxy runs a reference MCP server with npx -y under
// the default profile with an empty private npm cache: npx downloads it
// through the proxy from the registry this machine's npm is configured
// for — allowed by allowPackageRegistries, read from npm's configuration
// — and the server answers tools/list.
func TestNpxFirstRunThroughProxy(t *testing.T) {
	npx := tool(t, "npx")
	npm := tool(t, "npm")
	b := newBox(t)
	// The box's home has no npmrc: npm's own configuration decides, as it
	// does for the user.
	out, err := exec.Command(npm, "config", "get", "registry").Output()
	if err != nil {
		t.Fatalf("npm config get registry: %v", err)
	}
	regURL := strings.TrimSpace(string(out))
	boxNpm := exec.Command(npm, "config", "get", "registry")
	boxNpm.Env = append(filteredEnviron(), "HOME="+b.home)
	if out, err := boxNpm.Output(); err != nil || strings.TrimSpace(string(out)) != regURL {
		// The user's own npmrc names another registry than npm's
		// default; the box's home has none, so hand the setting on.
		b.env = append(b.env, "npm_config_registry="+regURL)
	}
	// mcp-go's client closes sbshim's stderr with its stdin; npm's
	// update notice at exit would then end sbshim by SIGPIPE before it
	// writes session_end (sbshim does not survive a closed stderr yet).
	b.env = append(b.env, "npm_config_update_notifier=false")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logPath := filepath.Join(b.root, "npx.jsonl")
	pkg := "@modelcontextprotocol/server-memory@2026.8.31"
	c := b.mcpgoClient(ctx, []string{"--audit-log", logPath}, []string{npx, "-y", pkg})
	res, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	if len(res.Tools) == 0 {
		t.Fatal("tools/list answered no tools")
	}
	c.Close()
	recs := waitAudit(t, logPath)
	host := strings.TrimPrefix(strings.TrimPrefix(regURL, "https://"), "http://")
	host = strings.SplitN(host, "/", 2)[0]
	end := ofType(recs, "session_end")
	if len(end) != 1 || !strings.Contains(fmt.Sprint(end[0]["net"]), host) {
		t.Fatalf("session_end does not count connections to the registry %s: %v", host, end)
	}
	if r := proxyBlock(recs); r != nil {
		t.Logf("refused during npx (not fatal): %v", r)
	}
}

// TestProxyRegistryFromWorkspaceIsIgnored: a program that writes a
// registry into a uv.toml in the workspace (which it may write) before its
// first connection does not add that host to its own allow list.
func TestProxyRegistryFromWorkspaceIsIgnored(t *testing.T) {
	tool(t, "curl")
	b := newBox(t)
	port := loopbackServer(t, helloHandler())
	ip := fmt.Sprintf("127.0.0.1:%d", port)
	script := fmt.Sprintf(`printf '[[index]]\nurl = "http://%s/"\n' > %s/uv.toml && `, ip, b.ws) +
		"curl -sS --max-time 10 --noproxy '' -o /dev/null -w '%{http_code}' http://" + ip + "/"
	stdout, stderr, code, recs := b.proxyRun(nil, script)
	if stdout != "403" {
		t.Fatalf("want a 403 from the proxy, got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if data, err := os.ReadFile(filepath.Join(b.ws, "uv.toml")); err != nil || !strings.Contains(string(data), ip) {
		t.Fatalf("the program did not write uv.toml: %q %v", data, err)
	}
	r := proxyBlock(recs)
	if r == nil || r["target"] != ip || r["rule"] != "network.allow (not listed)" {
		t.Fatalf("audit event %v, want target %s refused as not listed; all %v", r, ip, recs)
	}
}
