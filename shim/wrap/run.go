package wrap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/sbshim/sbshim/isolation/policy"
)

// Op is what Run does to the selected servers.
type Op int

const (
	OpWrap   Op = iota // put them behind sbshim
	OpUnwrap           // take them out again
)

// Options select the files and servers, and say how to change them.
type Options struct {
	Env        Env
	Clients    []string // client names; empty: every client
	Config     string   // one file to edit instead of the clients' files
	Servers    []string // server names; empty: every server
	Profile    string   // wrap: passed to sbshim as --profile
	Executable string   // wrap: the sbshim that entries run; "": this program
	DryRun     bool     // print the diff, write nothing
	Yes        bool     // write without asking

	// Confirm asks the user a yes/no question. Nil means nobody can be
	// asked (stdin is not a terminal): then only Yes or DryRun proceed.
	Confirm func(question string) (bool, error)
	// BackupDir is where the one backup of each file wrap or unwrap
	// writes is kept; "": the backups folder in sbshim's state folder
	// (DefaultBackupDir).
	BackupDir string

	// heldBack is WrapOptions.HeldBack, from sbshim's policy (Run).
	heldBack func(name, value string) string
}

// file is one configuration file that exists.
type file struct {
	loc Location
	src []byte
	doc *Document
	err error
	// trusted is a user-level file; project is the project folder of
	// one that is not, which the file must lie in (symbolic links
	// resolved).
	trusted bool
	project string
	// path is where the file was read: loc.Path, or for an untrusted
	// file its resolved path inside the project.
	path string
}

// locations are the files the options name.
func (o Options) locations() ([]Location, error) {
	if o.Config != "" {
		client := ""
		if len(o.Clients) == 1 {
			client = o.Clients[0]
		}
		path, err := filepath.Abs(o.Config)
		if err != nil {
			return nil, err
		}
		return []Location{ConfigLocation(path, client)}, nil
	}
	return Locations(o.Env, o.Clients)
}

// files reads and parses the files that exist. A file that does not parse
// is returned with its error.
func (o Options) files() ([]file, []Location, error) {
	locs, err := o.locations()
	if err != nil {
		return nil, nil, err
	}
	var out []file
	for _, l := range locs {
		f := file{loc: l, path: l.Path}
		f.trusted, f.project = o.trust(l)
		var err error
		if !f.trusted {
			f.path, err = insideProject(l.Path, f.project)
		}
		if err == nil {
			f.src, err = os.ReadFile(f.path)
		}
		if errors.Is(err, fs.ErrNotExist) && o.Config == "" {
			continue
		}
		f.err = err
		if err == nil {
			f.doc, f.err = Parse(f.src, l.Format, l.Layouts)
		}
		if f.err == nil {
			f.doc.Check(o.wrapOptions(f))
		}
		out = append(out, f)
	}
	return out, locs, nil
}

// wrapOptions are the options Wrap gets for one file.
func (o Options) wrapOptions(f file) WrapOptions {
	return WrapOptions{Executable: o.Executable, Profile: o.Profile, Select: o.selector(), Trusted: f.trusted, Project: f.project,
		Home: o.Env.Home, Client: f.loc.Client, HeldBack: o.heldBack, NpmCache: hostNpmCache(o.Env), CacheHome: o.Env.cacheHome()}
}

// trust says whether the file at a location is the user's own (a client's
// user-level file, also when given with --config), and otherwise which
// project folder it belongs to, symbolic links resolved.
func (o Options) trust(l Location) (bool, string) {
	switch l.Scope {
	case "user":
		return true, ""
	case "project":
		return false, resolveDir(o.Env.Dir)
	}
	if all, err := Locations(o.Env, nil); err == nil {
		for _, u := range all {
			if u.Scope == "user" && filepath.Clean(u.Path) == filepath.Clean(l.Path) {
				return true, ""
			}
		}
	}
	return false, resolveDir(projectRoot(l.Path))
}

// resolveDir is dir with its symbolic links resolved, or dir if that
// fails.
func resolveDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return filepath.Clean(dir)
}

// insideProject resolves the symbolic links of a project's file and
// returns its real path, or an error if that lies outside the project
// folder: a repository can link .mcp.json or .vscode to a user's own
// file, which wrap must not edit as if it were the project's.
func insideProject(path, project string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if !within(real, project) {
		return "", fmt.Errorf("%w: it resolves to %s, outside the project %s; wrap does not follow a project's links out of it (to wrap that file, name it with --config at its real place)", ErrOutsideProject, real, project)
	}
	return real, nil
}

// ErrOutsideProject is returned for a project's file that is, or lies in,
// a symbolic link out of the project.
var ErrOutsideProject = errors.New("symbolic link out of the project")

