package seatbelt

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

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
	// The exit status each kind of Error calls for, as a shell's.
	exitCode := map[ErrorKind]int{ErrSetup: 125, ErrNotExecutable: 126, ErrNotFound: 127}
	tests := []struct {
		name     string
		env      []string
		wantPath string
		wantCode int
	}{
		{"tool", env, filepath.Join(bin, "tool"), 0},
		{"plain", env, "", 126},
		{"adir", env, "", 126},
		{"missing", env, "", 127},
		{"tool", []string{"PATH=/nonexistent"}, "", 127}, // sbshim's own PATH does not count
		{"bin/tool", env, "bin/tool", 0},
		{"./bin/plain", env, "", 126},
		{filepath.Join(bin, "tool"), nil, filepath.Join(bin, "tool"), 0},
		{filepath.Join(bin, "missing"), nil, "", 127},
		// A PATH entry that is a file, not a folder, holds nothing.
		{"missing", []string{"PATH=" + filepath.Join(bin, "tool") + ":" + bin}, "", 127},
		{"tool", []string{"PATH=" + filepath.Join(bin, "plain") + ":" + bin}, filepath.Join(bin, "tool"), 0},
	}
	for _, tt := range tests {
		got, err := lookPathIn(tt.name, tt.env, dir)
		code := 0
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("lookPathIn(%q): %v is no *Error", tt.name, err)
			}
			code = exitCode[se.Kind]
		}
		if code != tt.wantCode || (err == nil && got != tt.wantPath) {
			t.Errorf("lookPathIn(%q) = %q, %v (code %d); want %q, code %d", tt.name, got, err, code, tt.wantPath, tt.wantCode)
		}
	}
}

// The launch follows the trial run: under sandbox-exec with the command's
// argv byte for byte after "--"; nested, the command by itself with the
// warning, or nothing with --strict; a refused profile, nothing (125,
// sandbox-exec's message). Never the command unsandboxed because the
// profile failed.
func TestPlanLaunch(t *testing.T) {
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
		wantKind  ErrorKind
		wantLayer string
	}{
		{name: "applies", verdict: sandboxExecOK, wantPath: "/usr/bin/sandbox-exec",
			wantArgs: append([]string{"/usr/bin/sandbox-exec", "-f", profile, "--"}, argv...), seatbelt: true},
		{name: "applies, strict", strict: true, verdict: sandboxExecOK, wantPath: "/usr/bin/sandbox-exec",
			wantArgs: append([]string{"/usr/bin/sandbox-exec", "-f", profile, "--"}, argv...), seatbelt: true},
		{name: "nested", verdict: sandboxExecNested, msg: nestedMsg, wantPath: tool, wantArgs: argv, wantWarn: true},
		{name: "nested, strict", strict: true, verdict: sandboxExecNested, msg: nestedMsg,
			wantErr: "--strict refuses", wantKind: ErrSetup, wantLayer: "seatbelt"},
		{name: "refused", verdict: sandboxExecRefused, msg: "sandbox-exec: unbound variable: x",
			wantErr: "sandbox-exec refused the profile: sandbox-exec: unbound variable: x", wantKind: ErrSetup, wantLayer: "seatbelt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Argv: argv, Strict: tt.strict, Dir: dir, Env: env}
			plan, err := planLaunch(cfg, "/usr/bin/sandbox-exec", profile, tt.verdict, tt.msg)
			if tt.wantErr != "" {
				var se *Error
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &se) || se.Kind != tt.wantKind || se.Layer != tt.wantLayer {
					t.Fatalf("err %v, want a %s Error of kind %d saying %q", err, tt.wantLayer, tt.wantKind, tt.wantErr)
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
