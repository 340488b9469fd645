package mcp

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstSpecial is special's reference: the index of the first byte of w
// that is '"', '\\' or a control character, or 8.
func firstSpecial(w []byte) int {
	for i, c := range w {
		if c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return 8
}

func checkSpecial(t *testing.T, w []byte) {
	t.Helper()
	m := special(binary.LittleEndian.Uint64(w))
	got := 8
	if m != 0 {
		got = bits.TrailingZeros64(m) >> 3
	}
	if want := firstSpecial(w); got != want {
		t.Fatalf("special(% x): first special byte %d, want %d", w, got, want)
	}
}

func TestSpecial(t *testing.T) {
	w := make([]byte, 8)
	// Every byte value in every lane, over a background of each value.
	for bg := range 256 {
		for lane := range 8 {
			for c := range 256 {
				for i := range w {
					w[i] = byte(bg)
				}
				w[lane] = byte(c)
				checkSpecial(t, w)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, 0x20, 0x21, '"', '\\', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff, 'a'}
	for range 200000 {
		for i := range w {
			w[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkSpecial(t, w)
	}
}

func TestScannerString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		end  int
		good bool
	}{
		{`""`, 2, true},
		{`"abc"`, 5, true},
		{`"abcdefghijklmnopqrstuvwxyz"x`, 28, true},
		{`"abcdefgh\"ijklmnop"`, 20, true},
		{`"abcdefghijklmnop\u00e9qrstuvwx\\"`, 34, true},
		{"\"abcdefghijklmnop\x01\"", 17, false},
		{"\"abcdefghijklmnop\xff\xfe\"", 20, true},
		{`"abcdefghijklmnop`, 17, false},
		{`"abcdefghijklmno\`, 16, false},
		{`"abcdefghijklmno\x"`, 16, false},
		{`"abcdefghijklmno\u12"`, 16, false},
	} {
		s := scanner{b: []byte(tc.in)}
		end, ok := s.str(0)
		if ok != tc.good || (ok && end != tc.end) {
			t.Errorf("str(%q) = %d, %v; want %d, %v", tc.in, end, ok, tc.end, tc.good)
		}
	}
}