// within reports whether path is root or lies under it (both absolute and
// resolved).
func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (o Options) selector() func(string) bool {
	if len(o.Servers) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, s := range o.Servers {
		want[s] = true
	}
	return func(name string) bool { return want[name] }
}

// display shortens a path under the home directory to ~/...
func (o Options) display(path string) string {
	if h := o.Env.Home; h != "" && strings.HasPrefix(path, h+string(filepath.Separator)) {
		return "~" + path[len(h):]
	}
	return path
}

// List writes a table of every server in every selected file, wrapped or
// not. A file that does not parse gets a row saying so.
func List(o Options, w io.Writer) error {
	files, locs, err := o.files()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(w, "No MCP client configuration found. Looked for:")
		for _, l := range locs {
			fmt.Fprintf(w, "  %-15s %s\n", l.Client, o.display(l.Path))
		}
		return nil
	}
	sel := o.selector()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tFILE\tSERVER\tSTATE")
	var bad error
	for _, f := range files {
		name := o.display(f.loc.Path)
		if f.err != nil {
			fmt.Fprintf(tw, "%s\t%s\t-\terror: %s\n", f.loc.Client, name, printable(f.err.Error()))
			bad = fmt.Errorf("%s: %w", f.loc.Path, f.err)
			continue
		}
		for _, s := range f.doc.Servers() {
			if sel != nil && !sel(s.Name) {
				continue
			}
			where := name
			if s.Scope != "" {
				where += " (" + printable(s.Scope) + ")"
			}
			state := s.State.String()
			if s.Reason != "" && s.State != Remote && s.State != Docker {
				state += ": " + s.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.loc.Client, where, printable(s.Name), printable(state))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bad
}

// change is the new text of one file.
type change struct {
	path     string
	old, new []byte
	within   string // the folder the file must still lie in ("" for a user's file)
}

// ErrNotConfirmed is returned when the changes were not written because
// nobody said yes.
var ErrNotConfirmed = errors.New("nothing written")

// Run wraps or unwraps the selected servers of the selected files. It
// reports each server on stdout; prints the diff unless Yes is set; with
// DryRun writes nothing; otherwise asks (Confirm) unless Yes is set, and
// writes each changed file atomically with a backup. A file that does not
// parse is reported on stderr and left untouched, and Run then returns an
// error after doing the rest.
func Run(op Op, o Options, stdout, stderr io.Writer) error {
	if op == OpWrap && o.Executable == "" {
		exe, err := Executable()
		if err != nil {
			return err
		}
		o.Executable = exe
	}
	if op == OpWrap && !filepath.IsAbs(o.Executable) {
		return fmt.Errorf("the sbshim path %q is not absolute", o.Executable)
	}
	if op == OpWrap {
		o.heldBack = policyHeldBack(o)
	}
	files, _, err := o.files()
	if err != nil {
		return err
	}
	var bad, suspicious []string
	var changes []change
	found := map[string]bool{}
	for _, f := range files {
		name := o.display(f.loc.Path)
		if f.err != nil {
			fmt.Fprintf(stderr, "sbshim: %s: %s; left untouched\n", name, printable(f.err.Error()))
			bad = append(bad, name)
			continue
		}
		var out []byte
		var results []Result
		if op == OpWrap {
			out, results, err = f.doc.Wrap(o.wrapOptions(f))
		} else {
			out, results, err = f.doc.Unwrap(o.selector())
		}
		if err != nil {
			fmt.Fprintf(stderr, "sbshim: %s: %s; left untouched\n", name, printable(err.Error()))
			bad = append(bad, name)
			continue
		}
		if len(results) > 0 {
			fmt.Fprintf(stdout, "%s (%s)\n", name, f.loc.Client)
		}
		for _, r := range results {
			found[r.Name] = true
			label := printable(r.Name)
			if r.Scope != "" {
				label += " [" + printable(r.Scope) + "]"
			}
			what := r.Note
			if r.Changed {
				what = map[Op]string{OpWrap: "wrapped", OpUnwrap: "unwrapped"}[op]
				if o.DryRun {
					what = "would be " + what
				}
				if r.Note != "" {
					what += " (" + r.Note + ")" // why a suspicious entry is wrapped
				}
			}
			if op == OpWrap && r.State == Suspicious {
				suspicious = append(suspicious, label+" in "+name)
			}
			fmt.Fprintf(stdout, "  %-24s %s\n", label, printable(what))
			for _, n := range r.Notes {
				fmt.Fprintf(stdout, "      - %s\n", printable(n))
			}
		}
		if !bytes.Equal(out, f.src) {
			changes = append(changes, change{path: f.path, old: f.src, new: out, within: f.project})
		}
		if old := oldBackups(f.path); len(old) > 0 {
			fmt.Fprintf(stdout, "  (%d backup(s) an earlier sbshim left next to it, which sbshim no longer makes nor reads: %s)\n", len(old), printable(strings.Join(old, " ")))
		}
	}
	for _, s := range o.Servers {
		if !found[s] {
			fmt.Fprintf(stderr, "sbshim: no server named %q in the selected files\n", s)
		}
	}
	if err := apply(changes, o, stdout); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d file(s) could not be read and were left untouched: %s", len(bad), strings.Join(bad, ", "))
	}
	if len(suspicious) > 0 {
		return fmt.Errorf("%d server(s) left alone as suspicious, and so NOT sandboxed: %s", len(suspicious), strings.Join(suspicious, ", "))
	}
	return nil
}

