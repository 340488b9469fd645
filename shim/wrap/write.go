package wrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sbshim/sbshim/shim/audit"
)

// WriteFile replaces the contents of path, which must still be old, with
// data. It follows symbolic links, so a linked config file stays a link.
// First it keeps old as the file's one backup in backupDir (see
// BackupPath), replacing an earlier backup of the same file; then it
// writes a temporary file in the same directory with the same mode and
// owner, syncs it and renames it over the file, so that a reader sees the
// old or the new contents, never a mix. It returns the backup's path.
func WriteFile(path, backupDir string, old, data []byte) (string, error) {
	return WriteFileWithin(path, "", backupDir, old, data)
}

// WriteFileWithin is WriteFile for a project's file: unless root is "",
// the file, its symbolic links resolved, must still lie in the folder
// root (resolved too), or nothing is written.
func WriteFileWithin(path, root, backupDir string, old, data []byte) (string, error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if root != "" && !within(target, root) {
		return "", fmt.Errorf("%w: %s resolves to %s, outside %s; nothing written", ErrOutsideProject, path, target, root)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", err
	}
	if err := unchanged(target, old); err != nil {
		return "", err
	}
	backup, err := writeBackup(backupDir, target, old)
	if err != nil {
		return "", fmt.Errorf("back up %s: %w", target, err)
	}
	if err := replace(target, data, fi, old); err != nil {
		return backup, err
	}
	return backup, nil
}

// DefaultBackupDir is the backups folder in sbshim's state folder, next
// to the audit logs: $XDG_STATE_HOME/sbshim/backups, or
// ~/.local/state/sbshim/backups. Sandboxed servers cannot read it (sbshim
// hides its state folder), and config files hold API keys.
func DefaultBackupDir(e Env) string {
	return filepath.Join(filepath.Dir(audit.DefaultDir(e.getenv, e.Home)), "backups")
}

// BackupPath is where the backup of the config file at target (its
// symbolic links resolved) is kept in dir: one file per config file, named
// after its path and a hash of it, so that two files never share one.
func BackupPath(dir, target string) string {
	sum := sha256.Sum256([]byte(target))
	return filepath.Join(dir, audit.SafeName(target)+"."+hex.EncodeToString(sum[:4]))
}

// writeBackup replaces the backup of target in dir with data, atomically,
// readable by the user alone. Outside every project: a backup next to a
// project's file would be committed, or read, with the project.
func writeBackup(dir, target string, data []byte) (string, error) {
	if dir == "" || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("the backups folder %q is not an absolute path", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := BackupPath(dir, target)
	f, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return name, nil
}

// unchanged checks that the file still holds what was read: a client may
// have rewritten it in the meantime (Claude Code rewrites ~/.claude.json).
func unchanged(path string, old []byte) error {
	cur, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, old) {
		return fmt.Errorf("%s changed while sbshim was editing it; nothing written, run again", path)
	}
	return nil
}

// keepMode is the part of a file's mode that the new file gets.
const keepMode = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func replace(target string, data []byte, fi fs.FileInfo, old []byte) (err error) {
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".sbshim-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := finish(f, data, fi); err != nil {
		return err
	}
	if err := unchanged(target, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename is durable once the directory is
		d.Close()
	}
	return nil
}

// finish writes data to f, gives it fi's mode and owner, syncs and closes it.
func finish(f *os.File, data []byte, fi fs.FileInfo) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(fi.Mode() & keepMode)
	}
	if err == nil {
		err = sameOwner(f, fi)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
