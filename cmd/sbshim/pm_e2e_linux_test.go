package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Package managers inside the sandbox, under the default profile, with
// the user's own registry set-up: a mirror on loopback named in the
// user's (hidden) ~/.npmrc, a GOPROXY on loopback. Each must work with
// zero blocked reports and zero package-manager warnings.

// npmMirror is a tiny npm registry on loopback serving one package whose
// bin prints a marker, and recording the Authorization headers it got.
type npmMirror struct {
	url  string
	mu   sync.Mutex
	auth []string
	hits []string
}

const mirrorMarker = "hello from the loopback mirror"

// tgz packs files (name → content) under package/ as npm's tarballs do.
func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newNpmMirror serves pkg (a name, maybe scoped) at version 1.0.0, whose
// bin prints mirrorMarker.
func newNpmMirror(t *testing.T, pkg string) *npmMirror {
	return newNpmMirrorOf(t, pkg, "#!/usr/bin/env node\nconsole.log("+fmt.Sprintf("%q", mirrorMarker)+")\n")
}

// mirrorMCPServer is a stdio MCP server with one tool, ping, in plain
// Node: the package an npx entry of a client config runs from a mirror.
const mirrorMCPServer = `#!/usr/bin/env node
const rl = require("readline").createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
rl.on("line", (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined) return;
  const ok = (result) => send({ jsonrpc: "2.0", id: m.id, result });
  if (m.method === "initialize") ok({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "mirror-probe", version: "1.0.0" } });
  else if (m.method === "tools/list") ok({ tools: [{ name: "ping", description: "answers pong", inputSchema: { type: "object" } }] });
  else if (m.method === "tools/call") ok({ content: [{ type: "text", text: "pong from the loopback mirror" }] });
  else send({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "no such method" } });
});
`

// newNpmMirrorOf serves pkg at version 1.0.0 with index.js as its bin.
func newNpmMirrorOf(t *testing.T, pkg, indexJS string) *npmMirror {
	m := &npmMirror{}
	manifest := map[string]any{"name": pkg, "version": "1.0.0", "bin": map[string]string{"mirror-probe": "index.js"}}
	pj, _ := json.Marshal(manifest)
	tarball := tgz(t, map[string]string{
		"package.json": string(pj),
		"index.js":     indexJS,
	})
	s512 := sha512.Sum512(tarball)
	s1 := sha1.Sum(tarball)
	var packument []byte
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.auth = append(m.auth, r.Header.Get("Authorization"))
		m.hits = append(m.hits, r.URL.Path)
		m.mu.Unlock()
		switch p := strings.ToLower(r.URL.EscapedPath()); p {
		case "/" + strings.ToLower(strings.ReplaceAll(pkg, "/", "%2f")), "/" + strings.ToLower(pkg):
			w.Header().Set("Content-Type", "application/json")
			w.Write(packument)
		case "/tarballs/probe-1.0.0.tgz":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(tarball)
		default:
			http.NotFound(w, r)
		}
	})
	port := loopbackServer(t, mux)
	m.url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	version := map[string]any{"name": pkg, "version": "1.0.0", "bin": map[string]string{"mirror-probe": "index.js"},
		"dist": map[string]any{"tarball": m.url + "tarballs/probe-1.0.0.tgz", "shasum": hex.EncodeToString(s1[:]),
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:])}}
	packument, _ = json.Marshal(map[string]any{"name": pkg, "dist-tags": map[string]string{"latest": "1.0.0"},
		"versions": map[string]any{"1.0.0": version}})
	return m
}

// noReports fails the test when sbshim reported a block (stderr or audit
// log) or a package manager warned.
func noReports(t *testing.T, stderr string, recs []map[string]any) {
	t.Helper()
	if b := ofType(recs, "blocked"); len(b) != 0 {
		t.Errorf("%d blocked reports, want none: %v", len(b), b)
	}
	for _, bad := range []string{"blocked", "npm warn", "npm WARN", "warning"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr holds %q, want none:\n%s", bad, tail(stderr, 4096))
		}
	}
}

// TestNpxFromLoopbackMirror: the user's ~/.npmrc (hidden from the sandbox)
// names a mirror on loopback, for every package or for a scope, with an
// auth token beside it. `sbshim -- npx -y PKG` fetches from that mirror
// through the proxy, runs the package, and reports nothing; the token
// never reaches the mirror from inside.
func TestNpxFromLoopbackMirror(t *testing.T) {
	npx := tool(t, "npx")
	tool(t, "node")
	const secret = "NPM-MIRROR-TOKEN-SECRET"
	for _, tt := range []struct {
		name, pkg string
		npmrc     func(url string) string
	}{
		{"registry", "sbshim-mirror-probe", func(u string) string { return "registry=" + u + "\n" }},
		{"scope", "@sbshim-test/mirror-probe", func(u string) string { return "@sbshim-test:registry=" + u + "\n" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(t)
			m := newNpmMirror(t, tt.pkg)
			b.mkfile(".npmrc", tt.npmrc(m.url)+"//"+strings.TrimPrefix(m.url, "http://")+":_authToken="+secret+"\nupdate-notifier=false\n")
			b.env = append(b.env, "npm_config_update_notifier=false")
			logPath := filepath.Join(b.root, "npx.jsonl")
			stdout, stderr, code := b.run([]string{"--audit-log", logPath}, npx, "-y", tt.pkg)
			if code != 0 || !strings.Contains(stdout, mirrorMarker) {
				t.Fatalf("npx -y %s: exit %d, stdout %q, stderr:\n%s\nmirror saw %v", tt.pkg, code, stdout, tail(stderr, 4096), m.hits)
			}
			noReports(t, stderr, auditRecords(t, logPath))
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, a := range m.auth {
				if strings.Contains(a, secret) {
					t.Errorf("the mirror got the auth token from inside the sandbox: %q", a)
				}
			}
		})
	}
}

