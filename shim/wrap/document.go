package wrap

import (
	"bytes"
	"fmt"
	"strings"
)

// Format is the syntax of a configuration file.
type Format int

const (
	JSON Format = iota // JSON, or JSONC (comments, trailing commas)
	TOML               // Codex's config.toml
)

func (f Format) String() string {
	if f == TOML {
		return "TOML"
	}
	return "JSON"
}

// Layout is the key path of an object of servers in a JSON file; "*"
// stands for every key at that level (Claude Code's projects).
type Layout []string

// Layouts of the JSON files sbshim knows.
var (
	LayoutMCPServers = Layout{"mcpServers"}
	LayoutProjects   = Layout{"projects", "*", "mcpServers"}
	LayoutServers    = Layout{"servers"}
	LayoutSettings   = Layout{"mcp", "servers"}
)

// AllLayouts are tried on a file given with --config.
var AllLayouts = []Layout{LayoutMCPServers, LayoutProjects, LayoutServers, LayoutSettings}

// Document is a parsed configuration file and the servers found in it.
type Document struct {
	src     []byte
	format  Format
	layouts []Layout
	entries []*entry
	// vet, once Check or Wrap has set it, judges the entries as wrap
	// does: see vet.go.
	vet *WrapOptions
}

// Parse scans a configuration file. For JSON, layouts say where the
// servers are.
func Parse(src []byte, format Format, layouts []Layout) (*Document, error) {
	d := &Document{src: src, format: format, layouts: layouts}
	if format == TOML {
		tables, err := parseTOML(src)
		if err != nil {
			return nil, err
		}
		d.entries = tomlEntries(src, tables)
		return d, nil
	}
	root, err := parseJSONC(src)
	if err != nil {
		return nil, err
	}
	seen := map[*node]bool{}
	for _, l := range layouts {
		for _, found := range walk(root, l, "") {
			if seen[found.obj] {
				continue
			}
			seen[found.obj] = true
			for _, m := range found.obj.members {
				d.entries = append(d.entries, newEntry(src, styleJSON, m.key, found.scope, m.value))
			}
		}
	}
	return d, nil
}

type servers struct {
	obj   *node
	scope string
}

// walk finds the objects at a layout's path.
func walk(n *node, l Layout, scope string) []servers {
	if n == nil || n.kind != kindObject {
		return nil
	}
	if len(l) == 0 {
		return []servers{{n, scope}}
	}
	if l[0] != "*" {
		m := n.get(l[0])
		if m == nil {
			return nil
		}
		return walk(m.value, l[1:], scope)
	}
	var out []servers
	for _, m := range n.members {
		out = append(out, walk(m.value, l[1:], "project "+m.key)...)
	}
	return out
}

// tomlEntries finds Codex's servers: [mcp_servers.NAME] tables, and
// inline tables under [mcp_servers] or at mcp_servers.NAME. A server
// written as dotted keys (mcp_servers.NAME.command = ...) is listed as one
// that wrap does not edit, rather than not at all.
func tomlEntries(src []byte, tables []*tomlTable) []*entry {
	var out []*entry
	dotted := map[string]bool{}
	env := map[string][]string{} // [mcp_servers.NAME.env] tables
	for _, t := range tables {
		if len(t.path) >= 3 && t.path[0] == "mcp_servers" && t.path[2] == "env" {
			for i, m := range t.body.members {
				if len(t.path) == 3 {
					env[t.path[1]] = append(env[t.path[1]], t.paths[i][0])
				} else {
					env[t.path[1]] = append(env[t.path[1]], m.key)
				}
			}
			if len(t.path) > 3 || len(t.body.members) == 0 {
				env[t.path[1]] = append(env[t.path[1]], strings.Join(t.path[3:], "."))
			}
		}
	}
	defer func() {
		for _, e := range out {
			e.extraEnv = env[e.name]
		}
	}()
	for _, t := range tables {
		if t.array {
			continue
		}
		if len(t.path) == 2 && t.path[0] == "mcp_servers" {
			out = append(out, newEntry(src, styleTOMLTable, t.path[1], "", t.body))
			continue
		}
		for i, m := range t.body.members {
			full := append(append([]string(nil), t.path...), t.paths[i]...)
			switch {
			case len(full) == 2 && full[0] == "mcp_servers":
				out = append(out, newEntry(src, styleTOMLInline, full[1], "", m.value))
			case len(full) == 1 && full[0] == "mcp_servers" && m.value.kind == kindObject:
				for _, s := range m.value.members {
					out = append(out, newEntry(src, styleTOMLInline, s.key, "", s.value))
				}
			case len(full) > 2 && full[0] == "mcp_servers" && len(t.path) < 2 && !dotted[full[1]]:
				dotted[full[1]] = true
				out = append(out, &entry{name: full[1], style: styleTOMLInline, src: src, state: Invalid,
					reason: "written as dotted keys (mcp_servers." + full[1] + "." + full[2] + " = ...): wrap edits [mcp_servers." + full[1] + "] tables and inline tables"})
			}
		}
	}
	return out
}

