package configs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{"agent", "default", "host-network", "no-network", "read-only", "workspace-write"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
}

func TestReadEveryProfileHasDescription(t *testing.T) {
	for _, name := range Names() {
		data, err := Read(name)
		if err != nil {
			t.Fatalf("Read(%q): %v", name, err)
		}
		var v struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(v.Description) < 20 {
			t.Errorf("%s: description %q is too short to document it", name, v.Description)
		}
	}
}

func TestReadUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "../default", "default.json", ".", "a/b"} {
		if _, err := Read(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Read(%q) error = %v, want fs.ErrNotExist", name, err)
		}
	}
}
