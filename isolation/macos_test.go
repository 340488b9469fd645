//go:build linux || darwin

package isolation

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// Stand-ins for macOS's programs, so that the backend's process glue runs
// here as it does on a Mac: sandbox-exec reads the profile and runs the
// command (with the session's tag, from the profile, in SB_TAG, as the
// kernel would put it in each denial, and a copy of the profile in
// profile.sb), or fails as the file "mode" next to it says; log streams
// what is written to the FIFO "feed" after its banner, or refuses as a
// non-administrator's; logger writes a record to the feed.
const (
	fakeSandboxExec = `#!/bin/sh
d=$(dirname "$0")
[ "$1" = "-f" ] || { echo "usage" >&2; exit 64; }
profile=$2
shift 2
[ "$1" = "--" ] && shift
[ -r "$profile" ] || { echo "sandbox-exec: $profile: cannot read" >&2; exit 65; }
case "$(cat "$d/mode")" in
nested) echo "sandbox-exec: sandbox_apply: Operation not permitted" >&2; exit 71 ;;
refuse) echo "sandbox-exec: unbound variable: x" >&2; exit 65 ;;
esac
cp "$profile" "$d/profile.sb"
SB_TAG=$(sed -n 's/.*(with message "\([^"#]*\)#0").*/\1/p' "$profile" | head -n 1)
export SB_TAG
exec "$@"
`
	fakeLog = `#!/bin/sh
d=$(dirname "$0")
printf '%s\n' "$5" > "$d/predicate"
if [ "$(cat "$d/logmode")" = refuse ]; then
	echo "log: Must be admin to run 'stream' command" >&2
	exit 64
fi
printf 'Filtering the log data using "%s"\n' "$5"
exec 3<>"$d/feed"
exec cat <&3
`
	fakeLogger = `#!/bin/sh
d=$(dirname "$0")
printf '{"eventType":"logEvent","processID":%d,"processImagePath":"/usr/bin/logger","eventMessage":"%s"}\n' $$ "$2" > "$d/feed"
`
	// server is the sandboxed command: it says how it was started,
	// makes a denial as the kernel logs one, leaves a process behind in
	// its group, and ends as $1 says.
	server = `#!/bin/sh
out=$SB_OUT_DIR
for a in "$@"; do printf '%s\0' "$a"; done > "$out/args"
env > "$out/env"
[ -n "$SB_TAG" ] && echo seatbelt > "$out/how" || echo direct > "$out/how"
echo x > "$TMPDIR/made" && echo ok > "$out/tmp"
if [ -n "$SB_TAG" ] && [ "$SB_LOGMODE" = ok ]; then
	printf '{"eventType":"logEvent","processID":0,"processImagePath":"/kernel","timestamp":"%s","eventMessage":"Sandbox: cat(4711) deny(1) file-read-data /home/u/.ssh/id_rsa\\n%s#0"}\n' \
		"$(date '+%Y-%m-%d %H:%M:%S.000000%z')" "$SB_TAG" > "$SB_FEED"
fi
sleep 1000 &
echo $! > "$out/straggler"
case "$1" in
signal) kill -TERM $$ ;;
*) exit "$1" ;;
esac
`
)

// fakeMac writes the stand-ins and returns their tools and folder.
func fakeMac(t *testing.T, mode, logmode string) (seatbelt.Tools, string) {
	t.Helper()
	d := t.TempDir()
	for name, text := range map[string]string{"sandbox-exec": fakeSandboxExec, "log": fakeLog, "logger": fakeLogger, "server": server} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{"mode": mode, "logmode": logmode} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(d, "feed"), 0o600); err != nil {
		t.Fatal(err)
	}
	return seatbelt.Tools{SandboxExec: filepath.Join(d, "sandbox-exec"), Log: filepath.Join(d, "log"),
		Logger: filepath.Join(d, "logger"), True: "/bin/true"}, d
}

// events gathers Events and warnings.
type recorder struct {
	mu    sync.Mutex
	evs   []Event
	warns []string
}

func (r *recorder) event(ev Event)  { r.mu.Lock(); r.evs = append(r.evs, ev); r.mu.Unlock() }
func (r *recorder) warn(msg string) { r.mu.Lock(); r.warns = append(r.warns, msg); r.mu.Unlock() }

