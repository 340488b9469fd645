package wrap

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Env is what the file locations depend on. Nothing is read from the
// process: the command line fills it in (and tests fake it).
type Env struct {
	Home   string              // the user's home directory
	Dir    string              // the project directory: project files are looked up here
	GOOS   string              // "linux" or "darwin"
	Getenv func(string) string // XDG_CONFIG_HOME, CODEX_HOME, CLAUDE_CONFIG_DIR
}

// Location is one configuration file of a client.
type Location struct {
	Client  string // the client's name (see Clients)
	Scope   string // "user" or "project"
	Path    string
	Format  Format
	Layouts []Layout // where the servers are, in a JSON file
}

// Client is an MCP client whose configuration sbshim can edit.
type Client struct {
	Name  string // as given to --client
	Title string
	files func(Env) []Location
}

// Clients returns the clients sbshim knows, in a fixed order.
func Clients() []Client {
	js := func(client, scope, path string, layouts ...Layout) Location {
		return Location{Client: client, Scope: scope, Path: path, Format: JSON, Layouts: layouts}
	}
	return []Client{
		{"claude-desktop", "Claude Desktop", func(e Env) []Location {
			dir := filepath.Join(e.configHome(), "Claude")
			if e.GOOS == "darwin" {
				dir = filepath.Join(e.Home, "Library", "Application Support", "Claude")
			}
			return []Location{js("claude-desktop", "user", filepath.Join(dir, "claude_desktop_config.json"), LayoutMCPServers)}
		}},
		{"claude-code", "Claude Code", func(e Env) []Location {
			// Claude Code keeps its global config inside
			// CLAUDE_CONFIG_DIR when that is set.
			dir := e.Home
			if d := e.getenv("CLAUDE_CONFIG_DIR"); filepath.IsAbs(d) {
				dir = d
			}
			return []Location{
				js("claude-code", "user", filepath.Join(dir, ".claude.json"), LayoutMCPServers, LayoutProjects),
				js("claude-code", "project", filepath.Join(e.Dir, ".mcp.json"), LayoutMCPServers),
			}
		}},
		{"cursor", "Cursor", func(e Env) []Location {
			return []Location{
				js("cursor", "user", filepath.Join(e.Home, ".cursor", "mcp.json"), LayoutMCPServers),
				js("cursor", "project", filepath.Join(e.Dir, ".cursor", "mcp.json"), LayoutMCPServers),
			}
		}},
		{"vscode", "VS Code", func(e Env) []Location {
			base := e.configHome()
			if e.GOOS == "darwin" {
				base = filepath.Join(e.Home, "Library", "Application Support")
			}
			var locs []Location
			// The stable and the Insiders build keep separate user
			// profiles; both are VS Code to the user.
			for _, app := range []string{"Code", "Code - Insiders"} {
				user := filepath.Join(base, app, "User")
				locs = append(locs,
					js("vscode", "user", filepath.Join(user, "mcp.json"), LayoutServers),
					js("vscode", "user", filepath.Join(user, "settings.json"), LayoutSettings))
			}
			return append(locs, js("vscode", "project", filepath.Join(e.Dir, ".vscode", "mcp.json"), LayoutServers))
		}},
		{"windsurf", "Windsurf", func(e Env) []Location {
			return []Location{js("windsurf", "user", filepath.Join(e.Home, ".codeium", "windsurf", "mcp_config.json"), LayoutMCPServers)}
		}},
		{"gemini", "Gemini CLI", func(e Env) []Location {
			return []Location{
				js("gemini", "user", filepath.Join(e.Home, ".gemini", "settings.json"), LayoutMCPServers),
				js("gemini", "project", filepath.Join(e.Dir, ".gemini", "settings.json"), LayoutMCPServers),
			}
		}},
		{"codex", "Codex", func(e Env) []Location {
			home := e.getenv("CODEX_HOME")
			if home == "" {
				home = filepath.Join(e.Home, ".codex")
			}
			return []Location{
				{Client: "codex", Scope: "user", Path: filepath.Join(home, "config.toml"), Format: TOML},
				{Client: "codex", Scope: "project", Path: filepath.Join(e.Dir, ".codex", "config.toml"), Format: TOML},
			}
		}},
	}
}

// ClientNames lists the names --client takes.
func ClientNames() []string {
	var names []string
	for _, c := range Clients() {
		names = append(names, c.Name)
	}
	return names
}

// Locations returns the files of the named clients (all clients if names
// is empty), whether they exist or not. A file that two places name (the
// project directory is the home directory) is listed once.
func Locations(e Env, names []string) ([]Location, error) {
	want, unknown := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
		unknown[strings.ToLower(n)] = true
	}
	var out []Location
	seen := map[string]bool{}
	for _, c := range Clients() {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		delete(unknown, c.Name)
		for _, l := range c.files(e) {
			if l.Scope == "project" && e.Dir == "" {
				continue
			}
			if seen[l.Path] {
				continue
			}
			seen[l.Path] = true
			out = append(out, l)
		}
	}
	if len(unknown) > 0 {
		var bad []string
		for n := range unknown {
			bad = append(bad, n)
		}
		sort.Strings(bad)
		return nil, fmt.Errorf("unknown client %s (known: %s)", strings.Join(bad, ", "), strings.Join(ClientNames(), ", "))
	}
	return out, nil
}

// ConfigLocation describes a file given by its path: TOML if it ends in
// .toml, otherwise JSON with the servers in any known place.
func ConfigLocation(path, client string) Location {
	if client == "" {
		client = "file"
	}
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		return Location{Client: client, Scope: "file", Path: path, Format: TOML}
	}
	return Location{Client: client, Scope: "file", Path: path, Format: JSON, Layouts: AllLayouts}
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// configHome is $XDG_CONFIG_HOME if it is an absolute path, else ~/.config.
func (e Env) configHome() string {
	if d := e.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(e.Home, ".config")
}

// cacheHome is the folder of sbshim's private caches: $XDG_CACHE_HOME/sbshim,
// or ~/.cache/sbshim.
func (e Env) cacheHome() string {
	if d := e.getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "sbshim")
	}
	if e.Home == "" {
		return ""
	}
	return filepath.Join(e.Home, ".cache", "sbshim")
}

// OSEnv returns the Env of this process: $HOME, the working directory,
// runtime.GOOS and os.Getenv.
func OSEnv() (Env, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return Env{}, fmt.Errorf("find the home directory: %w", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		return Env{}, fmt.Errorf("find the working directory: %w", err)
	}
	return Env{Home: home, Dir: dir, GOOS: runtime.GOOS, Getenv: os.Getenv}, nil
}