// Server is one server entry found in a file.
type Server struct {
	Name    string
	Scope   string // "" or "project /path" (Claude Code's per-project servers)
	State   State
	Reason  string // why it is Remote, Docker, Invalid or Suspicious, or why a NotWrapped one that runs sbshim is wrapped again
	Command string
	Args    []string
}

// Servers lists the document's servers in file order, judged as Check
// or Wrap was told to (by their syntax before that).
func (d *Document) Servers() []Server {
	out := make([]Server, 0, len(d.entries))
	for _, e := range d.entries {
		out = append(out, d.server(e))
	}
	return out
}

func (d *Document) server(e *entry) Server {
	cmd, args := e.command()
	st, why := e.state, e.reason
	if d.vet != nil {
		st, why = d.vet.vet(e)
	}
	return Server{Name: e.name, Scope: e.scope, State: st, Reason: why, Command: cmd, Args: args}
}

// Check makes Servers judge the entries as Wrap with these options would:
// an untrusted file's entries by what they could widen (vet.go).
func (d *Document) Check(o WrapOptions) {
	d.vet = &o
}

// Result says what wrap or unwrap did with one server.
type Result struct {
	Server
	Changed bool
	Note    string   // why it was left alone
	Notes   []string // wrap: what the user should know (variables passed, the workspace, state left behind)
}

// WrapOptions are the options of Wrap.
type WrapOptions struct {
	Executable string            // the absolute path of sbshim
	Profile    string            // passed as --profile when not empty
	Select     func(string) bool // which servers, by name; nil: all
	// Trusted marks a file the user wrote (a client's user-level
	// configuration): its entries are taken as they are. Otherwise the
	// file came with a project, and each entry is attacker-controlled
	// input (vet.go).
	Trusted bool
	// Project is the project folder an untrusted file belongs to: the
	// workspace wrap pins, and what server names are qualified with.
	Project string
	// Home is the user's home folder: a cwd that is the home or a folder
	// above it is not made the workspace.
	Home string
	// Client is the client whose file it is (see Clients), for what
	// wrap says about the folder the client starts a server in.
	Client string
	// HeldBack returns the rule by which sbshim's env policy would hold
	// back the variable name with the value value ("" when the value is
	// not known), or "" if it passes; nil when the policy is not known.
	HeldBack func(name, value string) string
	// NpmCache is the host's npm cache folder, where npx keeps the
	// packages it runs (and some servers their data); "" if unknown.
	NpmCache string
	// CacheHome is the folder sbshim's private caches are in
	// ($XDG_CACHE_HOME/sbshim or ~/.cache/sbshim); "" if unknown.
	CacheHome string
}