// The macOS backend's process glue, run with stand-ins for macOS's
// programs: the command's argv byte for byte, its environment scrubbed
// with a private $TMP that exists while it runs and is gone after, its
// exit status (128+N for a signal), what it leaves in its process group
// ended, the kernel's denials reported with the log's time and the
// profile's rule; nested: the command alone with a warning, or refused
// under --strict; a refused profile or a missing command: nothing run.
func TestStartSeatbelt(t *testing.T) {
	tests := []struct {
		name       string
		mode       string // the stand-in sandbox-exec's: ok, nested, refuse
		logmode    string // the stand-in log's: ok, refuse
		strict     bool
		arg        string // the server's first argument: its exit status, or "signal"
		command    string // "" for the server
		wantCode   int
		wantSetup  string // a SetupError saying this, code wantCode
		wantHow    string // seatbelt, direct
		wantEvents int
		wantWarn   string
	}{
		{name: "runs under sandbox-exec", mode: "ok", logmode: "ok", arg: "3", wantCode: 3, wantHow: "seatbelt", wantEvents: 1},
		{name: "ends by a signal", mode: "ok", logmode: "ok", arg: "signal", wantCode: 128 + 15, wantHow: "seatbelt", wantEvents: 1},
		{name: "nested", mode: "nested", logmode: "ok", arg: "0", wantCode: 0, wantHow: "direct", wantWarn: "another Seatbelt sandbox"},
		{name: "nested, strict", mode: "nested", logmode: "ok", strict: true, arg: "0", wantCode: ExitSetup, wantSetup: "--strict refuses"},
		{name: "profile refused", mode: "refuse", logmode: "ok", arg: "0", wantCode: ExitSetup, wantSetup: "sandbox-exec refused the profile: sandbox-exec: unbound variable: x"},
		{name: "log refused", mode: "ok", logmode: "refuse", arg: "0", wantCode: 0, wantHow: "seatbelt", wantWarn: "Must be admin"},
		{name: "log refused, strict", mode: "ok", logmode: "refuse", strict: true, arg: "0", wantCode: ExitSetup, wantSetup: "Must be admin"},
		{name: "command not found", mode: "ok", logmode: "ok", command: "no-such-command-here", wantCode: ExitNotFound, wantSetup: "command not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, fake := fakeMac(t, tt.mode, tt.logmode)
			out := t.TempDir()
			tmp, err := PrivateTmp(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			pol := matchPolicy()
			pol.Network.Mode = policy.NetNone
			pol.Vars.Tmp = tmp
			pol.Env = policy.EnvPolicy{Pass: []string{"PATH", "SB_*"}, Deny: []string{"*SECRET*"}}
			t.Setenv("SB_OUT_DIR", out)
			t.Setenv("SB_FEED", filepath.Join(fake, "feed"))
			t.Setenv("SB_SECRET_TOKEN", "hunter2")
			t.Setenv("SB_LOGMODE", tt.logmode)
			argv := []string{filepath.Join(fake, "server"), tt.arg, "a b", "-f", "--", "", "\xff$HOME"}
			if tt.command != "" {
				argv = []string{tt.command}
			}
			var rec recorder
			p, err := startSeatbelt(Config{Policy: pol, Argv: argv, Dir: out, Strict: tt.strict, Report: rec.event, Warn: rec.warn}, tools, pty.Open)
			if tt.wantSetup != "" {
				var se *SetupError
				if err == nil || !errors.As(err, &se) || se.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantSetup) {
					t.Fatalf("err %v, want a SetupError %d saying %q", err, tt.wantCode, tt.wantSetup)
				}
				if _, err := os.Stat(filepath.Join(out, "how")); err == nil {
					t.Error("the command ran")
				}
				if _, err := os.Stat(filepath.Dir(tmp)); err == nil {
					t.Error("the session folder is left behind")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			code, err := p.Wait()
			if err != nil || code != tt.wantCode {
				t.Fatalf("Wait = %d, %v; want %d", code, err, tt.wantCode)
			}
			if how, _ := os.ReadFile(filepath.Join(out, "how")); strings.TrimSpace(string(how)) != tt.wantHow {
				t.Errorf("ran %q, want %s", how, tt.wantHow)
			}
			if p.Layers().Seatbelt != (tt.wantHow == "seatbelt") {
				t.Errorf("layers %+v", p.Layers())
			}
			if p.sp.Nested() != (tt.mode == "nested") || p.sp.Reporting() != (tt.wantHow == "seatbelt" && tt.logmode == "ok") {
				t.Errorf("nested %v, reporting %v", p.sp.Nested(), p.sp.Reporting())
			}
			args, _ := os.ReadFile(filepath.Join(out, "args"))
			if want := strings.Join(argv[1:], "\x00") + "\x00"; string(args) != want {
				t.Errorf("argv %q, want %q", args, want)
			}
			env, _ := os.ReadFile(filepath.Join(out, "env"))
			if !strings.Contains(string(env), "TMPDIR="+tmp+"/\n") || strings.Contains(string(env), "hunter2") {
				t.Errorf("environment:\n%s", env)
			}
			if ok, _ := os.ReadFile(filepath.Join(out, "tmp")); string(ok) != "ok\n" {
				t.Error("the private $TMP was not there while the command ran")
			}
			if _, err := os.Stat(filepath.Dir(tmp)); err == nil {
				t.Error("the session folder is left behind")
			}
			if pidText, err := os.ReadFile(filepath.Join(out, "straggler")); err == nil {
				pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
				if !dies(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("process %d of the command's group outlived it", pid)
				}
			} else {
				t.Error(err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.evs) != tt.wantEvents {
				t.Fatalf("events %+v, want %d", rec.evs, tt.wantEvents)
			}
			for _, ev := range rec.evs {
				if ev.Kind != "file" || ev.Op != "read" || ev.Target != "/home/u/.ssh/id_rsa" || ev.PID != 4711 || ev.Exe != "cat" ||
					ev.Rule != seatbelt.RuleDefault || ev.Layer != SeatbeltLayer || ev.Time.IsZero() || time.Since(ev.Time) > time.Hour {
					t.Errorf("event %+v", ev)
				}
			}
			warned := strings.Join(rec.warns, "\n")
			if tt.wantWarn != "" && !strings.Contains(warned, tt.wantWarn) || tt.wantWarn == "" && warned != "" {
				t.Errorf("warnings %q, want %q", warned, tt.wantWarn)
			}
			if tt.wantHow == "seatbelt" && tt.logmode == "ok" {
				pred, _ := os.ReadFile(filepath.Join(fake, "predicate"))
				if !strings.HasPrefix(string(pred), `eventMessage CONTAINS "sbshim-`) {
					t.Errorf("predicate %q", pred)
				}
			}
		})
	}
}

// dies says whether pid ends: SIGKILL is delivered when the kernel gets
// to it, not when kill(2) returns; ten seconds is ample for that.
func dies(pid int) bool {
	for range 1000 {
		if !alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// alive says whether pid is a process that has not ended (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
