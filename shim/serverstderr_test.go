package shim

import (
	"bytes"
	"strings"
	"testing"
)

// The server's "sbshim:" becomes "sbshim(server):", however its bytes
// are split into writes; nothing else changes.
func TestServerStderrMarks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hello\n", "hello\n"},
		{"sbshim: blocked read /x\n", "sbshim(server): blocked read /x\n"},
		{"SbShIm: ok\n", "SbShIm(server): ok\n"},
		{"x\rsbshim: ok\n", "x\rsbshim(server): ok\n"},
		{"\x1b[2Ksbshim: ok\x1b[1Asbshim:", "\x1b[2Ksbshim(server): ok\x1b[1Asbshim(server):"},
		{"fetch failed: 403 sbshim: connection refused\n", "fetch failed: 403 sbshim(server): connection refused\n"},
		{"sbsbshim::\n", "sbsbshim(server)::\n"},
		{"sbshim :\nsbshi:\nshim:\n", "sbshim :\nsbshi:\nshim:\n"},
		{"sbshim(server): x\n", "sbshim(server): x\n"},
		{":sbshim", ":sbshim"},
		{"", ""},
	} {
		for split := 0; split <= len(tc.in); split++ {
			for step := 1; step <= 3; step++ {
				var out bytes.Buffer
				f := &serverStderr{w: &out}
				write := func(p string) {
					if n, err := f.Write([]byte(p)); n != len(p) || err != nil {
						t.Fatalf("Write(%q) = %d, %v", p, n, err)
					}
				}
				// The first split bytes in writes of step bytes,
				// the rest in one.
				head := tc.in[:split]
				for len(head) > 0 {
					n := min(step, len(head))
					write(head[:n])
					head = head[n:]
				}
				write(tc.in[split:])
				if out.String() != tc.want {
					t.Fatalf("%q split at %d by %d: %q, want %q", tc.in, split, step, out.String(), tc.want)
				}
			}
		}
	}
}

// No text the server writes comes out with "sbshim:" in it.
func FuzzServerStderr(f *testing.F) {
	f.Add([]byte("sbshim: x\n"), 3)
	f.Add([]byte("SBSHIM:sbshim:"), 7)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		var out bytes.Buffer
		s := &serverStderr{w: &out}
		if split < 0 || split > len(in) {
			split = len(in) / 2
		}
		s.Write(in[:split])
		s.Write(in[split:])
		got := out.String()
		if strings.Contains(strings.ToLower(got), "sbshim:") {
			t.Fatalf("%q came out as %q", in, got)
		}
		if strings.ReplaceAll(got, serverMarker, "") != strings.ReplaceAll(string(in), serverMarker, "") {
			t.Fatalf("%q came out as %q: more than the marker changed", in, got)
		}
	})
}
