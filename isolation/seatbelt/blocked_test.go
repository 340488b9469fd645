package seatbelt

import (
	"testing"
	"time"
)

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
		d := Denial{Time: at, PID: 42, Process: "node", Operation: tt.op, Target: tt.target, Rule: tt.rule, Repeats: 1}
		ev, ok := blocked(d, rules)
		if ok != tt.report {
			t.Errorf("%s: reported %v, want %v", tt.op, ok, tt.report)
			continue
		}
		if !ok {
			continue
		}
		want := Blocked{Time: at, Kind: tt.kind, Op: tt.evOp, Target: tt.target, PID: 42, Exe: "node", Rule: tt.wantRule, Errno: "EPERM"}
		if ev != want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.op, ev, want)
		}
	}
}
