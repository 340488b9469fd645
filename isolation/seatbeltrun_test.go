package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// The private $TMP of a session without a mount namespace: a fresh
// folder of its own, made 0700 by the backend and never reused.
func TestPrivateTmpSessionDir(t *testing.T) {
	base := t.TempDir()
	tmp, err := PrivateTmp(base)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tmp) != "tmp" || filepath.Dir(filepath.Dir(tmp)) != base {
		t.Fatalf("PrivateTmp(%q) = %q", base, tmp)
	}
	if other, _ := PrivateTmp(base); other == tmp {
		t.Fatalf("two sessions share %q", tmp)
	}
	dir, err := makeSessionDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, tmp} {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 folder", p, fi.Mode(), err)
		}
	}
	if _, err := makeSessionDir(tmp); err == nil {
		t.Error("a session folder that exists already was reused")
	}
	profile, err := writeProfile(dir, "(version 1)")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(profile) != dir {
		t.Errorf("profile %s: %v %v, want 0600 in %s", profile, fi.Mode(), err, dir)
	}
	if _, err := writeProfile(dir, "(version 1)"); err == nil {
		t.Error("an existing profile file was overwritten")
	}
	// A planted folder is refused, not taken over.
	planted, _ := PrivateTmp(base)
	if err := os.MkdirAll(filepath.Dir(planted), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := makeSessionDir(planted); err == nil {
		t.Error("a planted session folder was taken over")
	}
	if _, err := PrivateTmp("relative"); err == nil {
		t.Error("a relative base was accepted")
	}
}

// Only a $TMP that PrivateTmp made is a session's own: the host's /tmp,
// or any other folder, would be shared with the rest of the host.
func TestSessionDirRefusesShared(t *testing.T) {
	for _, tmp := range []string{
		"/tmp", "/private/tmp", "/tmp/sbshim-0123456789abcdef", "/tmp/x/tmp",
		"/tmp/sbshim-0123/tmp", "/tmp/sbshim-0123456789abcdeg/tmp", "tmp/sbshim-0123456789abcdef/tmp",
		"/tmp/sbshim-0123456789abcdef/tmp/", "/tmp/sbshim-0123456789abcdef/../tmp",
	} {
		if dir, err := sessionDir(tmp); err == nil {
			t.Errorf("sessionDir(%q) = %q, want an error", tmp, dir)
		}
	}
	if dir, err := sessionDir("/var/folders/x/T/sbshim-0123456789abcdef/tmp"); err != nil || dir != "/var/folders/x/T/sbshim-0123456789abcdef" {
		t.Errorf("sessionDir = %q, %v", dir, err)
	}
}

// The command's environment under Seatbelt: scrubbed by the policy as on
// Linux, $TMP private, and in proxy mode every variable pointing at the
// proxy with nothing exempt (the loopback is the host's).
func TestSeatbeltEnv(t *testing.T) {
	tmp := "/var/folders/x/T/sbshim-0123456789abcdef/tmp"
	host := []string{"PATH=/usr/bin:/bin", "HOME=/home/u", "AWS_SECRET_ACCESS_KEY=abc", "TMPDIR=/var/folders/x/T/",
		"TMP=/tmp", "HTTP_PROXY=http://corp:3128", "NO_PROXY=internal", "EDITOR=vi"}
	tests := []struct {
		name string
		mode policy.NetworkMode
		port int
		want map[string]string // "-" for absent
	}{
		{"none", policy.NetNone, 0, map[string]string{
			"PATH": "/usr/bin:/bin", "HOME": "/home/u", "TMPDIR": tmp + "/", "TMP": tmp, "TEMP": tmp,
			"AWS_SECRET_ACCESS_KEY": "-", "EDITOR": "-", "HTTP_PROXY": "http://corp:3128", "NO_PROXY": "internal",
		}},
		{"proxy", policy.NetProxy, 4242, map[string]string{
			"TMPDIR": tmp + "/", "HTTP_PROXY": "http://127.0.0.1:4242", "https_proxy": "http://127.0.0.1:4242",
			"ALL_PROXY": "socks5h://127.0.0.1:4242", "NO_PROXY": "", "no_proxy": "", "AWS_SECRET_ACCESS_KEY": "-",
		}},
		{"host", policy.NetHost, 0, map[string]string{"TMPDIR": tmp + "/", "HTTP_PROXY": "http://corp:3128", "AWS_SECRET_ACCESS_KEY": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := matchPolicy()
			pol.Vars.Tmp = tmp
			pol.Network.Mode = tt.mode
			pol.Env = policy.EnvPolicy{Pass: []string{"PATH", "HOME", "TMPDIR", "TMP", "HTTP_PROXY", "NO_PROXY", "AWS_*"}, Deny: []string{"*SECRET*"}}
			env := seatbeltEnv(pol, host, tt.port, nil)
			if !slices.IsSorted(env) {
				t.Errorf("not sorted: %q", env)
			}
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := got[k]; dup {
					t.Errorf("%s set twice", k)
				}
				got[k] = v
			}
			for k, want := range tt.want {
				v, ok := got[k]
				switch {
				case want == "-" && ok:
					t.Errorf("%s=%q, want it absent", k, v)
				case want != "-" && (!ok || v != want):
					t.Errorf("%s=%q (set %v), want %q", k, v, ok, want)
				}
			}
		})
	}
}

