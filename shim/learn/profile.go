package learn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/shim/audit"
)

// maxDescription bounds the description of a learned profile.
const maxDescription = 4000

// ProfileName is the user profile name learn writes for server: its
// audit log's file name (audit.SafeName), so that it holds no / and does
// not end in .json, and --profile NAME finds it.
func ProfileName(server string) string {
	n := audit.SafeName(server)
	for strings.HasSuffix(n, ".json") {
		n = strings.TrimSuffix(n, ".json")
	}
	if n == "" {
		n = "unnamed"
	}
	return n
}

// ProfilePath is where learn writes the profile of server.
func ProfilePath(configDir, server string) string {
	return filepath.Join(configDir, "profiles", ProfileName(server)+".json")
}

// Lists are the allow lists a proposal changes, as profile entries.
type Lists struct {
	AllowWrite []string
	AllowRead  []string
	AllowNet   []string
}

// InForce returns the allow lists of the merged, unexpanded layers.
func InForce(l *policy.ProfileLayers) Lists {
	var out Lists
	if l != nil && l.Merged != nil {
		if f := l.Merged.Filesystem; f != nil {
			out.AllowWrite = slices.Clone(f.AllowWrite)
			out.AllowRead = slices.Clone(f.AllowRead)
		}
		if n := l.Merged.Network; n != nil {
			out.AllowNet = slices.Clone(n.Allow)
		}
	}
	return out
}

// With returns the lists with the grants added (entries already there are
// not repeated).
func (l Lists) With(grants []Grant) Lists {
	out := Lists{AllowWrite: slices.Clone(l.AllowWrite), AllowRead: slices.Clone(l.AllowRead), AllowNet: slices.Clone(l.AllowNet)}
	for _, g := range grants {
		switch g.Key {
		case KeyAllowWrite:
			if !slices.Contains(out.AllowWrite, g.Entry) {
				out.AllowWrite = append(out.AllowWrite, g.Entry)
			}
		case KeyAllowRead:
			if !slices.Contains(out.AllowRead, g.Entry) {
				out.AllowRead = append(out.AllowRead, g.Entry)
			}
		case KeyAllowNet:
			if !slices.Contains(out.AllowNet, g.Entry) {
				out.AllowNet = append(out.AllowNet, g.Entry)
			}
		}
	}
	return out
}

// Build returns the profile learn writes: the --profile layer in force
// (top, nil for none) with its allow lists replaced by the lists in force
// plus the grants (a later layer replaces an allow list, so the profile
// must repeat what it keeps), and a description saying what was learned.
func Build(top *policy.Profile, inForce Lists, p *Proposal, server string, now time.Time) (*policy.Profile, error) {
	var prof policy.Profile
	if top != nil {
		// A deep copy through JSON: the layer is not ours to change.
		b, err := json.Marshal(top)
		if err != nil {
			return nil, fmt.Errorf("copying the profile in force: %w", err)
		}
		if err := json.Unmarshal(b, &prof); err != nil {
			return nil, fmt.Errorf("copying the profile in force: %w", err)
		}
	}
	lists := inForce.With(p.Grants)
	if prof.Filesystem == nil {
		prof.Filesystem = &policy.FilesystemProfile{}
	}
	prof.Filesystem.AllowWrite = nonNil(lists.AllowWrite)
	if slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.Key == KeyAllowRead }) || len(lists.AllowRead) > 0 {
		prof.Filesystem.AllowRead = nonNil(lists.AllowRead)
	}
	if slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.Key == KeyAllowNet }) || len(lists.AllowNet) > 0 {
		if prof.Network == nil {
			prof.Network = &policy.NetworkProfile{}
		}
		prof.Network.Allow = nonNil(lists.AllowNet)
	}
	desc := ""
	if prof.Description != nil {
		desc = *prof.Description + "\n"
	}
	desc += fmt.Sprintf("Learned by sbshim learn for server %s on %s:", ToolName(server), now.UTC().Format(time.RFC3339))
	for _, g := range p.Grants {
		desc += " " + g.Entry + " (" + strings.Join(toolNames(g.From), ", ") + ");"
	}
	desc = cut(desc, maxDescription)
	prof.Description = &desc
	return &prof, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// Encode writes prof as indented JSON and checks that sbshim reads it
// back as a valid profile.
func Encode(prof *policy.Profile, source string) ([]byte, error) {
	b, err := json.MarshalIndent(prof, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the learned profile: %w", err)
	}
	b = append(b, '\n')
	if _, err := policy.ParseProfile(source, b); err != nil {
		return nil, fmt.Errorf("the learned profile does not read back: %w", err)
	}
	return b, nil
}

// Save writes data to path atomically (a temporary file renamed over it),
// keeping a previous file as path.TIME.bak; it returns the backup's path
// ("" when there was none).
func Save(path string, data []byte, now time.Time) (backup string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("profile folder: %w", err)
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		backup = fmt.Sprintf("%s.%s.bak", path, now.UTC().Format("20060102T150405.000000000Z"))
		if err := writeFileAtomic(backup, old); err != nil {
			return "", fmt.Errorf("backing up %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("reading the previous profile: %w", err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return backup, fmt.Errorf("writing %s: %w", path, err)
	}
	return backup, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
