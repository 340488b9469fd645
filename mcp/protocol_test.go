package mcp

import (
	"testing"
)

func feed(p *Protocol, steps ...step) {
	for _, s := range steps {
		env := Decode([]byte(s.line))
		p.Observe(s.dir, &env)
	}
}

const (
	initReq      = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{}},"clientInfo":{"name":"c","version":"1"}}}`
	initRespLog  = `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"logging":{},"tools":{}},"serverInfo":{"name":"s","version":"1"}}}`
	initRespNone = `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}}}}`
)

func setLevel(id, level string) step {
	return step{ClientToServer, `{"jsonrpc":"2.0","id":` + id + `,"method":"logging/setLevel","params":{"level":"` + level + `"}}`, 0}
}

func ok(id string) step {
	return step{ServerToClient, `{"jsonrpc":"2.0","id":` + id + `,"result":{}}`, 0}
}

func TestProtocolLegacy(t *testing.T) {
	p := NewProtocol()
	if p.CanNotify("error", Envelope{}) {
		t.Fatal("unknown era must not notify")
	}
	feed(p, step{ClientToServer, initReq, 0}, step{ServerToClient, initRespLog, 0})
	st := p.State()
	if st.Era != EraLegacy || st.RequestedVersion != "2025-11-25" || st.NegotiatedVersion != "2025-06-18" ||
		!st.ServerLogging || string(st.ClientCapabilities) != `{"roots":{}}` || string(st.ServerCapabilities) != `{"logging":{},"tools":{}}` {
		t.Fatalf("state %+v", st)
	}
	if p.CanNotify("emergency", Envelope{}) {
		t.Fatal("no setLevel yet: must not notify")
	}
	feed(p, setLevel("1", "warning"))
	if p.CanNotify("error", Envelope{}) {
		t.Fatal("setLevel not yet acknowledged")
	}
	feed(p, ok("1"))
	for level, want := range map[LoggingLevel]bool{
		"debug": false, "info": false, "notice": false, "warning": true,
		"error": true, "critical": true, "alert": true, "emergency": true, "bogus": false,
	} {
		if got := p.CanNotify(level, Envelope{}); got != want {
			t.Errorf("CanNotify(%s) = %v, want %v", level, got, want)
		}
	}
	// A rejected setLevel changes nothing.
	feed(p, setLevel(`"x"`, "debug"), step{ServerToClient, `{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"no"}}`, 0})
	if p.CanNotify("info", Envelope{}) || p.State().Level != "warning" {
		t.Fatal("rejected setLevel applied")
	}
}

func TestProtocolLegacyWithoutLogging(t *testing.T) {
	p := NewProtocol()
	feed(p, step{ClientToServer, initReq, 0}, step{ServerToClient, initRespNone, 0}, setLevel("1", "debug"), ok("1"))
	if p.CanNotify("emergency", Envelope{}) {
		t.Fatal("server without logging capability must not get notifications")
	}
}

func TestProtocolStateless(t *testing.T) {
	p := NewProtocol()
	feed(p,
		step{ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, 0},
		step{ServerToClient, `{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28"],"capabilities":{"logging":{}}}}`, 0},
	)
	st := p.State()
	if st.Era != EraStateless || st.RequestedVersion != "2026-07-28" || !st.ServerLogging {
		t.Fatalf("state %+v", st)
	}
	withLevel := Decode([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","_meta":{"io.modelcontextprotocol/logLevel":"notice"}}}`))
	without := Decode([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}}`))
	if !p.CanNotify("warning", withLevel) || !p.CanNotify("notice", withLevel) || p.CanNotify("info", withLevel) {
		t.Fatal("per-request level not applied")
	}
	if p.CanNotify("emergency", without) || p.CanNotify("emergency", Envelope{}) {
		t.Fatal("a request without _meta logLevel must not get notifications")
	}
	// The level survives the trip through the Tracker.
	tr := NewTracker(TrackerOptions{})
	tr.Observe(ClientToServer, &withLevel, t0, nil)
	if c := tr.InFlight(nil); len(c) != 1 || !p.CanNotify("error", c[0].Envelope()) {
		t.Fatal("Call.Envelope lost the log level")
	}
	// setLevel is not the stateless way.
	feed(p, setLevel("9", "debug"), ok("9"))
	if p.CanNotify("info", without) {
		t.Fatal("stateless era must ignore logging/setLevel")
	}
}

func TestProtocolEraFromMetaOnly(t *testing.T) {
	p := NewProtocol()
	feed(p, step{ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, 0})
	if p.State().Era != EraStateless {
		t.Fatal("versioned request did not set the stateless era")
	}
	if EraUnknown.String() != "unknown" || EraLegacy.String() != "legacy" || EraStateless.String() != "stateless" {
		t.Fatal("Era.String")
	}
}

func TestProtocolDiscoverFailsThenInitialize(t *testing.T) {
	p := NewProtocol()
	feed(p,
		step{ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"server/discover"}`, 0},
		step{ServerToClient, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}`, 0},
		step{ClientToServer, initReq, 0}, step{ServerToClient, initRespLog, 0},
	)
	if p.State().Era != EraLegacy {
		t.Fatalf("era %v", p.State().Era)
	}
}

func TestAdmits(t *testing.T) {
	order := []LoggingLevel{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}
	for i, min := range order {
		for j, l := range order {
			if got := Admits(min, l); got != (j >= i) {
				t.Errorf("Admits(%s, %s) = %v", min, l, got)
			}
		}
	}
	if Admits("", "error") || Admits("error", "") {
		t.Error("empty level admitted")
	}
}
