package main

import (
	"strings"
	"testing"
)

func TestLearnFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--server", "x", "--since", "yesterday"}, 2, "--since"},
		{[]string{"--server", "x", "extra"}, 2, "unexpected argument"},
		{[]string{}, 1, "--server NAME is needed"},
		{[]string{"--server", "nothing-here", "--dir", t.TempDir()}, 1, "no audit log for server nothing-here"},
		{[]string{"-h"}, 0, "Usage: sbshim learn"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code := dispatch(append([]string{"learn"}, tc.args...), &out, &errOut)
			if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
				t.Fatalf("exit %d, want %d; output:\n%s%s", code, tc.code, out.String(), errOut.String())
			}
		})
	}
}
