package shim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/mcp"
)

// legacyLogging has s's protocol see a legacy handshake in which the server
// declared logging and the client asked for warnings.
func legacyLogging(s *Session) {
	for _, m := range []struct {
		dir  mcp.Direction
		line string
	}{
		{mcp.ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}`},
		{mcp.ServerToClient, `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"logging":{}}}}`},
		{mcp.ClientToServer, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"warning"}}`},
		{mcp.ServerToClient, `{"jsonrpc":"2.0","id":2,"result":{}}`},
	} {
		env := mcp.Decode([]byte(m.line))
		s.proto.Observe(m.dir, &env)
	}
}

// sbshim's own log notifications carry the session's report key in _meta,
// a secret the sandboxed server never sees, and the audit log's
// session_start has its digest: a notification from logger "sbshim"
// without that key is the server's. The key differs between sessions.
func TestNotificationCarriesReportKey(t *testing.T) {
	var keys []string
	for range 2 {
		s, stdout, _ := reportSession(t, policy.ReportPolicy{Notify: true})
		legacyLogging(s)
		s.rep.event(isolation.Event{Kind: "file", Op: "read", Target: "/home/me/.ssh/\xff", Exe: "/bin/\u009b\u202e", Rule: "filesystem.denyRead ~/.ssh"})
		s.rep.close()
		var n struct {
			Method string `json:"method"`
			Params struct {
				Logger string `json:"logger"`
				Data   struct {
					Message   string `json:"message"`
					TargetB64 string `json:"target_b64"`
				} `json:"data"`
				Meta map[string]string `json:"_meta"`
			} `json:"params"`
		}
		out := strings.TrimSuffix(stdout.String(), "\n")
		if r := unprintable(out); r != -1 {
			t.Errorf("%U raw in the notification: %q", r, out)
		}
		if strings.Count(out, "\n") != 0 {
			t.Fatalf("want one notification, got:\n%s", out)
		}
		if err := json.Unmarshal([]byte(out), &n); err != nil || n.Method != "notifications/message" || n.Params.Logger != "sbshim" {
			t.Fatalf("notification %s: %v", out, err)
		}
		key := n.Params.Meta["io.github.sbshim/report-key"]
		if n.Params.Meta["io.github.sbshim/session"] != "S" {
			t.Errorf("_meta does not name the session: %s", out)
		}
		if len(key) != 32 {
			t.Fatalf("no 128-bit report key in _meta: %s", out)
		}
		sum := sha256.Sum256([]byte(key))
		if got := s.rep.keyDigest(); got != hex.EncodeToString(sum[:]) {
			t.Fatalf("session_start's digest %s is not that of the key %s", got, key)
		}
		if b, err := base64.StdEncoding.DecodeString(n.Params.Data.TargetB64); err != nil || string(b) != "/home/me/.ssh/\xff" {
			t.Errorf("target_b64 %q does not hold the exact target", n.Params.Data.TargetB64)
		}
		if !strings.Contains(n.Params.Data.Message, `/home/me/.ssh/\xff`) {
			t.Errorf("message %q does not show the invalid byte escaped", n.Params.Data.Message)
		}
		keys = append(keys, key)
	}
	if keys[0] == keys[1] {
		t.Fatalf("two sessions share the report key %s", keys[0])
	}
}
