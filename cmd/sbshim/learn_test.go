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

// TestPolicyShowsServerProfile: sbshim policy -- COMMAND names the
// built-in server profile it picked, and what it made writable.
func TestPolicyShowsServerProfile(t *testing.T) {
	home := t.TempDir()
	data := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home+"/.config")
	t.Setenv("XDG_CACHE_HOME", home+"/.cache")
	for _, c := range []struct {
		args []string
		want string
		not  bool
	}{
		{[]string{"--", "npx", "-y", "@modelcontextprotocol/server-filesystem", data}, `"built-in:servers/filesystem (npm package @modelcontextprotocol/server-filesystem; writable: ` + data + `)"`, false},
		{[]string{"--no-server-profile", "--", "npx", "@modelcontextprotocol/server-filesystem", data}, "servers/", true},
		{[]string{"--", "uvx", "mcp-server-time"}, `"built-in:servers/time (PyPI package mcp-server-time)"`, false},
	} {
		var out, errOut strings.Builder
		if code := dispatch(append([]string{"policy"}, c.args...), &out, &errOut); code != 0 {
			t.Fatalf("policy %q: exit %d: %s", c.args, code, errOut.String())
		}
		if strings.Contains(out.String(), c.want) == c.not {
			t.Errorf("policy %q: want %q (absent: %v) in:\n%s", c.args, c.want, c.not, out.String())
		}
	}
}
