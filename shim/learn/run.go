package learn

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sbshim/sbshim/configs"
	"github.com/sbshim/sbshim/shim"
	"github.com/sbshim/sbshim/shim/audit"
)

// Options is what sbshim learn was asked.
type Options struct {
	// Server is the server name, as in the audit log (--server).
	Server string
	// Since and Session select the records (zero: all).
	Since   time.Time
	Session string
	// Write saves the proposal as the server's user profile.
	Write bool
	// AllowSecrets are the --allow-secrets paths (may start with ~/).
	AllowSecrets []string
	// Profile is the profile the server runs with; empty means the
	// learned profile of the server if there is one, else the profile
	// its last session ran with when that is a known name.
	Profile string
	// Workspace is $WORKSPACE (default: the working directory).
	Workspace string
	// AuditDir is the folder of the audit logs, AuditFile one log file
	// to read instead (--audit-log).
	AuditDir, AuditFile string
	// ConfigDir is sbshim's config folder (the learned profiles are in
	// its profiles/).
	ConfigDir string
	Now       time.Time
	Loc       *time.Location
	// FS is the host file system; nil means HostFS.
	FS FS
}

// Result is what Run did.
type Result struct {
	Proposal *Proposal
	// Wrote and Backup are the profile written and the backup of the
	// previous one ("" when none).
	Wrote, Backup string
}

// Run reads the server's audit log, proposes the additions, prints them
// to w and, with Write, saves the profile.
func Run(o Options, w io.Writer) (*Result, error) {
	if o.Server == "" {
		return nil, errors.New("--server NAME is needed: which server's blocked attempts to learn from")
	}
	f := audit.Filter{Server: o.Server, Session: o.Session, Since: o.Since}
	var log *audit.Log
	var err error
	if o.AuditFile != "" {
		log, err = audit.ReadFile(o.AuditFile, f)
	} else {
		log, err = audit.ReadFile(audit.PathFor(o.AuditDir, o.Server), f)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no audit log for server %s in %s (see sbshim audit for the servers it has)", ToolName(o.Server), o.AuditDir)
		}
	}
	if err != nil {
		return nil, err
	}
	recs := log.Records()
	lastCmd, lastProfile := lastSession(recs)

	profile, note := o.chooseProfile(lastProfile)
	// The last session's command picks the server profile, if any, as it
	// did for the session.
	so := shim.Options{Argv: lastCmd, Name: o.Server, Profile: profile, Workspace: o.Workspace}
	pol, layers, err := so.PolicyLayers()
	if err != nil {
		return nil, fmt.Errorf("the policy in force: %w", err)
	}
	var secrets []string
	for _, s := range o.AllowSecrets {
		if s == "~" || strings.HasPrefix(s, "~/") {
			s = pol.Vars.Home + s[1:]
		}
		if !filepath.IsAbs(s) {
			return nil, fmt.Errorf("--allow-secrets %q: expected an absolute path or one starting with ~/", s)
		}
		s = filepath.Clean(s)
		if home := pol.Vars.Home; s == "/" || home != "" && within(home, s) {
			return nil, fmt.Errorf("--allow-secrets %q holds your home folder: name the secret location or the file the server needs (~/.ssh/known_hosts)", s)
		}
		secrets = append(secrets, s)
	}

	at := Collect(recs)
	p := Generalise(Config{Policy: pol, AllowSecrets: secrets, FS: o.FS, CodeDirs: CodeDirs(os.Getenv("PATH"), pol.Vars.Home)}, at)
	inForce := InForce(layers)

	ew := &errWriter{w: w}
	ew.printf("Server %s: %d blocked record(s) in %d session(s) read from %s; policy in force: %s (%s)%s\n\n",
		ToolName(o.Server), countBlocked(recs), at.Sessions, quote(strings.Join(log.Files, ", ")),
		escape(pol.Name), escape(strings.Join(pol.Sources, ", ")), note)
	if log.Bad > 0 {
		ew.printf("(%d line(s) of the log are not audit records and were skipped)\n\n", log.Bad)
	}
	if ew.err != nil {
		return nil, ew.err
	}
	if err := Render(w, p, inForce, pol.Vars.Home, o.Loc); err != nil {
		return nil, err
	}
	res := &Result{Proposal: p}
	name := ProfileName(o.Server)
	path := ProfilePath(pol.Vars.ConfigDir, o.Server)
	switch {
	case len(p.Grants) == 0:
		if o.Write {
			ew.printf("\nNothing written.\n")
		}
	case !o.Write:
		ew.printf("\nTo save this as profile %s (%s), run learn again with --write.\n", name, quote(path))
	default:
		prof, err := Build(layers.Top, inForce, p, o.Server, o.Now)
		if err != nil {
			return nil, err
		}
		data, err := Encode(prof, path)
		if err != nil {
			return nil, err
		}
		backup, err := Save(path, data, o.Now)
		if err != nil {
			return nil, err
		}
		res.Wrote, res.Backup = path, backup
		ew.printf("\nWrote %s", quote(path))
		if backup != "" {
			ew.printf(" (the previous one is kept as %s)", quote(backup))
		}
		cmd, flags := "COMMAND ...", "--profile "+name
		if len(lastCmd) > 0 {
			cmd = quoteArgs(lastCmd)
		}
		if len(lastCmd) == 0 || shim.SafeName(shim.ServerName(lastCmd)) != o.Server {
			// The server was named with --name: keep the name, so that
			// its log and learn's next run stay the same.
			flags = "--name " + quoteArgs([]string{o.Server}) + " " + flags
		}
		ew.printf(".\nRun the server with it:\n  sbshim %s -- %s\n(in an MCP client's config, add these flags before the command in the server's args)\n", flags, cmd)
	}
	return res, ew.err
}