func apply(changes []change, o Options, stdout io.Writer) error {
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "Nothing to change.")
		return nil
	}
	if o.DryRun || !o.Yes {
		for _, c := range changes {
			name := o.display(c.path)
			fmt.Fprintf(stdout, "\n%s", terminalText(UnifiedDiff(name, name, c.old, c.new)))
		}
	}
	if o.DryRun {
		fmt.Fprintf(stdout, "\nDry run: %d file(s) would change; nothing written.\n", len(changes))
		return nil
	}
	if !o.Yes {
		if o.Confirm == nil {
			return fmt.Errorf("not writing %d file(s) without confirmation: stdin is not a terminal; pass --yes to write them (or --dry-run to only look)", len(changes))
		}
		ok, err := o.Confirm(fmt.Sprintf("\nWrite these changes to %d file(s)?", len(changes)))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotConfirmed
		}
	}
	dir := o.BackupDir
	if dir == "" {
		dir = DefaultBackupDir(o.Env)
	}
	for _, c := range changes {
		backup, err := WriteFileWithin(c.path, c.within, dir, c.old, c.new)
		if err != nil {
			return fmt.Errorf("write %s: %w", c.path, err)
		}
		fmt.Fprintf(stdout, "Wrote %s (backup of what it held: %s)\n", o.display(c.path), o.display(backup))
	}
	return nil
}

// oldBackups lists the backups earlier versions of sbshim wrote next to a
// config file (FILE.sbshim-backup-TIME): wrap names them so that the user
// can delete them, and deletes nothing itself.
func oldBackups(path string) []string {
	m, _ := filepath.Glob(globEscape(path) + ".sbshim-backup-*")
	return m
}

// globEscape escapes the characters filepath.Glob treats as special.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Executable is the absolute path of the running sbshim, symbolic links
// resolved, so that clients with a minimal PATH find it.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find sbshim's own path: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("find sbshim's own path: %w", err)
	}
	return filepath.Abs(exe)
}

// TerminalConfirm returns a Confirm that asks on out and reads the answer
// from in, or nil if in is not a terminal.
func TerminalConfirm(in *os.File, out io.Writer) func(string) (bool, error) {
	if !isTerminal(in) {
		return nil
	}
	r := bufio.NewReader(in)
	return func(q string) (bool, error) {
		fmt.Fprintf(out, "%s [y/N] ", q)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return false, nil
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	}
}

// printable is s, or s quoted as a Go string if it holds a control
// character, invalid UTF-8 or a bidirectional formatting character: names
// and text from a project's file must not drive the user's terminal or
// forge lines of output.
func printable(s string) string {
	for _, r := range s {
		if unsafeRune(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// terminalText is text with every control character but tab and newline
// (and the carriage return of a CRLF line end), every C1 control and every
// bidirectional formatting character written as a Go escape: a comment
// in a project's file must not drive the user's terminal (escape
// sequences) nor hide a line of the diff (a bare carriage return).
func terminalText(text string) string {
	var b strings.Builder
	for i, r := range text {
		switch {
		case r == '\t' || r == '\n' || r == '\r' && strings.HasPrefix(text[i+1:], "\n"):
			b.WriteRune(r)
		case r == utf8.RuneError && !strings.HasPrefix(text[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", text[i])
		case unsafeRune(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports whether r is a control character or a
// bidirectional formatting character.
func unsafeRune(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// policyHeldBack returns a HeldBack from sbshim's env policy as a server
// wrapped with o.Profile would get it (the built-in default, the user's
// config, the profile), or nil if that policy does not load: then wrap
// only cannot say which variables look secret.
func policyHeldBack(o Options) func(name, value string) string {
	pol, err := policy.Load(policy.LoadOptions{Profile: o.Profile, Vars: policy.Vars{Home: o.Env.Home}})
	if err != nil {
		return nil
	}
	return heldBackBy(pol)
}

// heldBackBy is HeldBack from a loaded policy.
func heldBackBy(pol *policy.Policy) func(name, value string) string {
	return func(name, value string) string {
		rule, ok := pol.EnvAllowed(name, value)
		switch {
		case ok:
			return ""
		case strings.HasPrefix(rule, "env.pass ("):
			return "env.pass does not list it"
		}
		return rule
	}
}
