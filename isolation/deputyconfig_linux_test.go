package isolation

import (
	"bytes"
	"reflect"
	"testing"
)

// TestDeputyConfig: what sbshim encodes and the init passes on, behind the
// byte that says whether the ready byte is wanted, is what the deputy
// reads; anything else is refused.
func TestDeputyConfig(t *testing.T) {
	pol := privatePolicy()
	enc, err := encodeDeputyConfig(pol)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		pipe      []byte
		ok, ready bool
	}{
		{"ready", append([]byte{deputyReady}, enc...), true, true},
		{"no ready", append([]byte{deputyNoReady}, enc...), true, false},
		{"bad first byte", append([]byte{'x'}, enc...), false, false},
		{"no first byte", enc, false, false},
		{"empty", nil, false, false},
		{"truncated", append([]byte{deputyNoReady}, enc[:len(enc)/2]...), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ready, err := readDeputyConfig(bytes.NewReader(tc.pipe))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if ready != tc.ready {
				t.Errorf("ready %v, want %v", ready, tc.ready)
			}
			if !reflect.DeepEqual(cfg.Policy.Filesystem, pol.Filesystem) || !reflect.DeepEqual(cfg.Policy.Vars, pol.Vars) {
				t.Errorf("policy changed on the way:\n got %+v\nwant %+v", cfg.Policy, pol)
			}
		})
	}
}
