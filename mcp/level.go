package mcp

import mcpgo "github.com/mark3labs/mcp-go/mcp"

// LoggingLevel is an MCP log level (RFC 5424 severities), mcp-go's type.
type LoggingLevel = mcpgo.LoggingLevel

// Severity ranks a level in RFC 5424 order, debug (0) to emergency (7);
// ok is false for anything else.
func Severity(l LoggingLevel) (rank int, ok bool) {
	switch l {
	case mcpgo.LoggingLevelDebug:
		return 0, true
	case mcpgo.LoggingLevelInfo:
		return 1, true
	case mcpgo.LoggingLevelNotice:
		return 2, true
	case mcpgo.LoggingLevelWarning:
		return 3, true
	case mcpgo.LoggingLevelError:
		return 4, true
	case mcpgo.LoggingLevelCritical:
		return 5, true
	case mcpgo.LoggingLevelAlert:
		return 6, true
	case mcpgo.LoggingLevelEmergency:
		return 7, true
	}
	return 0, false
}

// Admits reports whether a message at level passes a threshold of min, i.e.
// is at least as severe. Unknown levels admit nothing and pass nothing.
func Admits(min, level LoggingLevel) bool {
	m, ok1 := Severity(min)
	l, ok2 := Severity(level)
	return ok1 && ok2 && l >= m
}
