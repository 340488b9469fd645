//go:build linux || darwin

package seatbelt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Stand-ins for macOS's programs as Probe runs them: sandbox-exec applies
// an inline profile (-p), or fails as $1 of the generated script says;
// log streams (a banner, then nothing) or refuses as a non-administrator's.
const (
	probeSandboxExecText = `#!/bin/sh
[ "$1" = "-p" ] || { echo "usage" >&2; exit 64; }
case "%s" in
nested) echo "sandbox-exec: sandbox_apply: Operation not permitted" >&2; exit 71 ;;
refuse) echo "sandbox-exec: something else" >&2; exit 65 ;;
esac
shift 2
[ "$1" = "--" ] && shift
exec "$@"
`
	probeLogText = `#!/bin/sh
[ "%s" = refuse ] && { echo "log: Must be admin to run 'stream' command" >&2; exit 64; }
echo "Filtering the log data using \"$5\""
exec sleep 1000
`
)

// doctor's checks on macOS: sandbox-exec there and applying profiles, or
// missing, nested or failing, each with what to do; the system log
// readable, or not, with what that means for the reports.
func TestProbe(t *testing.T) {
	tests := []struct {
		name, sandboxExec, log string // the stand-ins' modes; sandboxExec "missing" for none
		wantSeatbelt, wantLog  bool
		wantDetail, wantFix    string // in the seatbelt check
	}{
		{name: "all there", sandboxExec: "ok", log: "ok", wantSeatbelt: true, wantLog: true, wantDetail: "applies profiles"},
		{name: "nested", sandboxExec: "nested", log: "ok", wantLog: true, wantDetail: "inside another Seatbelt sandbox", wantFix: "--strict refuses"},
		{name: "refused", sandboxExec: "refuse", log: "ok", wantLog: true, wantDetail: "sandbox-exec: something else"},
		{name: "missing", sandboxExec: "missing", log: "ok", wantLog: true, wantDetail: "no such file", wantFix: "runs nothing without it"},
		{name: "no log access", sandboxExec: "ok", log: "refuse", wantSeatbelt: true, wantDetail: "applies profiles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			tools := Tools{SandboxExec: filepath.Join(d, "sandbox-exec"), Log: filepath.Join(d, "log"),
				Logger: filepath.Join(d, "no-logger"), True: "/bin/true"}
			scripts := map[string]string{tools.Log: strings.Replace(probeLogText, "%s", tt.log, 1)}
			if tt.sandboxExec != "missing" {
				scripts[tools.SandboxExec] = strings.Replace(probeSandboxExecText, "%s", tt.sandboxExec, 1)
			}
			for path, text := range scripts {
				if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			checks := Probe(tools)
			if len(checks) != 2 || checks[0].Layer != "seatbelt" || checks[1].Layer != "reports" {
				t.Fatalf("checks %+v", checks)
			}
			sb, lg := checks[0], checks[1]
			if sb.Available != tt.wantSeatbelt || !strings.Contains(sb.Detail, tt.wantDetail) || !strings.Contains(sb.Fix, tt.wantFix) {
				t.Errorf("seatbelt check %+v, want available %v, detail %q, fix %q", sb, tt.wantSeatbelt, tt.wantDetail, tt.wantFix)
			}
			if lg.Available != tt.wantLog || !tt.wantLog && (!strings.Contains(lg.Detail, "Must be admin") || lg.Fix == "") {
				t.Errorf("reports check %+v, want available %v", lg, tt.wantLog)
			}
		})
	}
}
