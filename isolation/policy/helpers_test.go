package policy

import (
	"encoding/json"
	"reflect"
	"testing"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// roundTrip checks that p survives json.Marshal and ParseProfile unchanged.
func roundTrip(t testing.TB, p *Profile) {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	q, err := ParseProfile("round-trip", data)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", data, err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the profile\n before %s\n after  %s", data, mustJSON(t, q))
	}
}