// The trial run of sandbox-exec: nested only for sandbox_apply's EPERM
// (exit 71), any other failure a refusal with sandbox-exec's message.
func TestJudgeSandboxExec(t *testing.T) {
	tests := []struct {
		code    int
		stderr  string
		want    sandboxExecVerdict
		wantMsg string
	}{
		{0, "", sandboxExecOK, ""},
		{71, "sandbox-exec: sandbox_apply: Operation not permitted\n", sandboxExecNested, "sandbox-exec: sandbox_apply: Operation not permitted"},
		{71, "sandbox-exec: execvp() of '/usr/bin/true' failed: Operation not permitted\n", sandboxExecRefused, "sandbox-exec: execvp() of '/usr/bin/true' failed: Operation not permitted"},
		{65, "sandbox-exec: unbound variable: foo\n", sandboxExecRefused, "sandbox-exec: unbound variable: foo"},
		{1, "", sandboxExecRefused, "sandbox-exec exited with status 1"},
		{134, "", sandboxExecRefused, "sandbox-exec exited with status 134"},
	}
	for _, tt := range tests {
		got, msg := judgeSandboxExec(tt.code, tt.stderr)
		if got != tt.want || msg != tt.wantMsg {
			t.Errorf("judgeSandboxExec(%d, %q) = %v, %q; want %v, %q", tt.code, tt.stderr, got, msg, tt.want, tt.wantMsg)
		}
	}
}

// Each Seatbelt operation becomes the Event Linux gives for the attempt.
func TestDenialEvent(t *testing.T) {
	rules := []string{"default", "filesystem.denyRead ~/.ssh"}
	at := time.Date(2026, 3, 2, 14, 5, 9, 0, time.UTC)
	tests := []struct {
		op, target   string
		rule         int
		kind, evOp   string
		report       bool
		wantRule     string
		wantTargetEq string
	}{
		{"file-read-data", "/u/.ssh/id_rsa", 1, "file", "read", true, "filesystem.denyRead ~/.ssh", ""},
		{"file-read-xattr", "/u/.ssh/id_rsa", 1, "file", "read", true, "filesystem.denyRead ~/.ssh", ""},
		{"file-read*", "/u/.ssh/id_rsa", 1, "file", "read", true, "filesystem.denyRead ~/.ssh", ""},
		{"file-read-metadata", "/u/.ssh/id_rsa", 1, "", "", false, "", ""},
		{"file-write-create", "/w/.git/hooks/x", 0, "file", "create", true, "default", ""},
		{"file-write-data", "/u/.zshrc", 0, "file", "write", true, "default", ""},
		{"file-write-mode", "/u/.zshrc", 0, "file", "write", true, "default", ""},
		{"file-write-unlink", "/w/.git", 0, "file", "delete", true, "default", ""},
		{"file-link", "/w/x", 0, "file", "link", true, "default", ""},
		{"process-exec*", "/w/.git/hooks/x", 0, "file", "exec", true, "default", ""},
		{"process-exec", "/w/.git/hooks/x", 0, "file", "exec", true, "default", ""},
		{"file-map-executable", "/u/.ssh/evil.dylib", 1, "file", "exec", true, "filesystem.denyRead ~/.ssh", ""},
		{"network-outbound", "1.2.3.4:443", 0, "net", "connect", true, "default", ""},
		{"network-outbound", "/private/var/run/docker.sock", 0, "net", "connect", true, "default", ""},
		{"network-bind", "127.0.0.1:8080", 0, "net", "bind", true, "default", ""},
		{"mach-lookup", "com.apple.pasteboard.1", 0, "syscall", "mach-lookup", true, "default", ""},
		{"mach-lookup", "com.apple.diagnosticd", 0, "", "", false, "", ""},
		{"mach-lookup", "com.apple.analyticsd", 0, "", "", false, "", ""},
		{"network-outbound", "/private/var/run/mDNSResponder", 0, "net", "dns", true, "default", ""},
		{"network-outbound", "/var/run/mDNSResponder", 0, "net", "dns", true, "default", ""},
		{"signal", "target:1", 7, "syscall", "signal", true, "seatbelt: not allowed by the profile", ""},
		{"", "x(1) deny(1) a-b c", -1, "syscall", "seatbelt", true, "seatbelt: not allowed by the profile", ""},
	}
	for _, tt := range tests {
		d := seatbelt.Denial{Time: at, PID: 42, Process: "node", Operation: tt.op, Target: tt.target, Rule: tt.rule, Repeats: 1}
		ev, ok := denialEvent(d, rules)
		if ok != tt.report {
			t.Errorf("%s: reported %v, want %v", tt.op, ok, tt.report)
			continue
		}
		if !ok {
			continue
		}
		want := Event{Time: at, Kind: tt.kind, Op: tt.evOp, Target: tt.target, PID: 42, Exe: "node", Rule: tt.wantRule, Layer: "seatbelt", Errno: "EPERM"}
		if ev != want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.op, ev, want)
		}
	}
}

