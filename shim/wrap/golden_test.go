package wrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/wrap")

// goldenDir holds one folder a case: input.EXT, and the goldens wrap
// writes next to it: wrapped.EXT, report.txt, and unwrapped.EXT when the
// input has wrapped servers.
const goldenDir = "../../testdata/wrap"

const testExe = "/usr/local/bin/sbshim"

var goldenCases = []struct {
	dir     string
	layouts []Layout
	profile string
	strict  bool // plain JSON: check the meaning with encoding/json too
	broken  bool
	// project is the project folder of a project's file, whose entries
	// are untrusted; "" for a user's own file.
	project string
}{
	{dir: "claude-code-user", layouts: []Layout{LayoutMCPServers, LayoutProjects}, strict: true},
	{dir: "claude-code-project", layouts: []Layout{LayoutMCPServers}, strict: true, project: "/home/me/proj"},
	{dir: "project-hostile", layouts: []Layout{LayoutMCPServers}, strict: true, project: "/home/me/proj"},
	{dir: "project-hostile-vscode", layouts: []Layout{LayoutServers}, profile: "read-only", project: "/home/me/proj"},
	{dir: "project-hostile-codex", project: "/home/me/proj"},
	{dir: "claude-desktop", layouts: []Layout{LayoutMCPServers}, profile: "read-only", strict: true},
	{dir: "cursor-tabs", layouts: []Layout{LayoutMCPServers}, strict: true},
	{dir: "windsurf-4space", layouts: []Layout{LayoutMCPServers}, strict: true},
	{dir: "windsurf-crlf", layouts: []Layout{LayoutMCPServers}, strict: true},
	{dir: "gemini-compact", layouts: []Layout{LayoutMCPServers}, profile: "no-network", strict: true},
	{dir: "vscode-settings", layouts: []Layout{LayoutSettings}},
	{dir: "vscode-mcp", layouts: []Layout{LayoutServers}, strict: true},
	{dir: "codex", profile: "workspace-write"},
	{dir: "codex-inline"},
	{dir: "broken-json", layouts: AllLayouts, broken: true},
	{dir: "broken-toml", broken: true},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.dir, func(t *testing.T) {
			in, format, ext := readInput(t, filepath.Join(goldenDir, c.dir))
			doc, err := Parse(in, format, c.layouts)
			if c.broken {
				if err == nil {
					t.Fatal("a broken file parsed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			opts := WrapOptions{Executable: testExe, Profile: c.profile, Trusted: c.project == "", Project: c.project, HeldBack: defaultHeldBack(t)}
			wrapped, results, err := doc.Wrap(opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(goldenDir, c.dir, "wrapped"+ext), wrapped)
			golden(t, filepath.Join(goldenDir, c.dir, "report.txt"), []byte(report(doc, results)))

			// Wrapping twice is wrapping once.
			again := mustWrap(t, wrapped, format, c.layouts, opts)
			if !bytes.Equal(again, wrapped) {
				t.Errorf("wrap of the wrapped file changed it:\n%s", UnifiedDiff("once", "twice", wrapped, again))
			}
			// Unwrapping what wrap changed gives the input back, byte for byte.
			changed := map[string]bool{}
			for _, r := range results {
				if r.Changed {
					changed[r.Name] = true
				}
			}
			back := mustUnwrap(t, wrapped, format, c.layouts, func(n string) bool { return changed[n] })
			if !bytes.Equal(back, in) {
				t.Errorf("unwrap did not restore the input:\n%s", UnifiedDiff("input", "unwrapped", in, back))
			}
			// Servers wrapped before are unwrapped too.
			if hasWrapped(doc) {
				golden(t, filepath.Join(goldenDir, c.dir, "unwrapped"+ext), mustUnwrap(t, in, format, c.layouts, nil))
			}
			if c.strict {
				checkMeaning(t, in, wrapped, results, opts)
			}
		})
	}
}

func readInput(t *testing.T, dir string) ([]byte, Format, string) {
	t.Helper()
	for _, ext := range []string{".json", ".toml"} {
		in, err := os.ReadFile(filepath.Join(dir, "input"+ext))
		if err == nil {
			if ext == ".toml" {
				return in, TOML, ext
			}
			return in, JSON, ext
		}
	}
	t.Fatalf("no input file in %s", dir)
	return nil, 0, ""
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", path, UnifiedDiff("golden", "got", want, got))
	}
}

