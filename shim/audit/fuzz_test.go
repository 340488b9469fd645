package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{lnStart, lnCall1, lnBlk1, lnBlk2, lnCall2, "", "{}", `{"ts":"x"`, `{"ts":"2026-11-22T10:15:02Z","type":"x","tool":[1]}`,
		`{"ts":"2026-11-22T10:15:02Z","ser` + lnCall1} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, recovered, err := parseRecovering(line)
		if err != nil {
			return
		}
		if r.Type == "" || r.TS.IsZero() {
			t.Fatalf("accepted a record without type or ts: %q", line)
		}
		if !recovered {
			// What was read writes back and reads the same.
			b, err := json.Marshal(r)
			if err != nil {
				// Layers, being any, can hold what json re-marshals
				// fine; anything else is a bug.
				t.Fatalf("re-marshal: %v", err)
			}
			r2, err := ParseLine(b)
			if err != nil {
				t.Fatalf("re-parse %s: %v", b, err)
			}
			if !r2.TS.Equal(r.TS) || r2.Type != r.Type || strings.Join(r2.Tool, "\x00") != strings.Join(r.Tool, "\x00") {
				t.Fatalf("round trip changed %q to %s", line, b)
			}
		}
	})
}

func FuzzToolsUnmarshal(f *testing.F) {
	for _, s := range []string{`"a"`, `["a","b"]`, `[]`, `null`, `1`, `[1]`, `"\u00e9"`, ` ["x"] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tl Tools
		if err := tl.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := tl.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Tools
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if len(tl) > 0 && strings.Join(back, "\x00") != strings.Join(tl, "\x00") || len(back) != len(tl) && len(tl) > 0 {
			t.Fatalf("%q → %s → %q", tl, out, back)
		}
	})
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"1h", "30m", "2d", "1w", "1.5h", "1h30m", "2026-11-22", "2026-11-22T10:15:00Z", "2026-11-22 10:15", "", "5", "1y", "99999999999w"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "--since") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if c := strings.TrimSpace(s); c != "" && (c[0] >= '0' && c[0] <= '9' || c[0] == '.') && !strings.Contains(c, "-") && got.After(now) {
			t.Fatalf("duration %q lies in the future: %v", s, got)
		}
	})
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"filesystem", "@a/b", "../x", ".", strings.Repeat("é", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := SafeName(s)
		if n == "" || len(n) > maxNameLen || strings.ContainsAny(n, "/\\\x00") || n[0] == '.' || n[0] == '-' || n != SafeName(s) {
			t.Fatalf("SafeName(%q) = %q", s, n)
		}
	})
}
