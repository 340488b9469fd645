package mcp

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// firstControl is controlAt's reference.
func firstControl(b []byte) int {
	for i, c := range b {
		if c < 0x20 {
			return i
		}
	}
	return -1
}

func TestControlAt(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		if got, want := controlAt(b), firstControl(b); got != want {
			t.Fatalf("controlAt(% x) = %d, want %d", b, got, want)
		}
	}
	// Every byte value at every position of the first word, over a
	// background of every value, and at every position of longer runs.
	w := make([]byte, 8)
	for bg := range 256 {
		for pos := range 8 {
			for c := range 256 {
				for i := range w {
					w[i] = byte(bg)
				}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	long := make([]byte, 80)
	for n := range len(long) + 1 {
		for pos := range n {
			for _, c := range []byte{0, 0x1f, 0x20, 0x7f, 0x80, 0xff} {
				for i := range long {
					long[i] = 'a'
				}
				long[pos] = c
				check(long[:n])
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, 0x20, 0x21, '"', '\\', 0x7f, 0x80, 0x9f, 0xa0, 0xff, 'a'}
	for range 20000 {
		b := make([]byte, r.IntN(100))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			if r.IntN(4) > 0 {
				b[i] = 'a'
			}
		}
		check(b)
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
		{`"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\""`, 40, true},
		{`"abc\\"def"`, 7, true},
		{`"abc\\\"def"`, 12, true},
		{"\"" + strings.Repeat("abcdefgh", 9) + "\x7f\x1f\"", 74, false},
		{"\"" + strings.Repeat("abcdefgh", 9) + "\\n\"", 76, true},
	} {
		s := scanner{b: []byte(tc.in)}
		end, ok := s.str(0)
		if ok != tc.good || (ok && end != tc.end) {
			t.Errorf("str(%q) = %d, %v; want %d, %v", tc.in, end, ok, tc.end, tc.good)
		}
	}
}

// refStr is str's reference: the byte loop it replaced.
func refStr(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

// Long and short strings, escapes near and far, several strings in a row
// through one scanner (next remembers the next quote between calls).
func TestScannerStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "abcdefgh", strings.Repeat("x", 70), `\"`, `\\`, `\n`, `\u00e9`, `\u12`, `\x`, "\x01", "\x7f", "\xff", `"`, `\`}
	for range 20000 {
		var sb strings.Builder
		sb.WriteByte('"')
		for range r.IntN(12) {
			p := pieces[r.IntN(len(pieces))]
			if r.IntN(3) > 0 {
				p = pieces[r.IntN(3)]
			}
			sb.WriteString(p)
		}
		checkStrings(t, []byte(sb.String()))
	}
}

// checkStrings runs str and refStr on every string of in, in order,
// through one scanner, up to the first that is not valid.
func checkStrings(t *testing.T, in []byte) {
	t.Helper()
	s := scanner{b: in}
	for i := 0; i < len(in); {
		if in[i] != '"' {
			i++
			continue
		}
		got, gotOK := s.str(i)
		want, wantOK := refStr(in, i)
		if got != want || gotOK != wantOK {
			t.Fatalf("str(%q, %d) = %d, %v; want %d, %v", in, i, got, gotOK, want, wantOK)
		}
		if !gotOK {
			return
		}
		i = got
	}
}

// FuzzScannerString checks str against the byte loop it replaced, on
// every string of the input through one scanner (next remembers the next
// quote between strings), with runs long enough for the vectorised path.
func FuzzScannerString(f *testing.F) {
	f.Add([]byte(`"abc"`), uint8(0))
	f.Add([]byte(`"a\"b\\c\u00e9" "x"`), uint8(70))
	f.Add([]byte("\"\x01\""), uint8(200))
	f.Add([]byte(`"\u12" "\x"`), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, pad uint8) {
		// Spread the input: pad ordinary bytes after every quote so that
		// runs cross the 64-byte threshold of next.
		var in []byte
		for _, c := range data {
			in = append(in, c)
			if c == '"' {
				in = append(in, bytes.Repeat([]byte{'p'}, int(pad))...)
			}
		}
		checkStrings(t, in)
	})
}
