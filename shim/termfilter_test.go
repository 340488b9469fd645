package shim

import (
	"bytes"
	"strings"
	"testing"
)

// filterAll runs a fresh UTF-8 filter over the chunks in turn.
func filterAll(utf8 bool, chunks ...string) string {
	f := newTermFilter(utf8)
	var out []byte
	for _, c := range chunks {
		out = f.filter(out, []byte(c))
	}
	return string(out)
}

// filterSplits checks that every way of cutting in into two reads, and
// one byte per read, gives the same output as one read, and returns it.
func filterSplits(t *testing.T, utf8 bool, in string) string {
	t.Helper()
	want := filterAll(utf8, in)
	step := 1
	if len(in) > 1024 { // every cut would take quadratic time
		step = 997
	}
	for i := 1; i < len(in); i += step {
		if got := filterAll(utf8, in[:i], in[i:]); got != want {
			t.Fatalf("%q cut at %d: %q, in one read %q", in, i, got, want)
		}
	}
	bytewise := make([]string, len(in))
	for i := 0; i < len(in); i++ {
		bytewise[i] = in[i : i+1]
	}
	if got := filterAll(utf8, bytewise...); got != want {
		t.Fatalf("%q byte by byte: %q, in one read %q", in, got, want)
	}
	return want
}

