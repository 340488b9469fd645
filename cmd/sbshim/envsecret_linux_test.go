package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvironmentSecretsAreNamedAndHeldBack runs the command with secrets
// in the environment that an upper-case suffix list misses (issue 12,
// item 8) and with credentials in values under harmless names: none
// reaches the sandbox, each is named in the one stderr line that says what
// was held back, no value is printed, ordinary variables pass, and
// --env-pass NAME still passes that one variable.
func TestEnvironmentSecretsAreNamedAndHeldBack(t *testing.T) {
	b := newBox(t)
	secrets := map[string]string{
		"GITHUB_PAT":            "pat-value-1",
		"github_token":          "lower-value-2",
		"BW_SESSION":            "bw-value-3",
		"OP_SESSION_myaccount":  "op-value-4",
		"CI_JOB_JWT":            "jwt-value-5",
		"GIT_CONFIG_PARAMETERS": "'http.extraheader'='cfg-value-6'",
		"GIT_CONFIG_COUNT":      "1",
		"GIT_CONFIG_KEY_0":      "http.extraHeader",
		"GIT_CONFIG_VALUE_0":    "cfgval-value-7",
		"SLACK_WEBHOOK_URL":     "https://hooks.slack.com/services/T0/B0/hook-value-8",
		"REDIS_URL":             "redis://:redis-value-9@cache.internal:6379/0",
		"PLAIN_REPO":            "https://x-access-token:repo-value-10@github.com/o/r.git",
		"PLAIN_ID":              "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345",
	}
	plain := map[string]string{
		"PLAIN_SETTING":    "keep",
		"XDG_SESSION_TYPE": "wayland",
		"OK_REDIS_URL":     "redis://localhost:6379/0",
		"GIT_AUTHOR_NAME":  "Me",
	}
	b.env = nil
	for k, v := range secrets {
		b.env = append(b.env, k+"="+v)
	}
	for k, v := range plain {
		b.env = append(b.env, k+"="+v)
	}

	stdout, stderr, code := b.run(nil, filepath.Join(binDir, "attempt"), "env")
	var o outcome
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &o); err != nil || !o.OK {
		t.Fatalf("env: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	inside := map[string]string{}
	for _, kv := range strings.Split(o.Detail, "\n") {
		k, v, _ := strings.Cut(kv, "=")
		inside[k] = v
	}
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "sbshim: environment: held back ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one held-back line on stderr, got %d:\n%s", len(lines), stderr)
	}
	for k, v := range secrets {
		if _, ok := inside[k]; ok {
			t.Errorf("%s reached the sandbox", k)
		}
		if !strings.Contains(lines[0], " "+k) {
			t.Errorf("%s is not named in %q", k, lines[0])
		}
		if len(v) > 1 && strings.Contains(stderr, v) {
			t.Errorf("the value of %s is printed on stderr", k)
		}
	}
	for k, v := range plain {
		if inside[k] != v {
			t.Errorf("%s=%s did not reach the sandbox (got %q)", k, v, inside[k])
		}
		if strings.Contains(lines[0], " "+k+",") || strings.Contains(lines[0], " "+k+";") {
			t.Errorf("%s is named as held back: %q", k, lines[0])
		}
	}

	o = b.mustWork([]string{"--env-pass", "REDIS_URL", "--env-pass", "github_token"}, "env")
	for _, kv := range []string{"REDIS_URL=" + secrets["REDIS_URL"], "github_token=" + secrets["github_token"]} {
		if !strings.Contains(o.Detail, kv+"\n") && !strings.HasSuffix(o.Detail, kv) {
			t.Errorf("--env-pass did not pass %s", kv)
		}
	}
	if strings.Contains(o.Detail, "GITHUB_PAT=") {
		t.Errorf("--env-pass of other names passed GITHUB_PAT")
	}
}
