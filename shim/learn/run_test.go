package learn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testDir is a folder outside /tmp (the sandbox has its own /tmp, so
// learn never proposes paths there).
func testDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SBSHIM_TEST_DIR")
	if base == "" {
		base = "/var/tmp"
	}
	d, err := os.MkdirTemp(base, "sbshim-learn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	d, err = filepath.EvalSymlinks(d)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type logLine map[string]any

func writeLog(t *testing.T, path string, lines ...logLine) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(append(b, '\n'))
	}
}

// TestRunIterative: learn proposes, --write saves a profile that lets the
// attempts through; learn again proposes nothing; a new block is
// proposed on top, and writing it keeps a backup of the previous profile.
func TestRunIterative(t *testing.T) {
	root := testDir(t)
	home := filepath.Join(root, "home")
	ws := filepath.Join(home, "proj")
	notes := filepath.Join(home, "notes")
	for _, d := range []string{ws, notes, filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(root, "state"))
	auditDir := filepath.Join(root, "state", "sbshim", "audit")
	if err := os.MkdirAll(auditDir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(auditDir, "fs.jsonl")
	ts := func(s int) string { return time.Date(2026, 12, 3, 10, 0, s, 0, time.UTC).Format(time.RFC3339Nano) }
	blocked := func(s int, tool, kind, target, rule, layer string) logLine {
		return logLine{"ts": ts(s), "server": "fs", "session": "s1", "type": "blocked", "tool": tool, "kind": kind,
			"op": map[string]string{"file": "create", "net": "connect"}[kind], "target": target, "rule": rule, "layer": layer}
	}
	writeLog(t, logPath,
		logLine{"ts": ts(0), "server": "fs", "session": "s1", "type": "session_start", "command": []string{"node", "x.js"}, "profile": "default"},
		blocked(1, "write_file", "file", filepath.Join(notes, "a.txt"), notListed, "supervisor"),
		blocked(2, "fetch", "net", "api.example.com:443", netNotListed, "proxy"),
		blocked(3, "write_file", "file", filepath.Join(home, ".bashrc"), "protected ~/.bashrc", "supervisor"),
	)
	o := Options{Server: "fs", AuditDir: auditDir, Workspace: ws, ConfigDir: filepath.Join(home, ".config", "sbshim"),
		Now: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Loc: time.UTC}
	var out strings.Builder
	res, err := Run(o, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Proposal.Grants) != 2 || res.Wrote != "" {
		t.Fatalf("first learn: %+v\n%s", res, out.String())
	}
	for _, want := range []string{"+  ~/notes\n", "+    # tool write_file needed create of ~/notes/a.txt (1 time(s), at 2026-12-03 10:00:01)",
		"+  api.example.com:443\n", "+    # tool fetch needed connect of api.example.com:443", "protected path", "--write"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	o.Write = true
	out.Reset()
	if res, err = Run(o, &out); err != nil {
		t.Fatal(err)
	}
	profPath := filepath.Join(home, ".config", "sbshim", "profiles", "fs.json")
	if res.Wrote != profPath || res.Backup != "" {
		t.Fatalf("wrote %q backup %q, want %q:\n%s", res.Wrote, res.Backup, profPath, out.String())
	}
	data, err := os.ReadFile(profPath)
	if err != nil {
		t.Fatal(err)
	}
	var prof struct {
		Filesystem struct{ AllowWrite []string } `json:"filesystem"`
		Network    struct{ Allow []string }      `json:"network"`
	}
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatal(err)
	}
	if strings.Join(prof.Filesystem.AllowWrite, " ") != "$WORKSPACE $TMP $CACHE ~/notes" || strings.Join(prof.Network.Allow, " ") != "api.example.com:443" {
		t.Fatalf("written profile:\n%s", data)
	}
	if !strings.Contains(out.String(), "sbshim --name fs --profile fs -- node x.js") {
		t.Errorf("output does not say how to use it:\n%s", out.String())
	}

	// With the profile in force, nothing is new.
	o.Write = false
	out.Reset()
	if res, err = Run(o, &out); err != nil {
		t.Fatal(err)
	}
	if len(res.Proposal.Grants) != 0 || res.Proposal.Allowed != 2 || !strings.Contains(out.String(), "Nothing new to propose") {
		t.Fatalf("learn with the profile in force: %+v\n%s", res.Proposal, out.String())
	}

	// A new block: proposed on top of the profile; writing keeps a backup.
	writeLog(t, logPath, blocked(9, "write_file", "file", filepath.Join(home, "data", "b.txt"), notListed, "supervisor"))
	o.Write = true
	out.Reset()
	if res, err = Run(o, &out); err != nil {
		t.Fatal(err)
	}
	if len(res.Proposal.Grants) != 1 || res.Proposal.Grants[0].Entry != "~/data" || res.Backup == "" {
		t.Fatalf("second write: %+v\n%s", res, out.String())
	}
	if !strings.Contains(out.String(), "   ~/notes\n+  ~/data\n") {
		t.Errorf("the diff does not show ~/notes in force and ~/data added:\n%s", out.String())
	}
	if old, err := os.ReadFile(res.Backup); err != nil || string(old) != string(data) {
		t.Fatalf("backup %s: %v\n%s", res.Backup, err, old)
	}
	data, _ = os.ReadFile(profPath)
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatal(err)
	}
	if strings.Join(prof.Filesystem.AllowWrite, " ") != "$WORKSPACE $TMP $CACHE ~/notes ~/data" {
		t.Fatalf("rewritten profile:\n%s", data)
	}
}

