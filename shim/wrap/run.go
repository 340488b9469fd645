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
	"strings"
	"text/tabwriter"
	"time"
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
	Now     func() time.Time // for backup names; nil: time.Now
}

// file is one configuration file that exists.
type file struct {
	loc Location
	src []byte
	doc *Document
	err error
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
		src, err := os.ReadFile(l.Path)
		if errors.Is(err, fs.ErrNotExist) && o.Config == "" {
			continue
		}
		f := file{loc: l, src: src, err: err}
		if err == nil {
			f.doc, f.err = Parse(src, l.Format, l.Layouts)
		}
		out = append(out, f)
	}
	return out, locs, nil
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
			fmt.Fprintf(tw, "%s\t%s\t-\terror: %v\n", f.loc.Client, name, f.err)
			bad = fmt.Errorf("%s: %w", f.loc.Path, f.err)
			continue
		}
		for _, s := range f.doc.Servers() {
			if sel != nil && !sel(s.Name) {
				continue
			}
			where := name
			if s.Scope != "" {
				where += " (" + s.Scope + ")"
			}
			state := s.State.String()
			if s.State == Invalid {
				state += ": " + s.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.loc.Client, where, s.Name, state)
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
	files, _, err := o.files()
	if err != nil {
		return err
	}
	var bad []string
	var changes []change
	found := map[string]bool{}
	for _, f := range files {
		name := o.display(f.loc.Path)
		if f.err != nil {
			fmt.Fprintf(stderr, "sbshim: %s: %v; left untouched\n", name, f.err)
			bad = append(bad, name)
			continue
		}
		var out []byte
		var results []Result
		if op == OpWrap {
			out, results, err = f.doc.Wrap(WrapOptions{Executable: o.Executable, Profile: o.Profile, Select: o.selector()})
		} else {
			out, results, err = f.doc.Unwrap(o.selector())
		}
		if err != nil {
			fmt.Fprintf(stderr, "sbshim: %s: %v; left untouched\n", name, err)
			bad = append(bad, name)
			continue
		}
		if len(results) > 0 {
			fmt.Fprintf(stdout, "%s (%s)\n", name, f.loc.Client)
		}
		for _, r := range results {
			found[r.Name] = true
			label := r.Name
			if r.Scope != "" {
				label += " [" + r.Scope + "]"
			}
			what := r.Note
			if r.Changed {
				what = map[Op]string{OpWrap: "wrapped", OpUnwrap: "unwrapped"}[op]
				if o.DryRun {
					what = "would be " + what
				}
			}
			fmt.Fprintf(stdout, "  %-24s %s\n", label, what)
		}
		if !bytes.Equal(out, f.src) {
			changes = append(changes, change{f.loc.Path, f.src, out})
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
			fmt.Fprintf(stdout, "\n%s", UnifiedDiff(name, name, c.old, c.new))
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
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	for _, c := range changes {
		backup, err := WriteFile(c.path, c.old, c.new, now())
		if err != nil {
			return fmt.Errorf("write %s: %w", c.path, err)
		}
		fmt.Fprintf(stdout, "Wrote %s (backup: %s)\n", o.display(c.path), o.display(backup))
	}
	return nil
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
