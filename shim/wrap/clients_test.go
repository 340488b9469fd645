package wrap

import (
	"reflect"
	"strings"
	"testing"
)

func TestLocations(t *testing.T) {
	env := func(goos string, vars map[string]string) Env {
		return Env{Home: "/h", Dir: "/p", GOOS: goos, Getenv: func(k string) string { return vars[k] }}
	}
	for _, c := range []struct {
		name    string
		env     Env
		clients []string
		want    []string // client scope path
	}{
		{"linux", env("linux", nil), nil, []string{
			"claude-desktop user /h/.config/Claude/claude_desktop_config.json",
			"claude-code user /h/.claude.json",
			"claude-code project /p/.mcp.json",
			"cursor user /h/.cursor/mcp.json",
			"cursor project /p/.cursor/mcp.json",
			"vscode user /h/.config/Code/User/mcp.json",
			"vscode user /h/.config/Code/User/settings.json",
			"vscode user /h/.config/Code - Insiders/User/mcp.json",
			"vscode user /h/.config/Code - Insiders/User/settings.json",
			"vscode project /p/.vscode/mcp.json",
			"windsurf user /h/.codeium/windsurf/mcp_config.json",
			"gemini user /h/.gemini/settings.json",
			"gemini project /p/.gemini/settings.json",
			"codex user /h/.codex/config.toml",
			"codex project /p/.codex/config.toml",
		}},
		{"macOS", env("darwin", map[string]string{"XDG_CONFIG_HOME": "/x"}), []string{"claude-desktop", "vscode"}, []string{
			"claude-desktop user /h/Library/Application Support/Claude/claude_desktop_config.json",
			"vscode user /h/Library/Application Support/Code/User/mcp.json",
			"vscode user /h/Library/Application Support/Code/User/settings.json",
			"vscode user /h/Library/Application Support/Code - Insiders/User/mcp.json",
			"vscode user /h/Library/Application Support/Code - Insiders/User/settings.json",
			"vscode project /p/.vscode/mcp.json",
		}},
		{"XDG_CONFIG_HOME", env("linux", map[string]string{"XDG_CONFIG_HOME": "/x"}), []string{"Claude-Desktop", "vscode"}, []string{
			"claude-desktop user /x/Claude/claude_desktop_config.json",
			"vscode user /x/Code/User/mcp.json",
			"vscode user /x/Code/User/settings.json",
			"vscode user /x/Code - Insiders/User/mcp.json",
			"vscode user /x/Code - Insiders/User/settings.json",
			"vscode project /p/.vscode/mcp.json",
		}},
		{"relative XDG_CONFIG_HOME is ignored", env("linux", map[string]string{"XDG_CONFIG_HOME": "rel"}), []string{"claude-desktop"}, []string{
			"claude-desktop user /h/.config/Claude/claude_desktop_config.json",
		}},
		{"CODEX_HOME", env("linux", map[string]string{"CODEX_HOME": "/c"}), []string{"codex"}, []string{
			"codex user /c/config.toml",
			"codex project /p/.codex/config.toml",
		}},
		{"CLAUDE_CONFIG_DIR", env("linux", map[string]string{"CLAUDE_CONFIG_DIR": "/cc"}), []string{"claude-code"}, []string{
			"claude-code user /cc/.claude.json",
			"claude-code project /p/.mcp.json",
		}},
		{"relative CLAUDE_CONFIG_DIR is ignored", env("linux", map[string]string{"CLAUDE_CONFIG_DIR": "cc"}), []string{"claude-code"}, []string{
			"claude-code user /h/.claude.json",
			"claude-code project /p/.mcp.json",
		}},
		{"project is home", Env{Home: "/h", Dir: "/h", GOOS: "linux"}, []string{"cursor", "gemini"}, []string{
			"cursor user /h/.cursor/mcp.json",
			"gemini user /h/.gemini/settings.json",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			locs, err := Locations(c.env, c.clients)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range locs {
				got = append(got, l.Client+" "+l.Scope+" "+l.Path)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestLocationsUnknownClient(t *testing.T) {
	_, err := Locations(Env{Home: "/h", GOOS: "linux"}, []string{"cursor", "emacs"})
	if err == nil || !strings.Contains(err.Error(), "unknown client emacs") || !strings.Contains(err.Error(), "claude-code") {
		t.Fatalf("error %v", err)
	}
}

func TestConfigLocation(t *testing.T) {
	if l := ConfigLocation("/a/b.TOML", ""); l.Format != TOML || l.Client != "file" {
		t.Errorf("%+v", l)
	}
	if l := ConfigLocation("/a/mcp.json", "cursor"); l.Format != JSON || l.Client != "cursor" || len(l.Layouts) != len(AllLayouts) {
		t.Errorf("%+v", l)
	}
}