// collect gathers reported Events.
type collect struct {
	mu  sync.Mutex
	evs []Event
}

func (c *collect) add(ev Event) { c.mu.Lock(); c.evs = append(c.evs, ev); c.mu.Unlock() }
func (c *collect) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.evs {
		out = append(out, fmt.Sprintf("%s %s %s pid=%d exe=%s rule=%s", ev.Kind, ev.Op, ev.Target, ev.PID, ev.Exe, ev.Rule))
	}
	return out
}

// The watcher reads a stream as `log stream` writes it: the banner, this
// session's denials (one report per attempt), another session's, a
// process's own forged line, a metadata read, and a line cut short.
func TestLogWatcherStream(t *testing.T) {
	f, err := os.Open("seatbelt/testdata/stream.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := make([]string, 16)
	for i := range rules {
		rules[i] = fmt.Sprintf("rule%d", i)
	}
	var c collect
	w := newLogWatcher("sbshim-5f0c2a9e41d7b386", rules, c.add)
	w.run(f)
	want := []string{
		"file read /Users/u/.ssh/id_rsa pid=4711 exe=cat rule=rule3",
		"file create /Users/u/proj/.git/hooks/pre-commit pid=4712 exe=node rule=rule7",
		"net connect /private/var/run/docker.sock pid=4712 exe=node rule=rule9",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file delete /Users/u/proj/.git pid=4720 exe=python3.13 rule=rule12",
		"file exec /Users/u/proj/.git/hooks/post-checkout pid=4730 exe=sh rule=rule15",
		"syscall mach-lookup com.apple.pasteboard.1 pid=4712 exe=node rule=rule0",
	}
	if got := c.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !c.evs[0].Time.Equal(time.Date(2026, 3, 2, 22, 5, 9, 123456000, time.UTC)) {
		t.Errorf("time %v, want the log's", c.evs[0].Time)
	}
}

// The same attempt logged again at once is one report; logged again
// later, or by another process, it is another attempt.
func TestLogWatcherDedup(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	line := func(ts, pid, op, path string) string {
		return fmt.Sprintf(`{"eventType":"logEvent","processID":0,"processImagePath":"/kernel","timestamp":"2026-03-02 14:05:%s-0800","eventMessage":"Sandbox: node(%s) deny(1) %s %s\n%s"}`,
			ts, pid, op, path, seatbelt.DenyMessage(tag, 1))
	}
	stream := strings.Join([]string{
		line("09.000000", "1", "file-read-data", "/u/.ssh/a"),
		line("09.000300", "1", "file-read-data", "/u/.ssh/a"), // realpath's readlink, then the open
		line("09.000400", "2", "file-read-data", "/u/.ssh/a"), // another process
		line("09.000500", "1", "file-write-data", "/u/.ssh/a"),
		line("10.000000", "1", "file-read-data", "/u/.ssh/a"), // a second later: again
	}, "\n") + "\n"
	var c collect
	w := newLogWatcher(tag, []string{"r0", "r1"}, c.add)
	w.run(strings.NewReader(stream))
	want := []string{
		"file read /u/.ssh/a pid=1 exe=node rule=r1",
		"file read /u/.ssh/a pid=2 exe=node rule=r1",
		"file write /u/.ssh/a pid=1 exe=node rule=r1",
		"file read /u/.ssh/a pid=1 exe=node rule=r1",
	}
	if got := c.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Readiness: a stream that writes its banner is live; one that ends
// without a line (`log` refused: "Must be admin") never is. The drain
// at exit returns once the stream has ended, with every line reported.
func TestLogWatcherReadyAndDrain(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	pr, pw := io.Pipe()
	var c collect
	w := newLogWatcher(tag, []string{"r0"}, c.add)
	go w.run(pr)
	go func() {
		fmt.Fprintf(pw, "Filtering the log data using \"%s\"\n", logPredicate(tag))
	}()
	if !w.waitReady(time.Hour) {
		t.Fatal("not ready after the banner")
	}
	fmt.Fprintf(pw, `{"eventType":"logEvent","processID":0,"eventMessage":"Sandbox: cat(7) deny(1) file-read-data /x\n%s"}`+"\n", seatbelt.DenyMessage(tag, 0))
	pw.Close()
	w.drain(time.Hour, time.Hour)
	if got := c.lines(); len(got) != 1 || got[0] != "file read /x pid=7 exe=cat rule=r0" {
		t.Errorf("after the drain: %q", got)
	}

	refused := newLogWatcher(tag, nil, nil)
	go refused.run(strings.NewReader(""))
	if refused.waitReady(time.Hour) {
		t.Error("a stream that ended without a line is ready")
	}
}

// A line over the bound is skipped whole, and the next one still read.
func TestReadLineLong(t *testing.T) {
	in := strings.Repeat("x", 100) + "\nshort\n" + strings.Repeat("y", 10) + "\nlast"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		line, err := readLine(br, 50)
		if line != nil {
			got = append(got, string(line))
		}
		if err != nil {
			break
		}
	}
	want := []string{"", "short", strings.Repeat("y", 10), "last"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The proxy of a sandbox that shares the host's loopback refuses what
// the policy does not allow and reports it as on Linux.
func TestSharedProxyRefusal(t *testing.T) {
	pol := matchPolicy()
	pol.Network.Mode = policy.NetProxy
	var c collect
	sp, err := startSharedProxy(Config{Policy: pol, Report: c.add}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.stop()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sp.port))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT blocked.test:443 HTTP/1.1\r\nHost: blocked.test:443\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.Contains(status, "403") {
		t.Fatalf("proxy answered %q, %v; want 403", status, err)
	}
	sp.stop()
	evs := c.evs
	if len(evs) != 1 || evs[0].Kind != "net" || evs[0].Op != "connect" || evs[0].Target != "blocked.test:443" || evs[0].Layer != ProxyLayer {
		t.Errorf("events %+v", evs)
	}
}

// The command is looked up as sandbox-exec's execvp will: on the
// scrubbed environment's PATH (not sbshim's), relative names from the
// working directory; a missing one is 127, one that cannot run 126.
func TestLookPathIn(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(bin, "adir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range map[string]os.FileMode{"tool": 0o755, "plain": 0o644} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=/h", "PATH=" + filepath.Join(dir, "nowhere") + ":" + bin}
	tests := []struct {
		name     string
		env      []string
		wantPath string
		wantCode int
	}{
		{"tool", env, filepath.Join(bin, "tool"), 0},
		{"plain", env, "", ExitNotExecutable},
		{"adir", env, "", ExitNotExecutable},
		{"missing", env, "", ExitNotFound},
		{"tool", []string{"PATH=/nonexistent"}, "", ExitNotFound}, // sbshim's own PATH does not count
		{"bin/tool", env, "bin/tool", 0},
		{"./bin/plain", env, "", ExitNotExecutable},
		{filepath.Join(bin, "tool"), nil, filepath.Join(bin, "tool"), 0},
		{filepath.Join(bin, "missing"), nil, "", ExitNotFound},
	}
	for _, tt := range tests {
		got, err := lookPathIn(tt.name, tt.env, dir)
		code := 0
		if err != nil {
			code = ExitCode(err)
		}
		if code != tt.wantCode || (err == nil && got != tt.wantPath) {
			t.Errorf("lookPathIn(%q) = %q, %v (code %d); want %q, code %d", tt.name, got, err, code, tt.wantPath, tt.wantCode)
		}
	}
}

// A live stream that ends while the command runs is said (lost), never
// silent; one that sbshim ends itself, or one that never started, is not.
func TestLogWatcherLost(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		stopped  bool
		wantLost bool
	}{
		{"ended while running", "Filtering the log data\n", false, true},
		{"ended by sbshim", "Filtering the log data\n", true, false},
		{"never started", "", false, false},
	}
	for _, tt := range tests {
		lost := false
		w := newLogWatcher("sbshim-0123456789abcdef", nil, nil)
		w.lost = func() { lost = true }
		if tt.stopped {
			w.stop()
		}
		w.run(strings.NewReader(tt.stream))
		if lost != tt.wantLost {
			t.Errorf("%s: lost %v, want %v", tt.name, lost, tt.wantLost)
		}
	}
}

// The launch follows the trial run: under sandbox-exec with the command's
// argv byte for byte after "--"; nested, the command by itself with the
// warning, or nothing with --strict; a refused profile, nothing (125,
// sandbox-exec's message). Never the command unsandboxed because the
// profile failed.
func TestPlanSeatbelt(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir}
	argv := []string{"tool", "-f", "--", "a b", "\xff\xfe", "", "$HOME", "-p"}
	const profile = "/s/sbshim-0123456789abcdef/profile.sb"
	nestedMsg := "sandbox-exec: sandbox_apply: Operation not permitted"
	tests := []struct {
		name      string
		strict    bool
		verdict   sandboxExecVerdict
		msg       string
		wantPath  string
		wantArgs  []string
		seatbelt  bool
		wantWarn  bool
		wantErr   string
		wantCode  int
		wantLayer string
	}{
		{name: "applies", verdict: sandboxExecOK, wantPath: "/usr/bin/sandbox-exec",
			wantArgs: append([]string{"/usr/bin/sandbox-exec", "-f", profile, "--"}, argv...), seatbelt: true},
		{name: "applies, strict", strict: true, verdict: sandboxExecOK, wantPath: "/usr/bin/sandbox-exec",
			wantArgs: append([]string{"/usr/bin/sandbox-exec", "-f", profile, "--"}, argv...), seatbelt: true},
		{name: "nested", verdict: sandboxExecNested, msg: nestedMsg, wantPath: tool, wantArgs: argv, wantWarn: true},
		{name: "nested, strict", strict: true, verdict: sandboxExecNested, msg: nestedMsg,
			wantErr: "--strict refuses", wantCode: ExitSetup, wantLayer: "seatbelt"},
		{name: "refused", verdict: sandboxExecRefused, msg: "sandbox-exec: unbound variable: x",
			wantErr: "sandbox-exec refused the profile: sandbox-exec: unbound variable: x", wantCode: ExitSetup, wantLayer: "seatbelt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Argv: argv, Strict: tt.strict, Dir: dir}
			plan, err := planSeatbelt(cfg, "/usr/bin/sandbox-exec", env, profile, tt.verdict, tt.msg)
			if tt.wantErr != "" {
				var se *SetupError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &se) || se.Code != tt.wantCode || se.Layer != tt.wantLayer {
					t.Fatalf("err %v, want a %s SetupError %d saying %q", err, tt.wantLayer, tt.wantCode, tt.wantErr)
				}
				if tt.verdict == sandboxExecNested && !strings.Contains(err.Error(), nestedMsg) {
					t.Errorf("the refusal does not say why: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.path != tt.wantPath || !slices.Equal(plan.args, tt.wantArgs) || plan.seatbelt != tt.seatbelt {
				t.Errorf("plan %q %q seatbelt %v; want %q %q %v", plan.path, plan.args, plan.seatbelt, tt.wantPath, tt.wantArgs, tt.seatbelt)
			}
			if (plan.warn != "") != tt.wantWarn || tt.wantWarn && (!strings.Contains(plan.warn, nestedMsg) || strings.Contains(plan.warn, "\n")) {
				t.Errorf("warning %q, want one line naming %q: %v", plan.warn, nestedMsg, tt.wantWarn)
			}
		})
	}
}

