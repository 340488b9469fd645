package seatbelt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbshim/sbshim/isolation/policy"
)

// sessionDirPrefix names a session's private folder; PrivateTmp puts the
// session's $TMP in it as "tmp", next to the generated profile.
const sessionDirPrefix = "sbshim-"

// PrivateTmp returns the $TMP of a new session on a platform without a
// mount namespace (macOS): base/sbshim-RANDOM/tmp. Nothing is created:
// Start makes both folders, 0700, when the command starts (and refuses
// if either exists), and Process.Wait removes them when it has ended.
// base must be absolute and should be the user's own temporary folder
// with its symbolic links resolved, so that the path is the one the
// kernel reports.
func PrivateTmp(base string) (string, error) {
	if !filepath.IsAbs(base) {
		return "", fmt.Errorf("private $TMP: %q is not an absolute path", base)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("private $TMP: %w", err)
	}
	return filepath.Join(filepath.Clean(base), sessionDirPrefix+hex.EncodeToString(b[:]), "tmp"), nil
}

// sessionDir checks that tmp is a $TMP as PrivateTmp makes it and returns
// the session folder that holds it.
func sessionDir(tmp string) (string, error) {
	dir := filepath.Dir(tmp)
	name := filepath.Base(dir)
	hexPart, ok := strings.CutPrefix(name, sessionDirPrefix)
	if !filepath.IsAbs(tmp) || filepath.Clean(tmp) != tmp || filepath.Base(tmp) != "tmp" || !ok || len(hexPart) != 16 {
		return "", fmt.Errorf("$TMP %q is not a private session folder (isolation.PrivateTmp): the sandbox would share it", tmp)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("$TMP %q is not a private session folder (isolation.PrivateTmp)", tmp)
	}
	return dir, nil
}

// makeSessionDir creates the session folder of tmp and tmp itself, both
// 0700 and both new: a folder that is already there (planted by someone
// else, or left by another session) is refused, never reused.
func makeSessionDir(tmp string) (string, error) {
	dir, err := sessionDir(tmp)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("private session folder: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("private $TMP: %w", err)
	}
	return dir, nil
}

// hideTempFolder returns the policy the profile is generated from: pol,
// with the folder that holds the session folder (the user's temporary
// folder, $TMPDIR) made one of sbshim's private folders — hidden but for
// the allowWrite trees inside it, this session's $TMP among them. On
// Linux the sandbox has a /tmp of its own; without a mount namespace the
// host's temporary folder holds the other sessions' $TMP and the
// temporary files of every other program, which the sandbox must not
// read. When that folder holds the home, the workspace or the working
// directory (an odd $TMPDIR), or is the root, pol is returned as it is
// with the reason, for a warning.
func hideTempFolder(pol *policy.Policy, sessionDir, workDir string) (*policy.Policy, string) {
	base := filepath.Dir(sessionDir)
	for _, p := range []string{pol.Vars.Home, pol.Vars.Workspace, workDir} {
		if base == "/" || p != "" && policy.Within(p, base) {
			return pol, fmt.Sprintf("the temporary folder %s holds %s: the sandbox can read what other programs and sbshim sessions keep there", base, p)
		}
	}
	out := *pol
	out.Vars.PrivateDirs = append(slices.Clone(pol.Vars.PrivateDirs), base)
	out.Filesystem.DenyRead = append(slices.Clone(pol.Filesystem.DenyRead), base)
	return &out, ""
}

// writeProfile writes the generated profile into the session folder, 0600,
// as a new file, and returns its path.
func writeProfile(dir, text string) (string, error) {
	path := filepath.Join(dir, "profile.sb")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write the Seatbelt profile: %w", err)
	}
	return path, nil
}
