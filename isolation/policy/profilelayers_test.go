package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadProfileLayers: the layers come merged as Load merges them, with
// their variables kept; the server layer adds to the default's lists and
// a --profile layer replaces them; Top is the --profile layer alone.
func TestLoadProfileLayers(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "profiles", "mine.json"), []byte(`{"filesystem":{"allowWrite":["$WORKSPACE","~/notes"]},"network":{"allow":["a.example.com"]}}`), 0o600)
	server := &ServerLayer{Name: "srv", Source: "built-in:servers/srv", Profile: &Profile{
		Filesystem: &FilesystemProfile{AllowWrite: []string{"/data"}},
		Network:    &NetworkProfile{Allow: []string{"api.example.com:443"}},
	}}
	vars := Vars{Home: "/home/u", Workspace: "/home/u/proj", Tmp: "/tmp", Cache: "/home/u/.cache/x"}
	for _, c := range []struct {
		name      string
		o         LoadOptions
		write     []string
		allow     []string
		topSource string
	}{
		{"default", LoadOptions{}, []string{"$WORKSPACE", "$TMP", "$CACHE"}, nil, ""},
		{"server", LoadOptions{Server: server}, []string{"$WORKSPACE", "$TMP", "$CACHE", "/data"}, []string{"api.example.com:443"}, ""},
		{"profile", LoadOptions{Profile: "mine"}, []string{"$WORKSPACE", "~/notes"}, []string{"a.example.com"}, filepath.Join(dir, "profiles", "mine.json")},
		{"server and profile", LoadOptions{Server: server, Profile: "mine"}, []string{"$WORKSPACE", "~/notes"}, []string{"a.example.com"}, filepath.Join(dir, "profiles", "mine.json")},
		{"built-in default as --profile", LoadOptions{Profile: "default"}, []string{"$WORKSPACE", "$TMP", "$CACHE"}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.UserConfigDir, c.o.Vars = dir, vars
			l, err := LoadProfileLayers(c.o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.Merged.Filesystem.AllowWrite, c.write) || !slices.Equal(l.Merged.Network.Allow, c.allow) && len(c.allow)+len(l.Merged.Network.Allow) > 0 {
				t.Errorf("allowWrite %q allow %q, want %q %q", l.Merged.Filesystem.AllowWrite, l.Merged.Network.Allow, c.write, c.allow)
			}
			if l.TopSource != c.topSource || (l.Top == nil) != (c.topSource == "") {
				t.Errorf("top %q (%v), want %q", l.TopSource, l.Top != nil, c.topSource)
			}
			if c.o.Server != nil {
				pol, err := Load(c.o)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(pol.Sources, "built-in:servers/srv") || pol.Name[:len("default+srv")] != "default+srv" {
					t.Errorf("policy %q sources %q", pol.Name, pol.Sources)
				}
			}
		})
	}
}

// TestLoadValidatesServerLayer: a server layer is checked like any
// other layer.
func TestLoadValidatesServerLayer(t *testing.T) {
	bad := &ServerLayer{Name: "srv", Source: "built-in:servers/srv", Profile: &Profile{Filesystem: &FilesystemProfile{AllowWrite: []string{"relative/path"}}}}
	_, err := Load(LoadOptions{UserConfigDir: t.TempDir(), Server: bad, Vars: Vars{Home: "/home/u", Workspace: "/w", Cache: "/c"}})
	if err == nil || !strings.Contains(err.Error(), "built-in:servers/srv") {
		t.Fatalf("Load with a bad server layer: %v", err)
	}
}
