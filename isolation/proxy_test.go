package isolation

import "testing"

// TestRegistryEnvWritable: registry discovery takes its idea of what the
// sandbox can write from the policy.
func TestRegistryEnvWritable(t *testing.T) {
	p := matchPolicy()
	w := registryEnv(p, nil, nil).Writable
	for path, want := range map[string]bool{
		"/home/u/proj/uv.toml":                  true,
		"/home/u/proj":                          true,
		"/home/u/proj/.npmrc":                   false, // protected, but its directory is writable: discovery checks both
		"/home/u/.npmrc":                        false,
		"/home/u/.cache/sbshim/registries.json": false,
		"/etc/pip.conf":                         false,
	} {
		if got := w(path); got != want {
			t.Errorf("Writable(%q) = %v, want %v", path, got, want)
		}
	}
}