// TestRunOtherServer: learn reads only the server's own log file, and in
// it only the records of that server.
func TestRunOtherServer(t *testing.T) {
	root := testDir(t)
	home := filepath.Join(root, "home")
	os.MkdirAll(filepath.Join(home, "proj"), 0o755)
	os.MkdirAll(filepath.Join(home, "notes"), 0o755)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	dir := filepath.Join(root, "audit")
	os.MkdirAll(dir, 0o700)
	writeLog(t, filepath.Join(dir, "other.jsonl"), logLine{"ts": "2026-12-03T10:00:00Z", "server": "fs", "session": "x", "type": "blocked",
		"kind": "file", "op": "create", "target": filepath.Join(home, "notes", "x"), "rule": notListed, "layer": "supervisor"})
	writeLog(t, filepath.Join(dir, "fs.jsonl"), logLine{"ts": "2026-12-03T10:00:00Z", "server": "other", "session": "x", "type": "blocked",
		"kind": "file", "op": "create", "target": filepath.Join(home, "notes", "y"), "rule": notListed, "layer": "supervisor"})
	var out strings.Builder
	res, err := Run(Options{Server: "fs", AuditDir: dir, Workspace: filepath.Join(home, "proj"), ConfigDir: filepath.Join(home, ".config", "sbshim"), Now: time.Now()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Proposal.Grants) != 0 {
		t.Fatalf("learned from another server's records:\n%s", out.String())
	}
}

func TestChooseProfile(t *testing.T) {
	dir := t.TempDir()
	o := Options{Server: "s", ConfigDir: dir}
	for _, c := range []struct{ last, want, note string }{
		{"default", "", ""},
		{"", "", ""},
		{"default+workspace-write", "workspace-write", "ran with it"},
		{"default+filesystem", "", ""},
		{"default+filesystem+read-only", "read-only", "ran with it"},
		{"default+mine", "", "cannot find"},
		{"default+filesystem+mine", "", "cannot find"},
	} {
		got, note := o.chooseProfile(c.last)
		if got != c.want || !strings.Contains(note, c.note) {
			t.Errorf("chooseProfile(%q) = %q, %q; want %q, %q", c.last, got, note, c.want, c.note)
		}
	}
	os.MkdirAll(filepath.Join(dir, "profiles"), 0o700)
	os.WriteFile(filepath.Join(dir, "profiles", "s.json"), []byte("{}"), 0o600)
	if got, _ := o.chooseProfile("default+read-only"); got != "s" {
		t.Errorf("with a learned profile: %q", got)
	}
	o.Profile = "agent"
	if got, _ := o.chooseProfile("default"); got != "agent" {
		t.Errorf("with --profile: %q", got)
	}
}
