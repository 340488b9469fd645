package mcp

import "testing"

// _meta goes into the params, after data, and only when given.
func TestLogNotificationMeta(t *testing.T) {
	for _, tc := range []struct {
		meta map[string]any
		want string
	}{
		{nil, `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"sbshim","data":"x"}}` + "\n"},
		{map[string]any{"io.github.sbshim/report-key": "k"},
			`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"sbshim","data":"x","_meta":{"io.github.sbshim/report-key":"k"}}}` + "\n"},
	} {
		line, err := LogNotificationMeta(LevelWarning, "x", tc.meta)
		if err != nil || string(line) != tc.want {
			t.Errorf("got %s (%v)\nwant %s", line, err, tc.want)
		}
	}
}
