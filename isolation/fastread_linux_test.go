package isolation

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIsCleanAbs(t *testing.T) {
	for _, c := range []struct {
		p    string
		want bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b.c/..d/.e", true},
		{"", false},
		{"a/b", false},
		{"//", false},
		{"/a/", false},
		{"/a//b", false},
		{"/a/./b", false},
		{"/a/../b", false},
		{"/a/.", false},
		{"/a/..", false},
		{"/.", false},
		{"/..", false},
	} {
		if got := isCleanAbs(c.p); got != c.want {
			t.Errorf("isCleanAbs(%q) = %v, want %v", c.p, got, c.want)
		}
	}
}

func FuzzIsCleanAbs(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/a/../b", "//a", "/a/", "a", "/./", "/a/.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := strings.HasPrefix(p, "/") && path.Clean(p) == p
		if got := isCleanAbs(p); got != want {
			t.Fatalf("isCleanAbs(%q) = %v, path.Clean says %v", p, got, want)
		}
	})
}

// mayHideAgrees checks the index's promise for p: where it says no entry
// holds p, CanRead allows p.
func mayHideAgrees(t *testing.T, x *readIndex, rules superviseRules, p string) {
	t.Helper()
	if !isCleanAbs(p) || x.mayHide(p) {
		return
	}
	if rule, ok := rules.CanRead(p); !ok {
		t.Fatalf("mayHide(%q) = false, but CanRead refuses it (%s)", p, rule)
	}
}

func TestReadIndexMayHide(t *testing.T) {
	pol := privatePolicy()
	pol.Filesystem.AllowRead = []string{"/home/u/.ssh/known_hosts"}
	pol.Filesystem.DenyRead = append(pol.Filesystem.DenyRead, "/opt/x/") // not clean
	x := newReadIndex(pol)
	for _, c := range []struct {
		p    string
		want bool
	}{
		{"/home/u/.ssh", true},
		{"/home/u/.ssh/id_rsa", true},
		{"/home/u/.ssh/known_hosts", true}, // lifted by allowRead: CanRead decides
		{"/home/u/.sshd", false},
		{"/home/u", false},
		{"/", false},
		{"/etc/shadow", true},
		{"/etc/shadow-", false},
		{"/opt/x/y", true},
		{"/home/u/proj/secrets/k", true},
		{"/home/u/proj/src/main.go", false},
		{"/home/u/.cache/sbshim/srv/f", true}, // the private folder: CanRead decides
	} {
		if got := x.mayHide(c.p); got != c.want {
			t.Errorf("mayHide(%q) = %v, want %v", c.p, got, c.want)
		}
		mayHideAgrees(t, x, pol, c.p)
	}
	if newReadIndex(nil) != nil {
		t.Error("an index of no policy")
	}
	pol.Filesystem.DenyRead = append(pol.Filesystem.DenyRead, "/")
	if x := newReadIndex(pol); !x.mayHide("/usr/bin/env") {
		t.Error(`an entry "/" hides every path`)
	}
}

func FuzzReadIndexMayHide(f *testing.F) {
	for _, s := range []string{"/home/u/.ssh/a", "/home/u/proj/secrets", "/etc/shadow", "/usr/lib/x", "/home/u/.cache/sbshim/srv/k"} {
		f.Add(s)
	}
	pol := privatePolicy()
	pol.Filesystem.AllowRead = []string{"/home/u/.ssh/known_hosts", "/etc/shadow"}
	x := newReadIndex(pol)
	f.Fuzz(func(t *testing.T, p string) {
		mayHideAgrees(t, x, pol, p)
	})
}

// fastReadTree makes a sandbox-like tree under a temporary folder and
// returns an O_PATH descriptor of it, standing for the sandbox's root,
// and the folder's path.
func fastReadTree(t *testing.T) (int, string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"home/u/proj/src", "home/u/.ssh", "usr/lib", "tmp", "real/dir", "closed/in"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"home/u/proj/src/main.go", "home/u/.ssh/id_rsa", "usr/lib/os-release", "tmp/f", "real/dir/f", "closed/in/f"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"home/u/proj/key":    "/home/u/.ssh/id_rsa", // into a denyRead entry
		"home/u/proj/keys":   "../.ssh",             // the same, relative
		"home/u/proj/lib":    "/usr/lib",
		"home/u/proj/dangle": "/home/u/.ssh/none",
		"usr/link":           "/real/dir",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "closed"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "closed"), 0o755) })
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(root) })
	return root, dir
}

// inTree is the name in the tree at dir of the host path full: the
// kernel names what resolve opens from the test's root, not the tree's,
// as it would from a sandbox's.
func inTree(full, dir string) string {
	if full == dir {
		return "/"
	}
	if rest, ok := strings.CutPrefix(full, dir+"/"); ok {
		return "/" + rest
	}
	return full
}

