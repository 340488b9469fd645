package wrap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// world is a fake home with a Cursor and a Codex file in it, and a broken
// Claude Code project file.
type world struct {
	t                  *testing.T
	home, proj         string
	cursor, codex, bad string
	cursorIn, codexIn  []byte
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, home: t.TempDir()}
	w.proj = filepath.Join(w.home, "proj")
	w.cursor = filepath.Join(w.home, ".cursor", "mcp.json")
	w.codex = filepath.Join(w.home, ".codex", "config.toml")
	w.bad = filepath.Join(w.proj, ".mcp.json")
	w.cursorIn = []byte("{\n  \"mcpServers\": {\n    \"fs\": { \"command\": \"npx\", \"args\": [\"-y\", \"server-filesystem\"] },\n    \"gh\": { \"command\": \"docker\", \"args\": [\"run\"] }\n  }\n}\n")
	w.codexIn = []byte("# mine\n[mcp_servers.time]\ncommand = \"uvx\" # py\nargs = [\"mcp-server-time\"]\n")
	w.write(w.cursor, w.cursorIn, 0o600)
	w.write(w.codex, w.codexIn, 0o644)
	w.write(w.bad, []byte(`{"mcpServers": {`), 0o644)
	return w
}

func (w *world) write(path string, data []byte, perm os.FileMode) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) read(path string) []byte {
	w.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) options() Options {
	return Options{
		Env:        Env{Home: w.home, Dir: w.proj, GOOS: "linux", Getenv: func(string) string { return "" }},
		Executable: "/opt/bin/sbshim",
	}
}