// sbshim's marker coming through shows the stream delivers the session's
// messages; a stream that ends first never marks, and the marker is no
// denial.
func TestLogWatcherMarker(t *testing.T) {
	tag := "sbshim-0123456789abcdef"
	marker := fmt.Sprintf(`{"eventType":"logEvent","processID":812,"processImagePath":"/usr/bin/logger","eventMessage":%q}`, readyMarker(tag))
	tests := []struct {
		name   string
		stream string
		want   bool
	}{
		{"marker", "Filtering the log data\n" + marker + "\n", true},
		{"banner only", "Filtering the log data\n", false},
		{"another session's marker", "Filtering\n" + strings.ReplaceAll(marker, tag, "sbshim-aaaaaaaaaaaaaaaa") + "\n", false},
	}
	for _, tt := range tests {
		var c collect
		w := newLogWatcher(tag, nil, c.add)
		w.run(strings.NewReader(tt.stream))
		if got := w.waitMarked(time.Hour); got != tt.want || len(c.evs) != 0 {
			t.Errorf("%s: marked %v (events %v), want %v and no event", tt.name, got, c.evs, tt.want)
		}
	}
}

// Without a mount namespace the user's temporary folder is the host's:
// the profile hides it but for this session's $TMP (and any other
// allowWrite tree in it), so that no session reads another's $TMP or
// other programs' temporary files. An odd $TMPDIR that holds the home,
// the workspace or the working directory is left visible, with a reason.
func TestHideTempFolder(t *testing.T) {
	base := "/private/var/folders/xx/T"
	session := base + "/sbshim-0123456789abcdef"
	own := session + "/tmp"
	pol := matchPolicy()
	pol.Vars.Tmp = own
	pol.Filesystem.AllowWrite = []string{"/home/u/proj", own, base + "/shared-build"}
	before := slices.Clone(pol.Filesystem.DenyRead)
	hidden, why := hideTempFolder(pol, session, "/home/u/proj")
	if why != "" {
		t.Fatalf("not hidden: %s", why)
	}
	for path, want := range map[string]bool{
		own + "/x.json":                   true,
		own:                               true,
		session:                           true, // on the way to $TMP
		base:                              true, // idem
		base + "/shared-build/out":        true, // another allowWrite tree
		base + "/sbshim-aaaaaaaaaaaaaaaa": false,
		base + "/sbshim-aaaaaaaaaaaaaaaa/tmp/secret": false,
		session + "/profile.sb":                      false,
		base + "/com.apple.x/cache.db":               false,
		"/home/u/proj/a":                             true,
		"/home/u/.ssh/id_rsa":                        false,
	} {
		if _, ok := hidden.CanRead(path); ok != want {
			t.Errorf("CanRead(%s) = %v, want %v", path, ok, want)
		}
	}
	if !slices.Equal(pol.Filesystem.DenyRead, before) || slices.Contains(pol.Vars.PrivateDirs, base) {
		t.Error("the session's own policy was changed")
	}
	hidden.Network.Mode = policy.NetNone
	prof, err := seatbelt.Generate(hidden, seatbelt.Options{Tag: "sbshim-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(prof.Rules, "filesystem.denyRead "+base) {
		t.Errorf("no profile rule hides %s: %q", base, prof.Rules)
	}

	for _, tt := range []struct{ home, ws, wd, session string }{
		{"/private/var/folders/xx/T/home", "/w", "/w", session},
		{"/home/u", "/private/var/folders/xx/T/proj", "/w", session},
		{"/home/u", "/w", "/private/var/folders/xx/T/run", session},
		{"/home/u", "/w", "/w", "/sbshim-0123456789abcdef"},
	} {
		p := matchPolicy()
		p.Vars.Home, p.Vars.Workspace = tt.home, tt.ws
		got, why := hideTempFolder(p, tt.session, tt.wd)
		if got != p || why == "" {
			t.Errorf("%+v: hidden (%q), want left visible with a reason", tt, why)
		}
	}
}
