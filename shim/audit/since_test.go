package audit

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, loc)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"1h", now.Add(-time.Hour), false},
		{"30m", now.Add(-30 * time.Minute), false},
		{"90s", now.Add(-90 * time.Second), false},
		{"2d", now.Add(-48 * time.Hour), false},
		{"1w", now.Add(-7 * 24 * time.Hour), false},
		{"1h30m", now.Add(-90 * time.Minute), false},
		{"1.5h", now.Add(-90 * time.Minute), false},
		{"500ms", now.Add(-500 * time.Millisecond), false},
		{" 0s ", now, false},
		{"2026-11-22T10:15:00Z", time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC), false},
		{"2026-11-22T10:15:00.5+01:00", time.Date(2026, 11, 22, 9, 15, 0, 5e8, time.UTC), false},
		{"2026-11-22", time.Date(2026, 11, 22, 0, 0, 0, 0, loc), false},
		{"2026-11-22 10:15", time.Date(2026, 11, 22, 10, 15, 0, 0, loc), false},
		{"2026-11-22T10:15:30", time.Date(2026, 11, 22, 10, 15, 30, 0, loc), false},
		{"", time.Time{}, true},
		{"5", time.Time{}, true},
		{"1y", time.Time{}, true},
		{"1h3", time.Time{}, true},
		{"1hx", time.Time{}, true},
		{"h", time.Time{}, true},
		{"-1h", time.Time{}, true},
		{"..h", time.Time{}, true},
		{"99999999999w", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-13-01", time.Time{}, true},
		{"22/11/2026", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