// chooseProfile picks the profile in force when --profile was not given:
// the server's learned profile if it exists, else the profile its last
// session ran with if that is a built-in one.
func (o Options) chooseProfile(last string) (profile, note string) {
	if o.Profile != "" {
		return o.Profile, ""
	}
	name := ProfileName(o.Server)
	if _, err := os.Stat(ProfilePath(o.ConfigDir, o.Server)); err == nil {
		return name, ""
	}
	// The chain is default[+server profile][+--profile]; the server
	// profile comes back by itself from the command.
	var rest []string
	for i, part := range strings.Split(last, "+") {
		if i == 0 && part == "default" || i == 1 && slices.Contains(configs.ServerNames(), part) {
			continue
		}
		rest = append(rest, part)
	}
	if len(rest) == 0 {
		return "", ""
	}
	if len(rest) == 1 && slices.Contains(configs.Names(), rest[0]) {
		return rest[0], "; the server's last session ran with it"
	}
	return "", "; its last session ran with profile " + quote(last) + ", which learn cannot find: give it with --profile"
}

// lastSession returns the command and profile of the last session_start.
func lastSession(recs []audit.Record) (cmd []string, profile string) {
	for _, r := range recs {
		if r.Type == audit.TypeSessionStart {
			cmd, profile = r.Command, r.Profile
		}
	}
	return cmd, profile
}

func countBlocked(recs []audit.Record) int {
	n := 0
	for _, r := range recs {
		if r.Type == audit.TypeBlocked {
			n += r.Times()
		}
	}
	return n
}

// quoteArgs writes a command for reading, each argument escaped and
// quoted when it holds anything but plain characters, bounded.
func quoteArgs(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@:=+,") == "" {
			b.WriteString(a)
		} else {
			b.WriteString("'" + strings.ReplaceAll(escape(a), "'", `'\''`) + "'")
		}
		if b.Len() > 1024 {
			return cut(b.String(), 1024)
		}
	}
	return b.String()
}
