package seatbelt

import (
	"regexp"
	"testing"
)

// FuzzNames: validTag and validTTY accept exactly what their patterns
// describe.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"", "sbshim-3f9a1c0e", "a b", "x\x00", "/dev/ttys001", "/dev/ttys", "/dev/ttys1234567", "/dev/ttys0a", "/dev/ttyS1",
		"0123456789012345678901234567890123456789012345678901234567890123", "01234567890123456789012345678901234567890123456789012345678901234"} {
		f.Add(s)
	}
	tag := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	tty := regexp.MustCompile(`^/dev/ttys[0-9]{1,6}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validTag(s), tag.MatchString(s); got != want {
			t.Errorf("validTag(%q) = %v, want %v", s, got, want)
		}
		if got, want := validTTY(s), tty.MatchString(s); got != want {
			t.Errorf("validTTY(%q) = %v, want %v", s, got, want)
		}
	})
}
