package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The fidelity matrix: every observed file operation against every class
// of target (also through symlinks and /proc/self/fd), each in a fresh
// sandbox, asserting the errno the program
// sees and exactly the reports — none, or one, with the op, the target as
// the host path, and the rule. An attempt is reported exactly when the
// same call outside, by the same user, would have succeeded.

// fidelityOps are the operations, as the attempt program makes them.
var fidelityOps = []string{"read", "write", "append", "truncate", "chmod", "utimes", "setxattr", "unlink", "mkdir", "symlink"}

// cell is what one operation on one target must give.
type cell struct {
	errno  string // "" when it succeeds
	op     string // the reported op; "" when nothing is reported
	rule   string
	target string // the reported path, when it is not the class's
}

// targetClass describes a kind of target by what the sandbox does to
// reads, changes and creates there; at lists the cells that differ.
type targetClass struct {
	name   string
	path   func(b *box) string // made here; the path the program uses
	target func(b *box) string // the host path reported (default: path)
	exists bool                // as the host sees it
	prefix string              // shell commands run before, inside
	procfd bool                // each op goes through /proc/self/fd of an O_PATH descriptor

	read, change, create cell // the errno and rule of each kind of call
	missing              string
	at                   map[string]cell
}

func fidelityClasses(b0 *box) []targetClass {
	const (
		notListed = "filesystem.allowWrite (not listed)"
		locked    = "filesystem.denyWrite $WORKSPACE/locked"
		sshRead   = "filesystem.denyRead ~/.ssh"
		sshWrite  = "protected .ssh"
		gitConfig = "protected .git/config"
		privTmp   = "private /tmp: the sandbox has its own /tmp ($TMP), put the program elsewhere, e.g. in the workspace"
	)
	file := func(rel string) func(*box) string {
		return func(b *box) string { return b.mkfile(rel, "content\n") }
	}
	none := func(rel string) func(*box) string { return func(b *box) string { return b.path(rel) } }
	ok := cell{}
	same := func(errno, rule string) cell { return cell{errno: errno, op: "=", rule: rule} }
	hostTmp := filepath.Join("/tmp", "sbshim-fidelity-"+filepath.Base(b0.root))
	return []targetClass{
		{name: "allowed", path: file("proj/a.txt"), exists: true,
			at: map[string]cell{"mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "allowed, missing", path: none("proj/new"), missing: "ENOENT"},
		{name: "denyRead", path: func(b *box) string { return b.path(".ssh/id_rsa") }, exists: true,
			read: same("EACCES", sshRead), change: same("EACCES", sshWrite),
			at: map[string]cell{"mkdir": {errno: "EROFS"}, "symlink": {errno: "EROFS"}}},
		{name: "denyRead, missing", path: none(".ssh/none"), missing: "EACCES",
			create: same("EROFS", sshWrite), at: map[string]cell{"write": {errno: "EACCES", op: "create", rule: sshWrite}}},
		{name: "read-only", path: file("notes"), exists: true, change: same("EROFS", notListed),
			at: map[string]cell{"mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "read-only, missing", path: none("nonote"), missing: "ENOENT", create: same("EROFS", notListed)},
		{name: "denyWrite", path: file("proj/locked/f"), exists: true, change: same("EROFS", locked),
			at: map[string]cell{"mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "denyWrite, missing", path: func(b *box) string { file("proj/locked/f")(b); return b.path("proj/locked/new") },
			missing: "ENOENT", create: same("EROFS", locked)},
		{name: "protected", path: func(b *box) string { return b.path("proj/.git/config") }, exists: true,
			change: same("EROFS", gitConfig),
			at: map[string]cell{"unlink": {errno: "EACCES", op: "delete", rule: gitConfig},
				"mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "protected, missing", path: none("proj/.mcp.json"), missing: "ENOENT",
			create: same("EACCES", "protected .mcp.json")},
		{name: "the host's /tmp", exists: true,
			path: func(b *box) string {
				if err := os.WriteFile(hostTmp, []byte("host\n"), 0o644); err != nil {
					b.t.Fatal(err)
				}
				b.t.Cleanup(func() { os.RemoveAll(hostTmp) })
				return hostTmp
			},
			read: same("ENOENT", privTmp), change: same("ENOENT", privTmp),
			// Made anew in the sandbox's own /tmp.
			at: map[string]cell{"write": ok, "mkdir": ok, "symlink": ok}},
		{name: "the sandbox's own /tmp", path: func(*box) string { return "/tmp/own" }, exists: true,
			prefix: "echo own > /tmp/own && ",
			at:     map[string]cell{"mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "through a symlink to a secret", exists: true,
			path: func(b *box) string {
				p := b.path("proj/lsecret")
				if err := os.Symlink(b.path(".ssh/id_rsa"), p); err != nil {
					b.t.Fatal(err)
				}
				return p
			},
			target: func(b *box) string { return b.path(".ssh/id_rsa") },
			read:   same("EACCES", sshRead), change: same("EACCES", sshWrite),
			// The link itself is the workspace's.
			at: map[string]cell{"unlink": ok, "mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
		{name: "through /proc/self/fd to a protected file", exists: true, procfd: true,
			path: func(b *box) string { return b.path("proj/.git/config") }, change: same("EROFS", gitConfig)},
		{name: "through /proc/self/fd to a read-only file", exists: true, procfd: true,
			path: file("notes"), change: same("EROFS", notListed)},
		{name: "through a symlink to a protected file", exists: true,
			path: func(b *box) string {
				p := b.path("proj/lconfig")
				if err := os.Symlink(b.path("proj/.git/config"), p); err != nil {
					b.t.Fatal(err)
				}
				return p
			},
			target: func(b *box) string { return b.path("proj/.git/config") },
			change: same("EROFS", gitConfig),
			at:     map[string]cell{"unlink": ok, "mkdir": {errno: "EEXIST"}, "symlink": {errno: "EEXIST"}}},
	}
}

// expect is what op on a target of class k must give.
func (k targetClass) expect(op string) cell {
	if c, ok := k.at[op]; ok {
		return k.named(c, op)
	}
	switch {
	case op == "read" && k.exists:
		return k.named(k.read, op)
	case op == "read", !k.exists && op != "write" && op != "mkdir" && op != "symlink":
		return cell{errno: k.missing}
	case !k.exists:
		return k.named(k.create, op)
	case op == "mkdir" || op == "symlink":
		return cell{errno: "EEXIST"}
	}
	return k.named(k.change, op)
}

// named fills in the reported op of a cell that reports: "=" stands for
// the op's own name.
func (k targetClass) named(c cell, op string) cell {
	if c.op != "=" {
		return c
	}
	c.op = map[string]string{"setxattr": "xattr", "unlink": "delete", "append": "write"}[op]
	if c.op == "" {
		c.op = op
	}
	if !k.exists && (op == "write" || op == "mkdir" || op == "symlink") {
		c.op = "create"
	}
	return c
}

func TestFidelityMatrix(t *testing.T) {
	xattrs := userXattrs(t)
	for _, k := range fidelityClasses(newBox(t)) {
		for _, op := range fidelityOps {
			if k.procfd && (op == "unlink" || op == "mkdir" || op == "symlink") {
				continue // a descriptor names no entry to remove or make
			}
			t.Run(k.name+"/"+op, func(t *testing.T) {
				b := newBox(t)
				p := k.path(b)
				target := p
				if k.target != nil {
					target = k.target(b)
				}
				want := k.expect(op)
				if op == "setxattr" && want.errno == "" && !xattrs {
					want.errno = "EOPNOTSUPP" // the file system has no user.* attributes
				}
				args := []string{op, p}
				switch op {
				case "write", "append":
					args = append(args, "x")
				case "chmod":
					args = append(args, "600")
				case "symlink":
					args = []string{op, "/etc/hostname", p}
				}
				if k.procfd {
					args = append([]string{"procfd"}, args...)
				}
				attempt := filepath.Join(binDir, "attempt")
				argv := append([]string{attempt}, args...)
				if k.prefix != "" {
					quoted := make([]string, len(argv))
					for i, a := range argv {
						quoted[i] = shellQuote(a)
					}
					argv = []string{"/bin/sh", "-c", k.prefix + strings.Join(quoted, " ")}
				}
				logPath := filepath.Join(t.TempDir(), "audit.jsonl")
				stdout, stderr, _ := b.run([]string{"--deny-write", b.path("proj/locked"), "--audit-log", logPath}, argv...)
				var o outcome
				if err := json.Unmarshal([]byte(lastLine(stdout)), &o); err != nil {
					t.Fatalf("no outcome: stdout %q, stderr %q", stdout, stderr)
				}
				if o.OK != (want.errno == "") || !o.OK && o.Errno != want.errno {
					t.Errorf("the program saw %+v, want errno %q", o, want.errno)
				}
				blocked := ofType(auditRecords(t, logPath), "blocked")
				lines := strings.Count(stderr, "sbshim: blocked ")
				if want.op == "" {
					if len(blocked) != 0 || lines != 0 {
						t.Fatalf("reported %v; the sandbox changed nothing here\nstderr: %s", blocked, stderr)
					}
					return
				}
				if want.target == "" {
					want.target = target
				}
				if len(blocked) != 1 || lines != 1 {
					t.Fatalf("%d blocked records and %d stderr lines, want 1: %v\nstderr: %s", len(blocked), lines, blocked, stderr)
				}
				r := blocked[0]
				got := fmt.Sprintf("%v %v (%v)", r["op"], r["target"], r["rule"])
				if w := fmt.Sprintf("%s %s (%s)", want.op, want.target, want.rule); got != w {
					t.Fatalf("reported %s, want %s", got, w)
				}
			})
		}
	}
}

// userXattrs says whether the file system the tests run on takes user.*
// extended attributes.
func userXattrs(t *testing.T) bool {
	p := filepath.Join(testRoot(), "sbshim-xattr-probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	return unix.Setxattr(p, "user.sbshim", []byte("x"), 0) == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