// TestReadSeen checks the fast path's decision against the slow path's:
// wherever readSeen lets a read go, resolve finds the path as written,
// CanRead allows it and it is not in /tmp, so observeOpen would let it go
// without a report; and the cases that need the slow path get it.
func TestReadSeen(t *testing.T) {
	root, dir := fastReadTree(t)
	pol := matchPolicy()
	s := &supervisor{rules: pol, readIdx: newReadIndex(pol), root: root}
	c := &call{s: s}
	unprivileged := unix.Geteuid() != 0
	for _, k := range []struct {
		p        string
		nofollow bool
		want     bool
	}{
		{p: "/home/u/proj/src/main.go", want: true},
		{p: "/usr/lib/os-release", want: true},
		{p: "/home/u/proj/src/missing.jsonl", want: true},   // missing: the rest as written
		{p: "/home/u/proj/nodir/deeper/f", want: true},      // a missing folder
		{p: "/home/u/proj/src/main.go/x", want: false},      // ENOTDIR: the slow path
		{p: "/home/u/.ssh/id_rsa", want: false},             // denyRead
		{p: "/home/u/.ssh/none", want: false},               // denyRead, missing
		{p: "/home/u/proj/key", want: false},                // a link into denyRead
		{p: "/home/u/proj/keys/id_rsa", want: false},        // a folder link into denyRead
		{p: "/home/u/proj/keys/none", want: false},          // the same, missing
		{p: "/home/u/proj/dangle", want: false},             // a dangling link
		{p: "/home/u/proj/lib/os-release", want: false},     // any link: the slow path
		{p: "/usr/link/f", want: false},                     // the same
		{p: "/home/u/proj/key", nofollow: true, want: true}, // the link itself
		{p: "/tmp/f", want: false},                          // the sandbox's own /tmp
		{p: "/tmp", want: false},
		{p: "/home/u/proj/src/../main.go", want: false}, // not clean
		{p: "home/u/proj/src/main.go", want: false},     // relative
		{p: "/closed/in/f", want: !unprivileged},        // a folder sbshim cannot search
		{p: "/", want: true},
	} {
		buf := append([]byte(k.p), 0)
		got := readSeen(root, buf[:len(k.p)], k.nofollow, s.readIdx)
		if got != k.want {
			t.Errorf("readSeen(%q, nofollow %v) = %v, want %v", k.p, k.nofollow, got, k.want)
		}
		if !got {
			continue
		}
		full, err := c.resolve(unix.AT_FDCWD, k.p, !k.nofollow)
		full = inTree(full, dir)
		if err != nil || full != k.p {
			t.Errorf("readSeen(%q) lets it go, but resolve finds %q (%v)", k.p, full, err)
		}
		if rule, ok := pol.CanRead(full); !ok || inTmp(full) {
			t.Errorf("readSeen(%q) lets it go, but the observer would refuse it (%s)", k.p, rule)
		}
	}
	// Without the NUL the kernel reads up to, nothing goes.
	if readSeen(root, []byte("/usr/lib/os-release"), false, s.readIdx) {
		t.Error("readSeen took a path that is not NUL-terminated")
	}
}

// BenchmarkReadOpenCheck compares what the observer does for a read-only
// open of an existing and of a missing file outside every denyRead entry,
// in a real tree: the slow way (resolve and CanRead against the shipped
// default policy's 200-odd denyRead entries) and readSeen.
func BenchmarkReadOpenCheck(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "home/u/proj/node_modules/pkg/dist"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "home/u/proj/node_modules/pkg/dist/index.js"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(root)
	pol := matchPolicy()
	for i := range 200 {
		pol.Filesystem.DenyRead = append(pol.Filesystem.DenyRead, "/home/u/.secret"+strings.Repeat("x", i%7)+"/"+string(rune('a'+i%26)))
	}
	s := &supervisor{rules: pol, readIdx: newReadIndex(pol), root: root}
	c := &call{s: s}
	for _, name := range []string{"index.js", "missing.jsonl"} {
		p := "/home/u/proj/node_modules/pkg/dist/" + name
		b.Run("slow/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				full, _ := c.resolve(unix.AT_FDCWD, p, true)
				if _, ok := pol.CanRead(inTree(full, dir)); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run("fast/"+name, func(b *testing.B) {
			b.ReportAllocs()
			buf := append([]byte(p), 0)
			for range b.N {
				if !readSeen(root, buf[:len(p)], false, s.readIdx) {
					b.Fatal("not seen")
				}
			}
		})
	}
}

// TestDirName: the folder a relative path starts from is read from the
// caller's /proc entry, and only an absolute folder that still exists is
// taken.
func TestDirName(t *testing.T) {
	c := &call{pid: os.Getpid()}
	var buf [unix.PathMax]byte
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if got, ok := c.dirName(int32(fd), buf[:]); !ok || string(got) != dir {
		t.Errorf("dirName(folder) = %q, %v; want %q", got, ok, dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := c.dirName(unix.AT_FDCWD, buf[:]); !ok || string(got) != wd {
		t.Errorf("dirName(AT_FDCWD) = %q, %v; want %q", got, ok, wd)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	gfd, err := unix.Open(gone, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(gfd)
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]int32{"a pipe": int32(p[0]), "a removed folder": int32(gfd), "-5": -5, "not open": 999_999} {
		if got, ok := c.dirName(d, buf[:]); ok {
			t.Errorf("dirName(%s) = %q, want none", name, got)
		}
	}
}

func TestJoinPath(t *testing.T) {
	var buf [2*unix.PathMax + 1]byte
	for _, k := range []struct{ dir, rel, want string }{
		{"/", "etc/hostname", "/etc/hostname"},
		{"/home/u", "proj", "/home/u/proj"},
		{"/home/u", ".ssh/id_rsa", "/home/u/.ssh/id_rsa"},
		{"/a", "../b", "/a/../b"}, // joined as written: readSeen refuses what is not clean
		{"/" + strings.Repeat("d", unix.PathMax-2), strings.Repeat("r", unix.PathMax-1), "/" + strings.Repeat("d", unix.PathMax-2) + "/" + strings.Repeat("r", unix.PathMax-1)},
	} {
		got := joinPath(buf[:], []byte(k.dir), []byte(k.rel))
		if string(got) != k.want || buf[len(got)] != 0 {
			t.Errorf("joinPath(%q, %q) = %q (then %q), want %q and a NUL", k.dir, k.rel, got, buf[len(got)], k.want)
		}
	}
}
