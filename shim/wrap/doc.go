// Package wrap puts the MCP servers that clients (Claude Desktop, Claude
// Code, Cursor, VS Code, Windsurf, Gemini CLI, Codex) start behind sbshim,
// and takes them out again.
//
// Wrapping an entry is a minimal textual edit of the client's own file:
// the command becomes the absolute path of sbshim, and the old command moves
// into args behind sbshim's options,
//
//	"command": "npx", "args": ["-y", "pkg"]
//	"command": "/usr/local/bin/sbshim", "args": ["--name", "fs", "--", "npx", "-y", "pkg"]
//
// Nothing else in the file changes: not the other keys, their order, the
// indentation, nor comments (JSONC, TOML). The files are never round-tripped
// through a decoder; a small scanner finds the byte spans of the values
// (jsonc.go, toml.go) and new text is spliced in, in the layout the
// surrounding text uses (entry.go). Unwrap removes exactly what wrap
// inserted, so wrap followed by unwrap gives the original bytes back; wrap
// checks this for every entry before it writes, and skips an entry it could
// not undo.
//
// Besides --name, wrap writes --env-pass for each variable the entry's env
// sets (envpass.go) and --workspace for its cwd (workspace.go), and says
// which secret-looking variables it passes, what the workspace will be,
// and which data a server leaves behind in the host's npm cache
// (notes.go). Files are written atomically, and the one backup of each
// file is kept in sbshim's state folder, never next to it (write.go); a
// dry run prints a unified diff (diff.go). Where each client keeps its
// configuration, per OS, is in clients.go.
package wrap