func (w *world) run(op Op, o Options) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := Run(op, o, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestRunWrapAndUnwrap(t *testing.T) {
	w := newWorld(t)
	o := w.options()
	o.Yes = true
	out, errOut, err := w.run(OpWrap, o)
	if err == nil || !strings.Contains(err.Error(), "left untouched") {
		t.Fatalf("want an error for the broken file, got %v", err)
	}
	if !strings.Contains(errOut, "~/proj/.mcp.json: line 1") {
		t.Errorf("stderr does not report the broken file: %q", errOut)
	}
	if string(w.read(w.bad)) != `{"mcpServers": {` {
		t.Error("the broken file was changed")
	}
	for _, want := range []string{"fs                       wrapped", "gh                       docker (skipped)", "time                     wrapped", "Wrote ~/.cursor/mcp.json (backup of what it held: ~/.local/state/sbshim/backups/"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := string(w.read(w.cursor)); !strings.Contains(got, `"command": "/opt/bin/sbshim", "args": ["--name", "fs", "--", "npx", "-y"`) {
		t.Errorf("cursor file not wrapped:\n%s", got)
	}
	// The backup holds the old text, in sbshim's state folder, readable
	// by the user alone; the file keeps its mode.
	backupDir := filepath.Join(w.home, ".local", "state", "sbshim", "backups")
	backup := BackupPath(backupDir, w.cursor)
	if !strings.Contains(out, "backup of what it held: ~"+strings.TrimPrefix(backup, w.home)+")\n") {
		t.Errorf("output does not name the backup %s:\n%s", backup, out)
	}
	if !bytes.Equal(w.read(backup), w.cursorIn) {
		t.Error("backup differs from the original")
	}
	for _, p := range []string{w.cursor, backup} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", p, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(w.codex); fi.Mode().Perm() != 0o644 {
		t.Errorf("codex file mode %v", fi.Mode())
	}
	// No temporary files are left.
	if m, _ := filepath.Glob(filepath.Join(w.home, ".cursor", ".mcp.json.sbshim-*")); len(m) > 0 {
		t.Errorf("left over: %v", m)
	}

	// Again: nothing to change. Unwrap replaces the backup: one a file.
	o.Clients = []string{"cursor", "codex"}
	if out, _, err := w.run(OpWrap, o); err != nil || !strings.Contains(out, "already wrapped") || !strings.Contains(out, "Nothing to change.") {
		t.Fatalf("second wrap: %v\n%s", err, out)
	}
	if _, _, err := w.run(OpUnwrap, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.read(w.cursor), w.cursorIn) || !bytes.Equal(w.read(w.codex), w.codexIn) {
		t.Error("unwrap did not restore the files")
	}
	if !bytes.Equal(w.read(backup), []byte(strings.Replace(string(w.cursorIn), `"command": "npx", "args": [`, `"command": "/opt/bin/sbshim", "args": ["--name", "fs", "--", "npx", `, 1))) {
		t.Errorf("the backup is not what unwrap replaced:\n%s", w.read(backup))
	}
	if m, _ := filepath.Glob(filepath.Join(backupDir, "*")); len(m) != 2 {
		t.Errorf("backups after wrap and unwrap of two files: %v, want 2", m)
	}
	for _, dir := range []string{w.home, filepath.Dir(w.cursor), filepath.Dir(w.codex)} {
		if b := backups(t, dir); len(b) > 0 {
			t.Errorf("backups next to the files: %v", b)
		}
	}
}

func TestRunDryRunAndConfirmation(t *testing.T) {
	w := newWorld(t)
	o := w.options()
	o.Clients = []string{"cursor"}

	o.DryRun = true
	out, _, err := w.run(OpWrap, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--- ~/.cursor/mcp.json\n+++ ~/.cursor/mcp.json\n@@ -1,6 +1,6 @@") || !strings.Contains(out, "Dry run: 1 file(s) would change; nothing written.") {
		t.Errorf("dry run output:\n%s", out)
	}
	o.DryRun = false

	// Without --yes and without a terminal: refuse, and say --yes.
	_, _, err = w.run(OpWrap, o)
	if err == nil || !strings.Contains(err.Error(), "pass --yes") {
		t.Errorf("want a refusal that mentions --yes, got %v", err)
	}
	// Asked, and the answer is no.
	var asked string
	o.Confirm = func(q string) (bool, error) { asked = q; return false, nil }
	if _, _, err = w.run(OpWrap, o); !errors.Is(err, ErrNotConfirmed) || !strings.Contains(asked, "1 file(s)") {
		t.Errorf("answer no: %v (asked %q)", err, asked)
	}
	if !bytes.Equal(w.read(w.cursor), w.cursorIn) {
		t.Fatal("a file was written without a yes")
	}
	if m, _ := filepath.Glob(filepath.Join(w.home, ".local", "state", "sbshim", "backups", "*")); len(m) > 0 {
		t.Errorf("backups without a write: %v", m)
	}
	// The answer is yes.
	o.Confirm = func(string) (bool, error) { return true, nil }
	if _, _, err = w.run(OpWrap, o); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(w.read(w.cursor), w.cursorIn) {
		t.Fatal("not written after yes")
	}
}

func TestRunSelectsServersAndProfile(t *testing.T) {
	w := newWorld(t)
	w.write(w.cursor, []byte(`{"mcpServers": {"a": {"command": "x"}, "b": {"command": "y"}}}`), 0o644)
	o := w.options()
	o.Clients, o.Servers, o.Profile, o.Yes = []string{"cursor"}, []string{"b", "zzz"}, "read-only", true
	_, errOut, err := w.run(OpWrap, o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mcpServers": {"a": {"command": "x"}, "b": {"command": "/opt/bin/sbshim", "args": [ "--name", "b", "--profile", "read-only", "--", "y" ]}}}`
	if got := string(w.read(w.cursor)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(errOut, `no server named "zzz"`) {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestRunConfigFileAndSymlink(t *testing.T) {
	w := newWorld(t)
	real := filepath.Join(w.home, "dotfiles", "my-mcp.json")
	w.write(real, []byte(`{"servers": {"a": {"command": "x", "args": []}}}`), 0o640)
	link := filepath.Join(w.home, "linked.json")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	o := w.options()
	o.Config, o.Yes = link, true
	if _, _, err := w.run(OpWrap, o); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v", err)
	}
	// A file given with --config that is no client's user-level file is
	// a project's: the name is qualified with the project's folder.
	if got, want := string(w.read(real)), `{"servers": {"a": {"command": "/opt/bin/sbshim", "args": ["--name", "a.`+projectTag(resolveDir(w.home))+`", "--", "x"]}}}`; got != want {
		t.Errorf("got %s", got)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	// A --config file that does not exist is an error.
	o.Config = filepath.Join(w.home, "nope.json")
	if _, _, err := w.run(OpWrap, o); err == nil {
		t.Error("no error for a missing --config file")
	}
}

func TestRunRejectsBadExecutable(t *testing.T) {
	w := newWorld(t)
	o := w.options()
	o.Yes = true
	for _, exe := range []string{"sbshim", "/opt/bin/sbshim-1.0"} {
		o.Executable = exe
		if _, _, err := w.run(OpWrap, o); err == nil {
			t.Errorf("%s: no error", exe)
		}
	}
}

func TestWriteFileNoticesAChange(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	if err := os.WriteFile(p, []byte("new by the client"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := WriteFile(p, filepath.Join(dir, "backups"), []byte("what sbshim read"), []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "changed while sbshim was editing it") {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new by the client" {
		t.Error("overwritten")
	}
}

func TestList(t *testing.T) {
	w := newWorld(t)
	var out bytes.Buffer
	err := List(w.options(), &out)
	if err == nil {
		t.Error("no error for the broken file")
	}
	got := out.String()
	for _, want := range []string{
		"CLIENT       FILE                  SERVER  STATE",
		"claude-code  ~/proj/.mcp.json      -       error: line 1, column 17: unterminated object",
		"cursor       ~/.cursor/mcp.json    fs      not wrapped",
		"cursor       ~/.cursor/mcp.json    gh      docker (skipped)",
		"codex        ~/.codex/config.toml  time    not wrapped",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("list lacks %q:\n%s", want, got)
		}
	}
	// Nothing found: say where sbshim looked.
	out.Reset()
	o := w.options()
	o.Env.Home, o.Env.Dir = t.TempDir(), ""
	if err := List(o, &out); err != nil || !strings.Contains(out.String(), "No MCP client configuration found") || !strings.Contains(out.String(), "~/.claude.json") {
		t.Errorf("%v\n%s", err, out.String())
	}
}

// TestRunNamesOldBackups: the backups an earlier sbshim left next to a
// file are named, and left alone.
func TestRunNamesOldBackups(t *testing.T) {
	w := newWorld(t)
	old := w.cursor + ".sbshim-backup-20261122T101500"
	w.write(old, w.cursorIn, 0o600)
	o := w.options()
	o.Clients, o.Yes = []string{"cursor"}, true
	out, _, err := w.run(OpWrap, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(1 backup(s) an earlier sbshim left next to it, which sbshim no longer makes nor reads: "+old+")") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the old backup: %v", err)
	}
}