const (
	esc = "\x1b"
	csi = esc + "["
	osc = esc + "]"
	st  = esc + `\`
	bel = "\a"
)

// TestTermFilterPasses: what programs need to draw reaches the terminal
// unchanged.
func TestTermFilterPasses(t *testing.T) {
	cases := []struct{ name, in string }{
		{"text", "hello, world"},
		{"utf-8", "héllo — ✻ 日本語 🙂 ─│┌"},
		{"replacement character itself", "\uFFFD"},
		{"cursor controls", "a\r\nb\tc\bd\x0b\x0c" + bel},
		{"shift in and out", "\x0eqqq\x0f"},
		{"SGR", csi + "0m" + csi + "1;31;48;5;236m" + csi + "38;2;255;128;0m" + csi + "38:2::255:128:0m" + csi + "m"},
		{"cursor movement", csi + "H" + csi + "12;40H" + csi + "3A" + csi + "B" + csi + "10C" + csi + "D" + csi + "5G" + csi + "7d" + csi + "2;3f"},
		{"erase", csi + "2J" + csi + "K" + csi + "1K" + csi + "3X" + csi + "?2J" + csi + "?K"},
		{"insert and delete", csi + "2@" + csi + "3P" + csi + "L" + csi + "M" + csi + "4h" + csi + "4l"},
		{"scroll region and scroll", csi + "1;20r" + csi + "r" + csi + "S" + csi + "2T"},
		{"save and restore cursor", csi + "s" + csi + "u" + esc + "7" + esc + "8"},
		{"alternate screen", csi + "?1049h" + csi + "?1049l" + csi + "?47h" + csi + "?1047l"},
		{"cursor visibility and style", csi + "?25l" + csi + "?25h" + csi + "?12h" + csi + "2 q" + csi + " q"},
		{"bracketed paste, focus", csi + "?2004h" + csi + "?1004h" + csi + "?2004l"},
		{"mouse tracking", csi + "?1000h" + csi + "?1002;1006h" + csi + "?1003;1015;1005l" + csi + "?1016h"},
		{"synchronized output", csi + "?2026h" + csi + "?2026l"},
		{"keypad and cursor keys", esc + "=" + esc + ">" + csi + "?1h" + csi + "?1l"},
		{"save and restore modes", csi + "?1049s" + csi + "?1049r"},
		{"keyboard protocols", csi + ">1u" + csi + "<u" + csi + "=1;1u" + csi + ">4;2m" + csi + ">4m"},
		{"capability queries", csi + "c" + csi + "0c" + csi + ">c" + csi + "6n" + csi + "5n" + csi + "?6n" + csi + "?u" + csi + "?2026$p" + csi + "4$p"},
		{"title stack", csi + "22;0t" + csi + "23;0t" + csi + "22t"},
		{"soft and full reset", csi + "!p" + esc + "c"},
		{"index, reverse index", esc + "D" + esc + "M" + esc + "E"},
		{"character sets", esc + "(0lqk" + esc + "(B" + esc + ")0" + esc + "(%5" + esc + "#8"},
		{"tabs", esc + "H" + csi + "3g" + csi + "2I" + csi + "Z"},
		{"title", osc + "0;my title" + bel + osc + "2;ünïcode ✻" + st + osc + "1;icon" + bel},
		{"empty title", osc + "2;" + bel},
		{"hyperlink", osc + "8;;https://example.com/a?b=c" + st + "link" + osc + "8;;" + st},
		{"hyperlink with id", osc + "8;id=x1;http://example.com" + bel + "l" + osc + "8;;" + bel},
		{"working directory", osc + "7;file://host/home/me/proj" + st},
		{"prompt marks", osc + "133;A" + st + "$ " + osc + "133;B" + st + osc + "133;D;0" + st},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := filterSplits(t, true, c.in); got != c.in {
				t.Fatalf("filtered\n%q\nwant it unchanged", got)
			}
		})
	}
}

// TestTermFilterDrops: what reads or changes state outside the screen,
// asks the terminal for more than a number about it, or is not known
// does not reach the terminal; what surrounds it does.
func TestTermFilterDrops(t *testing.T) {
	cases := []struct{ name, in, want string }{
		// The clipboard, set and read.
		{"OSC 52 set", "a" + osc + "52;c;aGVsbG8=" + bel + "b", "ab"},
		{"OSC 52 set, ST", "a" + osc + "52;c;aGVsbG8=" + st + "b", "ab"},
		{"OSC 52 query", "a" + osc + "52;c;?" + bel + "b", "ab"},
		{"OSC 52 long", "a" + osc + "52;c;" + strings.Repeat("QUFB", 10000) + bel + "b", "ab"},
		{"OSC 52 no number end", "a" + osc + "52" + bel + "b", "ab"},
		{"OSC 5200", osc + "5200;c;x" + bel, ""},
		{"OSC leading zero", osc + "052;c;x" + bel + osc + "00;t" + bel, ""},
		// Colours: queries and sets.
		{"OSC 4 query", osc + "4;1;?" + bel, ""},
		{"OSC 4 set", osc + "4;1;rgb:ff/00/00" + bel, ""},
		{"OSC 10 11 12", osc + "10;?" + bel + osc + "11;?" + st + osc + "12;#ffffff" + bel, ""},
		{"OSC 104 110 111", osc + "104" + bel + osc + "110" + bel + osc + "111" + bel, ""},
		// Fonts, logs, notifications, other terminals' extensions.
		{"OSC 50 font", osc + "50;?" + bel + osc + "50;fixed" + bel, ""},
		{"OSC 46 log file", osc + "46;/tmp/x" + bel, ""},
		{"OSC 9 notification", osc + "9;hello" + bel + osc + "9;4;1;50" + st, ""},
		{"OSC 777 notification", osc + "777;notify;title;body" + bel, ""},
		{"OSC 99 notification", osc + "99;;hello" + st, ""},
		{"OSC 1337", osc + "1337;File=name=eA==:eA==" + bel + osc + "1337;SetUserVar=a=b" + bel, ""},
		{"OSC 633", osc + "633;E;rm -rf ~" + bel, ""},
		{"OSC 22 pointer", osc + "22;hand" + bel, ""},
		{"OSC 3 property", osc + "3;WM_NAME=x" + bel, ""},
		{"OSC without number", osc + "l" + "title" + st + osc + ";x" + bel + osc + bel, ""},
		// What a kept OSC may carry.
		{"title with a control", osc + "0;a\rb" + bel + "c", "c"},
		{"title with ESC aborts", osc + "0;a" + esc + "[31mX", csi + "31mX"},
		{"title with C1 as UTF-8", osc + "0;a\u009d52;c;x" + bel, ""},
		{"title with invalid UTF-8", osc + "0;a\xff" + bel, ""},
		{"title with raw C1", osc + "0;a\x9c" + bel, ""},
		{"title too long", osc + "0;" + strings.Repeat("t", maxOSC) + bel + "z", "z"},
		{"hyperlink to a file", osc + "8;;file:///etc/passwd" + st + "x" + osc + "8;;" + st, "x" + osc + "8;;" + st},
		{"hyperlink to a custom scheme", osc + "8;;vscode://x" + bel + "x", "x"},
		{"hyperlink without uri part", osc + "8;http://x" + bel, ""},
		{"working directory not a file URL", osc + "7;/home/me" + bel, ""},
		{"OSC cancelled", osc + "0;t\x18x", "x"},
		// Strings: DCS, SOS, PM, APC.
		{"DECRQSS", "a" + esc + `P$qm` + st + "b", "ab"},
		{"XTGETTCAP", esc + "P+q544e" + st, ""},
		{"DECUDK", esc + "P0;1|17/6c73" + st, ""},
		{"sixel", esc + "Pq#0;2;0;0;0~~" + st + "x", "x"},
		{"tmux passthrough", esc + "Ptmux;" + esc + esc + "]52;c;eA==" + bel + st + "x", "x"},
		{"APC kitty graphics", esc + "_Gf=100,t=f;L2V0Yy9wYXNzd2Q=" + st + "x", "x"},
		{"PM and SOS", esc + "^private" + st + esc + "Xstring" + st, ""},
		{"DCS ended by CAN", esc + "Pq\x18ok", "ok"},
		{"DCS BEL does not end it", esc + "Pq" + bel + "hidden" + st + "ok", "ok"},
		// Queries whose answers are more than a number about the screen,
		// and reports typed back.
		{"title report", csi + "21t" + csi + "20t", ""},
		{"window reports", csi + "11t" + csi + "13t" + csi + "14t" + csi + "16t" + csi + "18t" + csi + "19t", ""},
		{"window changes", csi + "8;100;200t" + csi + "3;0;0t" + csi + "9;1t" + csi + "2t" + csi + "30t" + csi + "22;3t", ""},
		{"DA3", csi + "=c" + csi + "=0c", ""},
		{"XTVERSION", csi + ">q" + csi + ">0q", ""},
		{"other status reports", csi + "?15n" + csi + "?63;1n" + csi + "?996n" + csi + "6;6n" + csi + "n", ""},
		{"DECRQCRA screen checksum", csi + "1;1;1;1;24;80*y", ""},
		{"DECREQTPARM", csi + "x" + csi + "1x", ""},
		{"XTQMODKEYS", csi + "?4m", ""},
		{"DECRQPSR", csi + "1$w", ""},
		{"DECRQM with two", csi + "?1;2$p", ""},
		{"ENQ answerback", "a\x05b", "ab"},
		{"DECID", esc + "Z", ""},
		// Printing, LEDs, conformance, modes that change the parser or
		// the window.
		{"media copy", csi + "0i" + csi + "5i" + csi + "?5i", ""},
		{"keyboard LEDs", csi + "1q", ""},
		{"conformance level", csi + "61;1\"p" + esc + " G" + esc + " F", ""},
		{"leave UTF-8", esc + "%@" + esc + "%G", ""},
		{"VT52 Tek 132 columns", csi + "?2l" + csi + "?38h" + csi + "?3h" + csi + "?40h", ""},
		{"ANSI modes", csi + "2h" + csi + "12l" + csi + "20h", ""},
		{"mouse highlight", csi + "?1001h" + csi + "1;2;3;4;5T", ""},
		{"clipboard modes", csi + "?1044h" + csi + "?2031h" + csi + "?1043h", ""},
		{"resize", csi + "132$|" + csi + "50*|" + csi + "50t", ""},
		{"mode list keeps the allowed", csi + "?1049;2;1006h", csi + "?1049;1006h"},
		{"rectangles", csi + "1;1;2;2;1;1;1$v" + csi + "65;1;1;2;2$x", ""},
		// Malformed and unknown sequences.
		{"unknown final", csi + "1y" + csi + "5~" + csi + "o", ""},
		{"unknown escape", esc + "l" + esc + "m" + esc + "V" + esc + `\` + esc + "<", ""},
		{"marker not first", csi + "1?h" + csi + "?1;?25h", ""},
		{"parameter after intermediate", csi + " 1q", ""},
		{"colon outside SGR", csi + "1:2H", ""},
		{"private marker on SGR", csi + "<1m", ""},
		{"too long CSI", csi + strings.Repeat("1;", maxCSI) + "m" + "z", "z"},
		{"too long escape", esc + strings.Repeat("(", maxESC+2) + "0z", "z"},
		{"CSI cancelled", csi + "31\x18m", "m"},
		{"CSI restarted", csi + "31" + csi + "32m", csi + "32m"},
		{"CSI ended by a character", csi + "31é", "é"},
		{"CSI ended by C1", csi + "3\u009b31m", "31m"},
		{"C0 inside CSI acts first", csi + "3\n1m", "\n" + csi + "31m"},
		{"DEL inside CSI", csi + "3\x7f1m", csi + "31m"},
		{"NUL and other C0", "a\x00\x01\x02\x03\x04\x06\x10\x11\x12\x13\x14\x15\x16\x17\x19\x1c\x1d\x1e\x1fb\x7f", "ab"},
		// C1 controls, 8-bit and UTF-8 encoded, and invalid UTF-8.
		{"raw C1", "a\x9b31m\x9d52;c;x\x07\x90q\x9cb", "a\uFFFD31m\uFFFD52;c;x\x07\uFFFDq\uFFFDb"},
		{"C1 as UTF-8", "a\u009b31m\u009d52;c;x\u009cb\u0085", "a31m52;c;xb"},
		{"overlong ESC", "\xc0\x9b[31m", "\uFFFD\uFFFD[31m"},
		{"surrogate", "\xed\xa0\x80x", "\uFFFD\uFFFD\uFFFDx"},
		{"cut character", "a\xe2\x94", "a"},
		{"cut character then ASCII", "\xe2\x94a", "\uFFFD\uFFFDa"},
		{"cut character then ESC", "\xf0\x9f" + csi + "1m", "\uFFFD\uFFFD" + csi + "1m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := filterSplits(t, true, c.in); got != c.want {
				t.Fatalf("filtered\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// TestTermFilter8Bit: on a terminal with an 8-bit character set, bytes
// 0x80..0x9F are C1 controls, even inside what would be UTF-8.
func TestTermFilter8Bit(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"latin-1", "caf\xe9 \xa0\xff", "caf\xe9 \xa0\xff"},
		{"C1", "a\x9d52;c;x\x07\x9b1m\x85b", "a52;c;x\x071mb"},
		{"UTF-8 with C1 bytes", "\xc5\x9d52;c;x\xc5\x9c", "\xc552;c;x\xc5"},
		{"title with C1 bytes", osc + "0;\xc5\x9c" + bel, ""},
		{"title latin-1", osc + "0;caf\xe9" + bel, osc + "0;caf\xe9" + bel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := filterSplits(t, false, c.in); got != c.want {
				t.Fatalf("filtered\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestTerminalIsUTF8(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want bool
	}{
		{nil, true},
		{map[string]string{"LANG": "C"}, true},
		{map[string]string{"LANG": "en_US.UTF-8"}, true},
		{map[string]string{"LANG": "de_DE.utf8@euro"}, true},
		{map[string]string{"LANG": "en_US.ISO-8859-1"}, false},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_CTYPE": "fr_FR.ISO8859-15"}, false},
		{map[string]string{"LC_ALL": "C.UTF-8", "LC_CTYPE": "fr_FR.ISO8859-15"}, true},
	}
	for _, c := range cases {
		if got := terminalIsUTF8(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: %v, want %v", c.env, got, c.want)
		}
	}
}

// TestTermFilterBounded: an unterminated string or sequence holds no more
// than its bound, however long it goes on.
func TestTermFilterBounded(t *testing.T) {
	for _, start := range []string{osc + "0;", osc + "52;c;", esc + "P", csi, esc + "("} {
		f := newTermFilter(true)
		chunk := bytes.Repeat([]byte("1"), 64<<10)
		for range 16 {
			if out := f.filter(nil, append([]byte(start), chunk...)); len(out) != 0 && start != csi && start != esc+"(" {
				t.Fatalf("%q: passed %d bytes", start, len(out))
			}
			if cap(f.seq) > 2*maxOSC {
				t.Fatalf("%q: holds %d bytes", start, cap(f.seq))
			}
		}
	}
}

// BenchmarkTermFilter measures the filter on the output of a full-screen
// program: colours, cursor movement and UTF-8 text.
func BenchmarkTermFilter(b *testing.B) {
	var screen bytes.Buffer
	for i := range 200 {
		screen.WriteString(csi + "38;2;200;100;50m" + csi)
		screen.WriteString("12;1H│ ")
		screen.WriteString(strings.Repeat("func main() { fmt.Println(\"héllo ✻\") } ", 2))
		screen.WriteString(csi + "0m" + csi + "K")
		if i%50 == 0 {
			screen.WriteString(osc + "0;title" + bel)
		}
	}
	in := screen.Bytes()
	f := newTermFilter(true)
	out := make([]byte, 0, len(in))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		out = f.filter(out[:0], in)
	}
	if !bytes.Equal(out, in) {
		b.Fatal("the filter changed a screen it should pass")
	}
}

// BenchmarkTermFilterKeystroke measures the filter on one echoed
// character, as in interactive typing.
func BenchmarkTermFilterKeystroke(b *testing.B) {
	f := newTermFilter(true)
	in := []byte("x")
	out := make([]byte, 0, 64)
	for b.Loop() {
		out = f.filter(out[:0], in)
	}
}

// TestTermWriter: the writer passes on what the filter lets through,
// across writes, and counts every byte as written.
func TestTermWriter(t *testing.T) {
	var out bytes.Buffer
	w := newTermWriter(&out, true)
	for _, p := range []string{"a" + osc + "52;c;", "eA==" + bel + csi + "3", "1mb", osc + "0;t" + bel} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if want := "a" + csi + "31mb" + osc + "0;t" + bel; out.String() != want {
		t.Fatalf("wrote %q, want %q", out.String(), want)
	}
}
