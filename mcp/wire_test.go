package mcp

import (
	"bytes"
	"encoding/json"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// The wire forms sbshim builds itself must be what mcp-go, the project's
// MCP type library, builds.
func TestWireFormsMatchMCPGo(t *testing.T) {
	line, err := LogNotification(LevelWarning, map[string]any{"message": "m"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		mcpgo.LoggingMessageNotification
	}{mcpgo.JSONRPC_VERSION, mcpgo.NewLoggingMessageNotification(mcpgo.LoggingLevelWarning, LoggerName, map[string]any{"message": "m"})})
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	_ = json.Unmarshal(line, &got)
	_ = json.Unmarshal(want, &exp)
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("log notification\n got %s\nwant %s", g, e)
	}
	item, err := textItem("a <b> & c")
	if err != nil {
		t.Fatal(err)
	}
	var fromGo bytes.Buffer
	enc := json.NewEncoder(&fromGo)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(mcpgo.NewTextContent("a <b> & c"))
	if !bytes.Equal(item, bytes.TrimSpace(fromGo.Bytes())) {
		t.Fatalf("text item %s, mcp-go %s", item, fromGo.Bytes())
	}
	for _, l := range []LoggingLevel{LevelDebug, LevelInfo, LevelNotice, LevelWarning, LevelError, LevelCritical, LevelAlert, LevelEmergency} {
		if _, ok := Severity(LoggingLevel(mcpgo.LoggingLevel(l))); !ok {
			t.Fatalf("level %s", l)
		}
	}
}
