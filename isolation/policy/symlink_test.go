package policy

import "testing"

// TestCheckSymlink: in a work tree no link may lead into a .git, nor into
// a writable folder that is no work tree ($TMP, $CACHE), where a bare
// repository can be prepared; elsewhere links are free.
func TestCheckSymlink(t *testing.T) {
	p := &Policy{
		Filesystem: FilesystemPolicy{AllowWrite: []string{"/h/proj", "/tmp", "/h/.cache/sbshim/srv"}},
		Vars:       Vars{Home: "/h", Workspace: "/h/proj", Tmp: "/tmp", Cache: "/h/.cache/sbshim/srv"},
	}
	for _, c := range []struct {
		path, target string
		denied       bool
	}{
		{"/h/proj/docs", "src", false},
		{"/h/proj/docs", "/usr/share/doc", false},
		{"/h/proj/node_modules/.bin/tsc", "../typescript/bin/tsc", false},
		{"/h/proj/docs", ".git/prepared", true},
		{"/h/proj/docs", "/h/other/.git", true},
		{"/h/proj/docs", "/h/.cache/sbshim/srv/bare", true},
		{"/h/proj/docs", "/h/.cache/sbshim/srv", true},
		{"/h/proj/docs", "/h/.cache/sbshim/srv/", true},
		{"/h/proj/docs", "../.cache/sbshim/srv/bare", true},
		{"/h/proj/a/b", "../../.cache/./sbshim/srv/x/../bare", true},
		{"/h/proj/docs", "/tmp/bare", true},
		{"/h/proj/docs", "/h/.cache/sbshim/srvx", false},
		{"/h/proj/docs", "/h/.cache", false},
		// Outside a work tree, and inside a git directory, links are free.
		{"/h/.cache/sbshim/srv/link", "/h/.cache/sbshim/srv/bare", false},
		{"/tmp/link", "/tmp/bare", false},
		{"/h/proj/.git/x", "/h/.cache/sbshim/srv/bare", false},
	} {
		rule, denied := p.CheckSymlink(c.path, c.target)
		if denied != c.denied {
			t.Errorf("CheckSymlink(%q, %q) = %q, %v; want denied %v", c.path, c.target, rule, denied, c.denied)
		}
		if denied && rule == "" {
			t.Errorf("CheckSymlink(%q, %q) denied without a rule", c.path, c.target)
		}
	}
}
