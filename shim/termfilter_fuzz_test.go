package shim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTermFilter: for any output of the command, cut anywhere, the
// filter's output is the same, contains none of the dropped classes (as
// an independent reader of it sees them), is left as it is by a second
// pass, and the filter holds a bounded amount and never stays stuck: a
// CAN followed by text always lets the text through.
func FuzzTermFilter(f *testing.F) {
	seeds := []string{
		"plain", csi + "31mred" + csi + "0m", osc + "52;c;aGk=" + bel, osc + "0;t" + st,
		esc + "P$qm" + st, osc + "8;;https://x" + st + "l" + osc + "8;;" + st,
		csi + "?1049;2;1006h", "\xe2\x94\x80\xc2\x9b", esc + "_Gx" + st, csi + "21t" + csi + "6n",
		osc + "0;a" + esc + "]52;c;x" + bel, esc + "P" + esc + esc + "]52;c;x" + bel, "\xf0\x9f\x99",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(i), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, utf8Mode bool) {
		whole := newTermFilter(utf8Mode).filter(nil, in)
		c := int(cut) % (len(in) + 1)
		g := newTermFilter(utf8Mode)
		split := g.filter(g.filter(nil, in[:c]), in[c:])
		if !bytes.Equal(whole, split) {
			t.Fatalf("cut at %d: %q, in one read %q", c, split, whole)
		}
		if cap(g.seq) > 2*maxOSC {
			t.Fatalf("holds %d bytes", cap(g.seq))
		}
		if err := checkTerminalSafe(whole, utf8Mode); err != nil {
			t.Fatalf("%v in %q (from %q)", err, whole, in)
		}
		if again := newTermFilter(utf8Mode).filter(nil, whole); !bytes.Equal(again, whole) {
			t.Fatalf("a second pass changes %q to %q", whole, again)
		}
		if out := g.filter(nil, []byte("\x18ok")); !bytes.HasSuffix(out, []byte("ok")) {
			t.Fatalf("after %q, CAN and text give %q", in, out)
		}
	})
}

