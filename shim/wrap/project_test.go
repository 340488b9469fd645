package wrap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project is a fake home with a user-level Cursor file and a freshly
// cloned project in it.
type project struct {
	t          *testing.T
	home, proj string
	exe        string
}

func newProject(t *testing.T) *project {
	t.Helper()
	home := t.TempDir()
	if r, err := filepath.EvalSymlinks(home); err == nil {
		home = r
	}
	p := &project{t: t, home: home, proj: filepath.Join(home, "src", "cloned"), exe: "/opt/bin/sbshim"}
	if err := os.MkdirAll(p.proj, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *project) write(path, data string) {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) symlink(target, link string) {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) options(clients ...string) Options {
	return Options{
		Env:        Env{Home: p.home, Dir: p.proj, GOOS: "linux", Getenv: func(string) string { return "" }},
		Clients:    clients,
		Executable: p.exe,
		Yes:        true,
	}
}

func (p *project) read(path string) string {
	p.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// backups lists the backup and temporary files wrap left in dir.
func backups(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.sbshim-backup-*", ".*.sbshim-*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

const plainServer = `{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "x"]}}}`

// TestProjectSymlinkOut: a project's configuration file that is, or lies
// in, a symbolic link out of the project is refused, named on stderr, and
// the file it points at is neither written nor backed up; a link that
// stays inside the project is followed and kept.
func TestProjectSymlinkOut(t *testing.T) {
	for _, c := range []struct {
		name   string
		client string
		setup  func(p *project) (target string)
	}{
		{"file link to a user file", "claude-code", func(p *project) string {
			target := filepath.Join(p.home, ".cursor", "mcp.json")
			p.write(target, plainServer)
			p.symlink(target, filepath.Join(p.proj, ".mcp.json"))
			return target
		}},
		{"relative file link out", "claude-code", func(p *project) string {
			target := filepath.Join(p.home, "src", "other", ".mcp.json")
			p.write(target, plainServer)
			p.symlink("../other/.mcp.json", filepath.Join(p.proj, ".mcp.json"))
			return target
		}},
		{"folder link out", "vscode", func(p *project) string {
			user := filepath.Join(p.home, "dotfiles", "Code", "User")
			target := filepath.Join(user, "mcp.json")
			p.write(target, `{"servers": {"fs": {"command": "npx"}}}`)
			p.symlink(user, filepath.Join(p.proj, ".vscode"))
			return target
		}},
		{"link to a folder link out", "cursor", func(p *project) string {
			target := filepath.Join(p.home, "elsewhere", ".cursor", "mcp.json")
			p.write(target, plainServer)
			p.symlink(filepath.Join(p.home, "elsewhere"), filepath.Join(p.proj, "up"))
			p.symlink("up/.cursor", filepath.Join(p.proj, ".cursor"))
			return target
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t)
			target := c.setup(p)
			before := p.read(target)
			o := p.options(c.client)
			var stdout, stderr bytes.Buffer
			err := Run(OpWrap, o, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), "outside the project") {
				t.Errorf("stderr does not say why: %q", stderr.String())
			}
			if got := p.read(target); got != before {
				t.Errorf("%s was written through the link:\n%s", target, got)
			}
			if b := backups(t, filepath.Dir(target)); len(b) > 0 {
				t.Errorf("wrap left files next to %s: %v", target, b)
			}
			var list bytes.Buffer
			o.Yes = false
			if err := List(o, &list); err == nil || !strings.Contains(list.String(), "outside the project") {
				t.Errorf("list: %v\n%s", err, list.String())
			}
		})
	}

	// A link inside the project is followed, and stays a link.
	p := newProject(t)
	real := filepath.Join(p.proj, "config", "mcp.json")
	p.write(real, plainServer)
	link := filepath.Join(p.proj, ".mcp.json")
	p.symlink("config/mcp.json", link)
	var stdout, stderr bytes.Buffer
	if err := Run(OpWrap, p.options("claude-code"), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	if got := p.read(real); !strings.Contains(got, `"command": "/opt/bin/sbshim"`) {
		t.Errorf("not wrapped: %s", got)
	}
}

// TestWriteFileWithinRefusesALinkOut: a link swapped to point out of the
// project between reading and writing is not written through.
func TestWriteFileWithinRefusesALinkOut(t *testing.T) {
	p := newProject(t)
	outside := filepath.Join(p.home, ".bashrc")
	p.write(outside, "old")
	link := filepath.Join(p.proj, ".mcp.json")
	p.symlink(outside, link)
	_, err := WriteFileWithin(link, p.proj, filepath.Join(p.home, "backups"), []byte("old"), []byte("new"))
	if !errors.Is(err, ErrOutsideProject) {
		t.Fatalf("error %v, want ErrOutsideProject", err)
	}
	if p.read(outside) != "old" {
		t.Error("written through the link")
	}
	if b := backups(t, p.home); len(b) > 0 {
		t.Errorf("left %v", b)
	}
}

// TestProjectEntriesCannotWiden runs wrap on a cloned project's
// .mcp.json: an entry that runs another sbshim, or this one with a flag
// that widens the sandbox, is wrapped again and the dry run says why; an
// entry whose environment sbshim would read is left alone, reported, and
// wrap fails; a project's server name is qualified with the project.
func TestProjectEntriesCannotWiden(t *testing.T) {
	p := newProject(t)
	mcp := filepath.Join(p.proj, ".mcp.json")
	in := `{"mcpServers": {
  "fake": {"command": "` + p.proj + `/bin/sbshim", "args": ["--", "node", "s.js"]},
  "host": {"command": "` + p.exe + `", "args": ["--name", "host", "--net", "host", "--", "node", "s.js"]},
  "home": {"command": "npx", "args": ["x"], "env": {"HOME": "` + p.proj + `"}},
  "github": {"command": "npx", "args": ["x"]},
  "\u001b]52;c;ZXZpbA==\u0007": {"command": "npx", "args": ["x"]}
}}
// ` + "\x1b[2J\rhidden\u202e" + `
`
	p.write(mcp, in)
	o := p.options("claude-code")
	o.DryRun = true
	var stdout, stderr bytes.Buffer
	err := Run(OpWrap, o, &stdout, &stderr)
	out := stdout.String()
	if err == nil || !strings.Contains(err.Error(), "suspicious") || !strings.Contains(err.Error(), "home") {
		t.Errorf("want an error naming the suspicious server, got %v", err)
	}
	for _, want := range []string{
		`fake                     would be wrapped (suspicious: it runs "` + p.proj + `/bin/sbshim", not this sbshim`,
		`host                     would be wrapped (suspicious: --name "host" is not the name`,
		`; --net "host": only none and proxy`,
		`home                     left alone, NOT sandboxed: suspicious: its env sets HOME`,
		`"--name", "github.` + projectTag(p.proj) + `", "--"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out+stderr.String(), "\x1b\x07\r") {
		t.Errorf("control characters from the project's file reach the terminal:\n%q", out)
	}
	if p.read(mcp) != in {
		t.Error("a dry run wrote the file")
	}
}

// TestProjectServerProfileOff: a project's entry for a server sbshim
// recognises gets --no-server-profile (the built-in server profile takes
// grants from the entry's arguments and environment, which the project
// wrote), and an entry that already runs sbshim without it is wrapped
// again.
func TestProjectServerProfileOff(t *testing.T) {
	p := newProject(t)
	mcp := filepath.Join(p.proj, ".mcp.json")
	tag := projectTag(p.proj)
	in := `{"mcpServers": {
  "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "` + p.home + `/.local/bin"]},
  "pre": {"command": "` + p.exe + `", "args": ["--name", "pre.` + tag + `", "--", "npx", "@modelcontextprotocol/server-memory"]},
  "ok": {"command": "` + p.exe + `", "args": ["--name", "ok.` + tag + `", "--no-server-profile", "--", "npx", "@modelcontextprotocol/server-memory"]},
  "other": {"command": "npx", "args": ["some-server"]}
}}
`
	p.write(mcp, in)
	o := p.options("claude-code")
	o.DryRun = true
	var stdout, stderr bytes.Buffer
	Run(OpWrap, o, &stdout, &stderr)
	out := stdout.String()
	for _, want := range []string{
		`"--name", "fs.` + tag + `", "--no-server-profile", "--", "npx"`,
		`pre                      would be wrapped (suspicious: it runs a server sbshim recognises (memory) without --no-server-profile`,
		`"--name", "other.` + tag + `", "--", "npx"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ok                       would be wrapped") {
		t.Errorf("an entry with --no-server-profile is wrapped again:\n%s", out)
	}
}
