package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// Ext is the file name extension of an audit log.
const Ext = ".jsonl"

// maxNameLen bounds the file name made from a server name, without Ext.
const maxNameLen = 100

// DefaultDir is $XDG_STATE_HOME/sbshim/audit, or
// ~/.local/state/sbshim/audit when XDG_STATE_HOME is unset or not an
// absolute path (as the XDG base directory specification asks). env is
// os.Getenv or a stand-in.
func DefaultDir(env func(string) string, home string) string {
	if x := env("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "sbshim", "audit")
	}
	return filepath.Join(home, ".local", "state", "sbshim", "audit")
}

// PathFor is the log file of server in dir: dir/<SafeName(server)>.jsonl.
func PathFor(dir, server string) string {
	return filepath.Join(dir, SafeName(server)+Ext)
}

// SafeName turns any string into a file name, deterministically: runs of
// characters other than ASCII letters, digits, '.', '_' and '-' become one
// '-'; leading and trailing '.' and '-' go (no hidden files, nothing that
// reads as a flag); "" becomes "unnamed". A result longer than 100 bytes is
// cut and ends with a hash of the whole input, so that long names stay
// distinct. "@modelcontextprotocol/server-filesystem" becomes
// "modelcontextprotocol-server-filesystem".
func SafeName(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), ".-")
	if name == "" {
		name = "unnamed"
	}
	if len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(s))
		name = strings.TrimRight(name[:maxNameLen-9], ".-") + "-" + hex.EncodeToString(sum[:4])
	}
	return name
}