// Wrap puts every selected local server behind sbshim and returns the new
// text. Each change is checked: unwrapping it must give the text before it
// back, or the server is left alone with a note.
func (d *Document) Wrap(o WrapOptions) ([]byte, []Result, error) {
	if commandBase(o.Executable) != "sbshim" {
		// Wrapped entries are recognised by the name of their command.
		return nil, nil, fmt.Errorf("the sbshim binary %q must be named sbshim", o.Executable)
	}
	d.vet = &o
	return d.change(o.Select, func(e *entry) (string, []edit, []string, error) {
		st, why := o.vet(e)
		switch st {
		case Wrapped:
			return "already wrapped", nil, o.wrappedNotes(e), nil
		case NotWrapped:
			edits, err := e.wrapEdits(o.Executable, o.runFlags(e))
			return why, edits, o.notes(e), err // why it is wrapped again, if it ran sbshim
		}
		return skipNote(st, why), nil, nil, nil
	}, Wrapped)
}

// skipNote says why wrap leaves an entry alone.
func skipNote(st State, why string) string {
	switch st {
	case Remote:
		return "remote (n/a)"
	case Docker:
		return "docker (skipped): " + why
	case Suspicious:
		return "left alone, NOT sandboxed: suspicious: " + why
	}
	return "skipped: " + why
}

// Unwrap takes every selected server out from behind sbshim.
func (d *Document) Unwrap(sel func(string) bool) ([]byte, []Result, error) {
	return d.change(sel, func(e *entry) (string, []edit, []string, error) {
		if e.state != Wrapped {
			return "not wrapped", nil, nil, nil
		}
		edits, err := e.unwrapEdits()
		if err != nil {
			return "cannot unwrap: " + err.Error(), nil, nil, nil
		}
		return "", edits, nil, nil
	}, NotWrapped)
}

// change applies plan to each selected entry in turn, re-scanning the text
// after each change, and checks every change by undoing it.
func (d *Document) change(sel func(string) bool, plan func(*entry) (string, []edit, []string, error), want State) ([]byte, []Result, error) {
	cur := d
	var results []Result
	for i := range d.entries {
		e := cur.entries[i]
		if sel != nil && !sel(e.name) {
			continue
		}
		r := Result{Server: cur.server(e)}
		note, edits, notes, err := plan(e)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.name, err)
		}
		r.Note, r.Notes = note, notes
		if len(edits) == 0 {
			results = append(results, r)
			continue
		}
		next, err := cur.try(i, edits, want)
		if err != nil {
			r.Note, r.Notes = err.Error(), nil
			results = append(results, r)
			continue
		}
		cur = next
		r.Changed = true
		results = append(results, r)
	}
	return cur.src, results, nil
}

// try applies edits to entry i and checks the result: it must parse, entry
// i must be in the wanted state, and going back must give the text before.
func (d *Document) try(i int, edits []edit, want State) (*Document, error) {
	src, err := applyEdits(d.src, edits)
	if err != nil {
		return nil, err
	}
	next, err := Parse(src, d.format, d.layouts)
	if err != nil {
		return nil, fmt.Errorf("internal error: the edit does not parse (%v); left alone", err)
	}
	next.vet = d.vet
	if len(next.entries) != len(d.entries) || next.entries[i].name != d.entries[i].name {
		return nil, fmt.Errorf("internal error: the edit changed the entry; left alone")
	}
	ne := next.entries[i]
	if want == NotWrapped {
		// The command may still be sbshim: wrap puts sbshim in front
		// of an entry that ran another sbshim, or this one with other
		// flags, and unwrap gives that entry back.
		return next, nil
	}
	if st := next.server(ne).State; st != Wrapped {
		return nil, fmt.Errorf("internal error: %s after wrapping; left alone", st)
	}
	back, err := ne.unwrapEdits()
	if err == nil {
		var undone []byte
		if undone, err = applyEdits(src, back); err == nil && !bytes.Equal(undone, d.src) {
			err = fmt.Errorf("unwrapping would not give the original back")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot be wrapped reversibly in this layout (edit it by hand): %v", err)
	}
	return next, nil
}
