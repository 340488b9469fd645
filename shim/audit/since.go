package audit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sinceUnits are the units a --since duration may use.
func sinceUnit(u string) (time.Duration, bool) {
	switch u {
	case "ms":
		return time.Millisecond, true
	case "s":
		return time.Second, true
	case "m":
		return time.Minute, true
	case "h":
		return time.Hour, true
	case "d":
		return 24 * time.Hour, true
	case "w":
		return 7 * 24 * time.Hour, true
	}
	return 0, false
}

// localLayouts are the date and time forms --since reads in now's time
// zone.
var localLayouts = [...]string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseSince reads a --since value relative to now: a duration back from
// now ("90s", "30m", "1h", "1h30m", "2d", "1w", "1.5h"), an RFC 3339 time
// ("2026-11-22T10:15:00Z", "2026-11-22T10:15:00+01:00"), or a date or
// date and time without a zone, taken in now's location ("2026-11-22"
// means its midnight, "2026-11-22 10:15").
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("--since: empty value")
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '.' {
		if d, ok, err := parseAgo(s); ok {
			if err != nil {
				return time.Time{}, fmt.Errorf("--since %q: %w", s, err)
			}
			return now.Add(-d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: expected a duration (30m, 1h, 2d, 1w), an RFC 3339 time (2026-11-22T10:15:00Z) or a date (2026-11-22)", s)
}

// parseAgo reads a sequence of number+unit terms. ok is false when s does
// not look like a duration at all (so that a date is tried instead).
func parseAgo(s string) (d time.Duration, ok bool, err error) {
	total := 0.0
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		if i == 0 || j == i {
			if rest == s {
				return 0, false, nil
			}
			return 0, true, fmt.Errorf("expected a number and a unit (ms, s, m, h, d, w) at %q", rest)
		}
		unit, known := sinceUnit(rest[i:j])
		if !known {
			if rest == s && j < len(rest) {
				return 0, false, nil
			}
			return 0, true, fmt.Errorf("unknown unit %q (use ms, s, m, h, d or w)", rest[i:j])
		}
		n, perr := strconv.ParseFloat(rest[:i], 64)
		if perr != nil {
			return 0, true, fmt.Errorf("bad number %q", rest[:i])
		}
		total += n * float64(unit)
		rest = rest[j:]
	}
	if total > math.MaxInt64/2 {
		return 0, true, fmt.Errorf("too long ago")
	}
	return time.Duration(total), true, nil
}
