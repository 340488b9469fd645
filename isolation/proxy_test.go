package isolation

import "testing"

// TestRegistryEnvWritable: registry discovery takes its idea of what the
// sandbox can write from the policy, remembered or not.
func TestRegistryEnvWritable(t *testing.T) {
	p := matchPolicy()
	memo := writableMemo{}
	for _, tc := range []struct {
		name string
		memo writableMemo
	}{{"asked every time", nil}, {"remembered", memo}, {"remembered, asked again", memo}} {
		w := registryEnv(p, nil, nil, tc.memo).Writable
		for path, want := range map[string]bool{
			"/home/u/proj/uv.toml":                  true,
			"/home/u/proj":                          true,
			"/home/u/proj/.npmrc":                   false, // protected, but its directory is writable: discovery checks both
			"/home/u/.npmrc":                        false,
			"/home/u/.cache/sbshim/registries.json": false,
			"/etc/pip.conf":                         false,
		} {
			if got := w(path); got != want {
				t.Errorf("%s: Writable(%q) = %v, want %v", tc.name, path, got, want)
			}
		}
	}
	if len(memo) != 6 {
		t.Errorf("the memo holds %d answers, want 6: %v", len(memo), memo)
	}
}