// checkTerminalSafe reads out as a terminal would and reports the first
// thing in it of a class the filter drops. It is written apart from the
// filter, from the table of what passes.
func checkTerminalSafe(out []byte, utf8Mode bool) error {
	for i := 0; i < len(out); {
		b := out[i]
		switch {
		case b == 0x1b:
			n, err := checkEscape(out[i:])
			if err != nil {
				return fmt.Errorf("at %d: %w", i, err)
			}
			i += n
		case b < 0x20 || b == 0x7f:
			if !strings.ContainsRune("\a\b\t\n\v\f\r\x0e\x0f", rune(b)) {
				return fmt.Errorf("at %d: control %#x", i, b)
			}
			i++
		case b < 0x80:
			i++
		case !utf8Mode:
			if b < 0xa0 {
				return fmt.Errorf("at %d: C1 %#x", i, b)
			}
			i++
		default:
			r, n := utf8.DecodeRune(out[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("at %d: invalid UTF-8", i)
			}
			if r >= 0x80 && r < 0xa0 {
				return fmt.Errorf("at %d: C1 %U", i, r)
			}
			i += n
		}
	}
	return nil
}

// checkEscape checks the sequence at the start of s (an ESC) and returns
// its length.
func checkEscape(s []byte) (int, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("unfinished escape")
	}
	switch s[1] {
	case '[':
		i := 2
		for i < len(s) && s[i] >= 0x20 && s[i] < 0x40 {
			i++
		}
		if i == len(s) || s[i] < 0x40 || s[i] > 0x7e {
			return 0, fmt.Errorf("unfinished control sequence %q", s[:i])
		}
		body, fin := string(s[2:i]), s[i]
		marker := ""
		if body != "" && strings.ContainsRune("<=>?", rune(body[0])) {
			marker, body = body[:1], body[1:]
		}
		switch {
		case fin == 't' && !(strings.HasPrefix(body, "22") || strings.HasPrefix(body, "23")):
			return 0, fmt.Errorf("window operation or report %q", s[:i+1])
		case fin == 'n' && marker != ">" && !(marker == "" && (body == "5" || body == "6") || marker == "?" && body == "6"):
			// (CSI > Ps n resets key modifier options.)
			return 0, fmt.Errorf("status report %q", s[:i+1])
		case fin == 'c' && (marker == "=" || marker == "?" || body != "" && body != "0"):
			return 0, fmt.Errorf("device attributes %q", s[:i+1])
		case strings.IndexByte("iwxyz{|}~", fin) >= 0, fin == 'q' && !strings.HasSuffix(body, " "):
			return 0, fmt.Errorf("printing, rectangle, checksum, LED or version %q", s[:i+1])
		case marker == "?" && strings.IndexByte("hlsr", fin) >= 0:
			for m := range strings.SplitSeq(body, ";") {
				switch m {
				case "2", "3", "19", "38", "40", "1001", "1043", "1044", "2031", "80":
					return 0, fmt.Errorf("mode %s in %q", m, s[:i+1])
				}
			}
		case marker == "" && (fin == 'h' || fin == 'l') && body != "4":
			return 0, fmt.Errorf("ANSI mode %q", s[:i+1])
		case strings.Contains(body, "$") && fin != 'p', strings.Contains(body, "\""), strings.Contains(body, "*"):
			return 0, fmt.Errorf("control sequence %q", s[:i+1])
		}
		return i + 1, nil
	case ']':
		i := 2
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		switch string(s[2:i]) {
		case "0", "1", "2", "7", "8", "133":
		default:
			return 0, fmt.Errorf("OSC %q", s[2:i])
		}
		for ; i < len(s); i++ {
			switch {
			case s[i] == 0x07:
				return i + 1, nil
			case s[i] == 0x1b:
				if i+1 < len(s) && s[i+1] == '\\' {
					return i + 2, nil
				}
				return 0, fmt.Errorf("OSC ended by ESC %q", s[:i+1])
			case s[i] < 0x20 || s[i] == 0x7f:
				return 0, fmt.Errorf("control in OSC %q", s[:i+1])
			}
		}
		return 0, fmt.Errorf("unfinished OSC")
	case 'P', 'X', '^', '_':
		return 0, fmt.Errorf("string %q", s[:2])
	}
	i := 1
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x30 {
		i++
	}
	if i == len(s) || s[i] < 0x30 || s[i] > 0x7e {
		return 0, fmt.Errorf("unfinished escape %q", s[:i])
	}
	inter := string(s[1:i])
	if strings.HasPrefix(inter, "%") || strings.HasPrefix(inter, " ") || inter == "" && strings.IndexByte("Z\\lmFV", s[i]) >= 0 {
		return 0, fmt.Errorf("escape %q", s[:i+1])
	}
	return i + 1, nil
}

// TestCheckTerminalSafe: the fuzz test's reader sees the dropped classes
// in raw output (else the fuzz test would prove nothing).
func TestCheckTerminalSafe(t *testing.T) {
	for _, in := range []string{
		osc + "52;c;aGk=" + bel, osc + "11;?" + st, esc + "P$qm" + st, esc + "_Gx" + st,
		esc + "^x" + st, esc + "Xx" + st, csi + "21t", csi + "8;1;1t", csi + "?15n", csi + "=c",
		csi + ">q", csi + "0i", csi + "1;1;1;1;1;1*y", csi + "?1044h", esc + "%@", "\x05",
		"\x9b1m", "\u009d", "\xc0\x9b", osc + "0;a\rb" + bel, osc + "9;x" + bel,
	} {
		if checkTerminalSafe([]byte(in), true) == nil {
			t.Errorf("%q is not seen as dropped", in)
		}
	}
}
