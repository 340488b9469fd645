package policy

import (
	"slices"
	"testing"
)

// privatePolicy is matchPolicy with sbshim's private folders hidden, as
// Load makes it: $CACHE is /home/u/.cache/sbshim/srv.
func privatePolicy() *Policy {
	p := matchPolicy()
	p.Vars.PrivateDirs = []string{"/home/u/.cache/sbshim", "/home/u/.local/state/sbshim"}
	p.Filesystem.DenyRead = append(p.Filesystem.DenyRead, p.Vars.PrivateDirs...)
	p.Filesystem.DenyWrite = append(p.Filesystem.DenyWrite, "/home/u/.cache/sbshim/srv/agent/c/.credentials.json")
	return p
}

func TestPrivateDirs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name  string
		env   map[string]string
		cache string
		want  []string
	}{
		{"defaults", nil, "/h/.cache/sbshim/x", []string{"/h/.cache/sbshim", "/h/.local/state/sbshim"}},
		{"xdg", map[string]string{"XDG_CACHE_HOME": "/c", "XDG_STATE_HOME": "/s/"}, "/c/sbshim/x", []string{"/c/sbshim", "/s/sbshim"}},
		{"relative xdg is unset", map[string]string{"XDG_CACHE_HOME": "c", "XDG_STATE_HOME": "s"}, "", []string{"/h/.cache/sbshim", "/h/.local/state/sbshim"}},
		{"cache elsewhere", nil, "/elsewhere/sbshim/x", []string{"/h/.cache/sbshim", "/h/.local/state/sbshim", "/elsewhere/sbshim"}},
		{"cache not under sbshim", nil, "/tmp/x", []string{"/h/.cache/sbshim", "/h/.local/state/sbshim"}},
	} {
		if got := privateDirs("/h", c.cache, env(c.env)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestPrivateStateCarveOut: sbshim's private folders are hidden but for
// the server's own $CACHE and the way to it.
func TestPrivateStateCarveOut(t *testing.T) {
	p := privatePolicy()
	for _, c := range []struct {
		path        string
		read, write bool
	}{
		{"/home/u/.cache/sbshim/srv/npm/x", true, true},
		{"/home/u/.cache/sbshim/srv", true, true},
		{"/home/u/.cache/sbshim", true, false}, // the way to the own cache; the mask shows nothing else
		{"/home/u/.cache/sbshim/other", false, false},
		{"/home/u/.cache/sbshim/other/agent/claude/.credentials.json", false, false},
		{"/home/u/.cache/sbshim/srv2", false, false},
		{"/home/u/.cache/sbshim/registries.json", false, false},
		{"/home/u/.local/state/sbshim/audit/srv.jsonl", false, false},
		{"/home/u/.local/state/sbshim", false, false},
		{"/home/u/.cache/sbshim/srv/agent/c/.credentials.json", true, false},
		{"/home/u/.cache/other-tool", true, false},
	} {
		if _, ok := p.CanRead(c.path); ok != c.read {
			t.Errorf("CanRead(%s) = %v, want %v", c.path, ok, c.read)
		}
		if _, ok := p.CanWrite(c.path); ok != c.write {
			t.Errorf("CanWrite(%s) = %v, want %v", c.path, ok, c.write)
		}
	}
	// A denyRead of the user's own stays absolute: it is not a private
	// folder, so a writable tree inside it is hidden.
	q := matchPolicy()
	q.Filesystem.DenyRead = append(q.Filesystem.DenyRead, "/home/u/.cache")
	if _, ok := q.CanRead("/home/u/.cache/sbshim/srv/x"); ok {
		t.Errorf("a user's denyRead over $CACHE no longer hides it")
	}
	if _, denied := p.CheckCreate("/home/u/.cache/sbshim/other", false); !denied {
		t.Errorf("a neighbour's cache can be created")
	}
}
