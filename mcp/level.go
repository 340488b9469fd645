package mcp

// LoggingLevel is an MCP log level (RFC 5424 severities). It is declared
// here rather than taken from mcp-go, whose package initialisation (JSON
// schema, HTML templates, crypto) would cost every sbshim start — twice,
// since the sandbox's init is the same binary — several milliseconds; the
// tests check the wire forms against mcp-go's types.
type LoggingLevel string

// The MCP log levels.
const (
	LevelDebug     LoggingLevel = "debug"
	LevelInfo      LoggingLevel = "info"
	LevelNotice    LoggingLevel = "notice"
	LevelWarning   LoggingLevel = "warning"
	LevelError     LoggingLevel = "error"
	LevelCritical  LoggingLevel = "critical"
	LevelAlert     LoggingLevel = "alert"
	LevelEmergency LoggingLevel = "emergency"
)

// Severity ranks a level in RFC 5424 order, debug (0) to emergency (7);
// ok is false for anything else.
func Severity(l LoggingLevel) (rank int, ok bool) {
	switch l {
	case LevelDebug:
		return 0, true
	case LevelInfo:
		return 1, true
	case LevelNotice:
		return 2, true
	case LevelWarning:
		return 3, true
	case LevelError:
		return 4, true
	case LevelCritical:
		return 5, true
	case LevelAlert:
		return 6, true
	case LevelEmergency:
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