// goModuleZip is a module zip in the goproxy protocol's layout.
func goModuleZip(t *testing.T, mod string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, c := range files {
		w, err := zw.Create(mod + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(c))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGoRunFromLoopbackProxy: with GOPROXY on loopback (set in the host
// environment, as the user would) and no ~/go, `sbshim -- go run
// MODULE@VERSION` builds and runs the module under the default profile
// with zero reports: GOPATH, the caches and Go's telemetry stay in the
// private cache.
func TestGoRunFromLoopbackProxy(t *testing.T) {
	goBin := tool(t, "go")
	const mod, ver, marker = "example.test/srv", "v1.0.0", "hello from the loopback GOPROXY"
	gomod := "module " + mod + "\n\ngo 1.21\n"
	zipData := goModuleZip(t, mod+"@"+ver, map[string]string{
		"go.mod":  gomod,
		"main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(" + fmt.Sprintf("%q", marker+"\n") + ") }\n",
	})
	var mu sync.Mutex
	var hits []string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/" + mod + "/@v/list":
			fmt.Fprintln(w, ver)
		case "/" + mod + "/@v/" + ver + ".info", "/" + mod + "/@latest":
			fmt.Fprintf(w, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, ver)
		case "/" + mod + "/@v/" + ver + ".mod":
			fmt.Fprint(w, gomod)
		case "/" + mod + "/@v/" + ver + ".zip":
			w.Write(zipData)
		default:
			http.NotFound(w, r)
		}
	})
	// Go's HTTP client never uses a proxy for a loopback address: the
	// sandbox's own 127.0.0.1:PORT must lead to the host's.
	port := loopbackServer(t, mux)
	b := newBox(t)
	if _, err := os.Stat(b.path("go")); err == nil {
		t.Fatal("the box's home has a go folder")
	}
	b.env = append(b.env, fmt.Sprintf("GOPROXY=http://127.0.0.1:%d", port), "GONOSUMDB="+mod,
		"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	logPath := filepath.Join(b.root, "go.jsonl")
	stdout, stderr, code := b.run([]string{"--audit-log", logPath}, goBin, "run", mod+"@"+ver)
	if code != 0 || !strings.Contains(stdout, marker) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("go run %s@%s: exit %d, stdout %q, stderr:\n%s\nproxy saw %v", mod, ver, code, stdout, tail(stderr, 4096), hits)
	}
	noReports(t, stderr, auditRecords(t, logPath))
	if _, err := os.Stat(b.path("go")); err == nil {
		t.Error("go run created ~/go on the host")
	}
}

// tree lists the paths under root (relative, sorted); a missing root
// gives nil.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil && os.IsPermission(err) && p != root {
			return nil // another user's folder (/nonexistent made by root): its name is listed
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// TestRegistryDiscoveryLeavesNothing: registry discovery may ask npm (and
// pip) on the host for a default only they know. That leaves no file
// behind — not in the home, not in TMPDIR, not in a fixed fallback home
// such as /nonexistent (which npm running as root creates) — apart from
// sbshim's own state.
func TestRegistryDiscoveryLeavesNothing(t *testing.T) {
	tool(t, "curl")
	tool(t, "npm")
	b := newBox(t)
	tmp := filepath.Join(b.root, "tmpdir")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	b.env = append(b.env, "TMPDIR="+tmp)
	homeBefore := tree(t, b.home)
	nonexistentBefore := tree(t, "/nonexistent")
	// A connection through the proxy makes it build its rules, which is
	// when discovery runs; the fresh cache makes it ask npm.
	for _, argv := range [][]string{{"true"}, {"curl", "-s", "-o", "/dev/null", "http://refused.invalid/"}} {
		if _, stderr, code := b.run(nil, argv...); code != 0 && argv[0] == "true" {
			t.Fatalf("%v: exit %d: %s", argv, code, stderr)
		}
	}
	cache, err := os.ReadFile(b.path(".cache/sbshim/registries.json"))
	if err != nil || !strings.Contains(string(cache), `"npm"`) {
		t.Fatalf("npm was not asked (registries.json %q, %v): the test proves nothing", cache, err)
	}
	var added []string
	for _, p := range tree(t, b.home) {
		if !slices.Contains(homeBefore, p) && p != ".cache" && !strings.HasPrefix(p, ".cache/sbshim") {
			added = append(added, p)
		}
	}
	if len(added) != 0 {
		t.Errorf("new in the home after the sessions: %v", added)
	}
	if left := tree(t, tmp); len(left) > 1 {
		t.Errorf("left in TMPDIR: %v", left[1:])
	}
	if after := tree(t, "/nonexistent"); !slices.Equal(after, nonexistentBefore) {
		t.Errorf("/nonexistent changed: %d entries before, %d after", len(nonexistentBefore), len(after))
	}
}