func report(doc *Document, results []Result) string {
	var b strings.Builder
	for _, s := range doc.Servers() {
		fmt.Fprintf(&b, "server %q scope %q: %s", s.Name, s.Scope, s.State)
		if s.Reason != "" {
			fmt.Fprintf(&b, " (%s)", s.Reason)
		}
		b.WriteString("\n")
	}
	for _, r := range results {
		fmt.Fprintf(&b, "wrap %q: changed=%v %s\n", r.Name, r.Changed, r.Note)
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	return b.String()
}

// hasWrapped reports whether a server of doc runs something named
// sbshim, which unwrap takes out.
func hasWrapped(doc *Document) bool {
	for _, e := range doc.entries {
		if e.state == Wrapped {
			return true
		}
	}
	return false
}

func mustWrap(t *testing.T, src []byte, f Format, l []Layout, o WrapOptions) []byte {
	t.Helper()
	doc, err := Parse(src, f, l)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := doc.Wrap(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustUnwrap(t *testing.T, src []byte, f Format, l []Layout, sel func(string) bool) []byte {
	t.Helper()
	doc, err := Parse(src, f, l)
	if err != nil {
		t.Fatalf("the wrapped file does not parse: %v", err)
	}
	out, _, err := doc.Unwrap(sel)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkMeaning decodes input and output with encoding/json and checks that
// each changed server has the wrapped command and args and nothing else
// changed anywhere.
func checkMeaning(t *testing.T, in, out []byte, results []Result, o WrapOptions) {
	t.Helper()
	var before, after any
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatalf("input is not plain JSON: %v", err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatalf("wrapped file is not valid JSON: %v", err)
	}
	changed := map[string]bool{}
	for _, r := range results {
		if r.Changed {
			changed[r.Name] = true
		}
	}
	n := 0
	var fix func(b, a any) any
	fix = func(b, a any) any {
		bm, ok1 := b.(map[string]any)
		am, ok2 := a.(map[string]any)
		if !ok1 || !ok2 {
			return a
		}
		for k, bv := range bm {
			av := am[k]
			be, ok1 := bv.(map[string]any)
			ae, ok2 := av.(map[string]any)
			if ok1 && ok2 && changed[k] && be["command"] != nil && ae["command"] == testExe {
				name := k
				if !o.Trusted {
					name = k + "." + projectTag(o.Project)
				}
				want := []any{"--name", name}
				if o.Profile != "" {
					want = append(want, "--profile", o.Profile)
				}
				if _, cwd := be["cwd"]; cwd && !o.Trusted {
					want = append(want, "--workspace", o.Project)
				} else if c, ok := be["cwd"].(string); ok && strings.HasPrefix(c, "/") && !strings.Contains(c, "$") {
					want = append(want, "--workspace", c)
				}
				want = append(want, "--", be["command"])
				if args, ok := be["args"].([]any); ok {
					want = append(want, args...)
				}
				// The variables its env sets are passed, in file
				// order (which a map does not keep); from a project's
				// file only those written as they are.
				wantPass := map[string]bool{}
				if env, ok := be["env"].(map[string]any); ok {
					for name, v := range env {
						if s, ok := v.(string); !o.Trusted && ok && strings.Contains(s, "$") && !strings.HasPrefix(s, "${input:") {
							continue
						}
						wantPass[name] = true
					}
				}
				var got []any
				gotPass := map[string]bool{}
				gotArgs, _ := ae["args"].([]any)
				for i := 0; i < len(gotArgs); i++ {
					if gotArgs[i] == "--" {
						got = append(got, gotArgs[i:]...)
						break
					}
					if gotArgs[i] == "--env-pass" && i+1 < len(gotArgs) {
						gotPass[fmt.Sprint(gotArgs[i+1])] = true
						i++
						continue
					}
					got = append(got, gotArgs[i])
				}
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotPass, wantPass) {
					t.Errorf("server %s: args %v, want %v and --env-pass %v", k, ae["args"], want, wantPass)
				}
				// Put the original back; then everything must be equal.
				ae["command"] = be["command"]
				if _, had := be["args"]; had {
					ae["args"] = be["args"]
				} else {
					delete(ae, "args")
				}
				n++
				continue
			}
			am[k] = fix(bv, av)
		}
		return am
	}
	after = fix(before, after)
	if n != len(changed) {
		t.Errorf("found %d wrapped servers in the JSON, want %d", n, len(changed))
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("wrap changed more than the wrapped servers' command and args")
	}
}

// projectTag is the tag wrap qualifies a project's server names with: the
// first 8 hex digits of the SHA-256 of the project folder.
func projectTag(project string) string {
	sum := sha256.Sum256([]byte(project))
	return hex.EncodeToString(sum[:])[:8]
}

// defaultHeldBack is HeldBack from the built-in default profile alone.
func defaultHeldBack(t *testing.T) func(name, value string) string {
	t.Helper()
	pol, err := policy.Load(policy.LoadOptions{UserConfigDir: t.TempDir(), Vars: policy.Vars{Home: "/home/me"}})
	if err != nil {
		t.Fatal(err)
	}
	return heldBackBy(pol)
}
