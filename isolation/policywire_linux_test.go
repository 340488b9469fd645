package isolation

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

// TestPolicyWireEveryField: every field of the policy, nested ones
// included, crosses to the deputy exactly (a field added to
// policy.Policy fails this until the codec carries it).
func TestPolicyWireEveryField(t *testing.T) {
	var pol policy.Policy
	fillDistinct(t, &pol, nil)
	b, err := encodeDeputyConfig(&pol)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ready, err := readDeputyConfig(bytes.NewReader(append([]byte{deputyReady}, b...)))
	if err != nil {
		t.Fatalf("readDeputyConfig: %v", err)
	}
	if !ready {
		t.Error("the ready byte was not seen")
	}
	if !reflect.DeepEqual(cfg.Policy, &pol) {
		t.Fatalf("round trip lost something:\n got %#v\nwant %#v", cfg.Policy, &pol)
	}
}

// TestPolicyWireRealPolicy: a policy as Load makes it, default profile,
// round-trips; empty lists and maps arrive as nil.
func TestPolicyWireRealPolicy(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(policy.LoadOptions{UserConfigDir: t.TempDir(), Vars: policy.Vars{Workspace: wd}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := unmarshalPolicy(marshalPolicy(pol))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshalPolicy(got), marshalPolicy(pol)) {
		t.Fatal("a loaded policy does not round-trip")
	}
	for _, p := range []string{"/etc/passwd", pol.Vars.Home + "/.ssh/id_rsa", wd + "/x"} {
		r1, ok1 := pol.CanRead(p)
		r2, ok2 := got.CanRead(p)
		w1, wok1 := pol.CanWrite(p)
		w2, wok2 := got.CanWrite(p)
		if r1 != r2 || ok1 != ok2 || w1 != w2 || wok1 != wok2 {
			t.Errorf("%s: decisions differ after the round trip", p)
		}
	}
	if empty, err := unmarshalPolicy(marshalPolicy(&policy.Policy{Env: policy.EnvPolicy{Set: map[string]string{}}, Sources: []string{}})); err != nil ||
		!reflect.DeepEqual(empty, &policy.Policy{}) {
		t.Fatalf("empty lists and maps: %#v, %v; want them nil", empty, err)
	}
}

func TestPolicyWireRefusesMalformed(t *testing.T) {
	var full policy.Policy
	fillDistinct(t, &full, nil)
	good := marshalPolicy(&full)
	m := len(policyMagic)
	twoSet := marshalPolicy(&policy.Policy{Env: policy.EnvPolicy{Set: map[string]string{"a": "1", "b": "2"}}})
	swapped := bytes.Replace(bytes.Replace(twoSet, []byte("\x01\x00\x00\x00a"), []byte("\x01\x00\x00\x00c"), 1),
		[]byte("\x01\x00\x00\x00b"), []byte("\x01\x00\x00\x00a"), 1)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "wrong magic"},
		{"gob", []byte("\x1f\xff\x81\x03\x01\x01\x0cdeputyConfig"), "wrong magic"},
		{"other version", append([]byte(policyMagic[:m-1]+"\x02"), good[m:]...), "version 2"},
		{"trailing byte", append(append([]byte{}, good...), 0), "malformed"},
		{"truncated", good[:len(good)-1], "malformed"},
		{"env.set out of order", swapped, "malformed"},
		{"huge count", append(append([]byte{}, good[:m]...), 0xff, 0xff, 0xff, 0x7f), "malformed"},
	} {
		_, err := unmarshalPolicy(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	for i := range good {
		if _, err := unmarshalPolicy(good[:i]); err == nil {
			t.Fatalf("the first %d bytes of %d decode", i, len(good))
		}
	}
}

// FuzzPolicyWire: any bytes decode to an error or to a policy that
// encodes back to exactly those bytes; nothing panics.
func FuzzPolicyWire(f *testing.F) {
	var full policy.Policy
	fillDistinct(f, &full, nil)
	f.Add(marshalPolicy(&full))
	f.Add(marshalPolicy(&policy.Policy{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := unmarshalPolicy(b)
		if err != nil {
			return
		}
		if again := marshalPolicy(p); !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %#v, which encodes to %x", b, p, again)
		}
	})
}
