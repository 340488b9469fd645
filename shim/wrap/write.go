package wrap

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// BackupSuffix is put between a file's name and the time of its backup.
const BackupSuffix = ".sbshim-backup-"

// WriteFile replaces the contents of path, which must still be old, with
// data. It follows symbolic links, so a linked config file stays a link.
// First it saves old next to the file as PATH.sbshim-backup-TIME; then it
// writes a temporary file in the same directory with the same mode and
// owner, syncs it and renames it over the file, so that a reader sees the
// old or the new contents, never a mix. It returns the backup's path.
func WriteFile(path string, old, data []byte, now time.Time) (string, error) {
	return WriteFileWithin(path, "", old, data, now)
}

// WriteFileWithin is WriteFile for a project's file: unless root is "",
// the file, its symbolic links resolved, must still lie in the folder
// root (resolved too), or nothing is written.
func WriteFileWithin(path, root string, old, data []byte, now time.Time) (string, error) {
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
	backup, err := writeBackup(target, old, fi, now)
	if err != nil {
		return "", fmt.Errorf("back up %s: %w", target, err)
	}
	if err := replace(target, data, fi, old); err != nil {
		return backup, err
	}
	return backup, nil
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

func writeBackup(target string, data []byte, fi fs.FileInfo, now time.Time) (string, error) {
	base := target + BackupSuffix + now.Format("20060102T150405")
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode()&fs.ModePerm)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := finish(f, data, fi); err != nil {
			os.Remove(name)
			return "", err
		}
		return name, nil
	}
}

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
