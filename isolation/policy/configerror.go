package policy

import "fmt"

// ConfigError is a bad policy layer: a syntax error, an unknown key, a value
// of the wrong type, or a bad value.
type ConfigError struct {
	// Source is the layer: a file path, "built-in:NAME" or "flags".
	Source string
	// Key is the dotted key, e.g. "network.mode" or
	// "filesystem.denyRead[2]"; empty for errors about the whole text.
	Key string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats the error as SOURCE: key "KEY": MSG.
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("%s: key %q: %s", e.Source, e.Key, e.Msg)
}
