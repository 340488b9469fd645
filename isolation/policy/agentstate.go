package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// partialSuffix and newSuffix name the temporary places a copy is made in
// before it is renamed into place, so that an interrupted copy is never
// taken for a finished one.
const (
	partialSuffix = ".sbshim-partial"
	newSuffix     = ".sbshim-new"
)

// noFollow makes opening a symlink fail instead of following it.
const noFollow = syscall.O_NOFOLLOW

// PrepareAgentState makes the private copies that agent.state lists. It
// runs in sbshim, outside the sandbox and before it starts. For each entry,
// parents before children:
//   - when To does not exist yet, From is copied to it: folders, regular
//     files (with their permission bits) and symlinks (as symlinks, never
//     followed); sockets, devices and pipes, the Skip names, the
//     Credentials (see below), anything under Vars.Cache and anything the
//     policy hides (filesystem.denyRead) are left out. From itself may be a
//     symlink to the real folder or file. A missing From copies nothing.
//     Later starts keep the copy as it is;
//   - every credential whose real file From/name exists is copied to
//     To/name again, replacing the copy, so a login done outside is picked
//     up. Load put those in Filesystem.DenyWrite: read-only inside.
//
// Every write goes through an os.Root at Vars.Cache, so nothing outside
// $CACHE is written whatever links the sandboxed program left in it, and
// the real From is only read. Each entry that fails is named in the
// returned error; the others are still prepared.
//
// It also makes sure sbshim's private folders (Vars.PrivateDirs) exist, so
// that the sandbox's mount tree can hide them as a whole: a folder that
// another sbshim created only later would be visible through the
// read-only view of the host. Only the last component is made, and a
// folder that cannot be made (a read-only home inside another sbshim) is
// left alone.
func (p *Policy) PrepareAgentState() error {
	for _, d := range p.Vars.PrivateDirs {
		_ = os.Mkdir(d, 0o700) // only where its parent exists: nothing else is made
	}
	if len(p.Agent.State) == 0 {
		return nil
	}
	cache := p.Vars.Cache
	dst, err := os.OpenRoot(cache)
	if err != nil {
		return fmt.Errorf("agent state: %w", err)
	}
	defer dst.Close()
	entries := slices.Clone(p.Agent.State)
	slices.SortStableFunc(entries, func(a, b AgentState) int {
		return strings.Count(a.To, "/") - strings.Count(b.To, "/")
	})
	var errs []error
	for _, e := range entries {
		if err := p.prepareOne(dst, e); err != nil {
			errs = append(errs, fmt.Errorf("agent state %s: %w", p.Vars.displayPath(e.To), err))
		}
	}
	return errors.Join(errs...)
}

func (p *Policy) prepareOne(dst *os.Root, e AgentState) error {
	rel, err := filepath.Rel(p.Vars.Cache, e.To)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return fmt.Errorf("not under the private cache %s", p.Vars.Cache)
	}
	src, err := os.Stat(e.From) // From itself may be a link to the real place
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := dst.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
		if err := p.copyFirst(dst, e, rel, src); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if !src.IsDir() {
		return nil
	}
	var errs []error
	for _, name := range e.Credentials {
		if err := refreshFile(dst, filepath.Join(e.From, name), filepath.Join(rel, name)); err != nil {
			errs = append(errs, fmt.Errorf("credential %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// copyFirst copies From to rel (inside dst) through a temporary name.
func (p *Policy) copyFirst(dst *os.Root, e AgentState, rel string, src fs.FileInfo) error {
	if err := dst.MkdirAll(filepath.Dir(rel), 0o700); err != nil {
		return err
	}
	tmp := rel + partialSuffix
	if err := dst.RemoveAll(tmp); err != nil {
		return err
	}
	var err error
	switch {
	case src.IsDir():
		err = p.copyTree(dst, e, tmp, src.Mode().Perm())
	case src.Mode().IsRegular():
		err = copyFile(dst, e.From, tmp, src.Mode().Perm())
	default:
		return nil // not a folder or a regular file: nothing to copy
	}
	if err == nil {
		err = dst.Rename(tmp, rel)
	}
	if err != nil {
		dst.RemoveAll(tmp)
	}
	return err
}

// copyTree copies the folder e.From, whose mode is perm, into tmp (inside
// dst) without ever following a symlink below e.From.
func (p *Policy) copyTree(dst *os.Root, e AgentState, tmp string, perm fs.FileMode) error {
	src, err := os.OpenRoot(e.From)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := dst.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	skip := append(slices.Clone(e.Skip), e.Credentials...)
	type dirMode struct {
		rel  string
		mode fs.FileMode
	}
	var modes []dirMode
	var walk func(dir string) error
	walk = func(dir string) error {
		f, err := src.Open(dir)
		if err != nil {
			return err
		}
		list, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return err
		}
		for _, d := range list {
			rel := filepath.Join(dir, d.Name())
			abs := filepath.Join(e.From, rel)
			if UnderAny(rel, skip) || Within(abs, p.Vars.Cache) {
				continue
			}
			if _, ok := p.CanRead(abs); !ok {
				continue
			}
			out := filepath.Join(tmp, rel)
			switch t := d.Type(); {
			case t.IsDir():
				info, err := src.Lstat(rel)
				if err != nil {
					return err
				}
				if err := dst.Mkdir(out, 0o700); err != nil {
					return err
				}
				if err := walk(rel); err != nil {
					return err
				}
				modes = append(modes, dirMode{out, info.Mode().Perm()})
			case t&fs.ModeSymlink != 0:
				target, err := src.Readlink(rel)
				if err != nil {
					return err
				}
				if err := dst.Symlink(target, out); err != nil {
					return err
				}
			case t.IsRegular():
				info, err := src.Lstat(rel)
				if err != nil {
					return err
				}
				if err := copyRootFile(src, rel, dst, out, info.Mode().Perm()); err != nil {
					return err
				}
			default:
				// sockets, pipes, devices: not state worth copying
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		return err
	}
	// Folder modes last (children first), once they no longer need to
	// be writable for the copy; the top folder keeps 0700 until renamed.
	for _, m := range modes {
		if err := dst.Chmod(m.rel, m.mode); err != nil {
			return err
		}
	}
	return dst.Chmod(tmp, perm)
}

// copyRootFile copies the regular file name of src to out in dst, with
// mode perm, without following a symlink swapped in at name.
func copyRootFile(src *os.Root, name string, dst *os.Root, out string, perm fs.FileMode) error {
	in, err := src.OpenFile(name, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFrom(in, dst, out, perm)
}

// copyFile copies the host file path (followed if a link) to out in dst.
func copyFile(dst *os.Root, path, out string, perm fs.FileMode) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFrom(in, dst, out, perm)
}

// writeFrom creates out in dst (it must not exist) with in's bytes and
// mode perm.
func writeFrom(in io.Reader, dst *os.Root, out string, perm fs.FileMode) error {
	f, err := dst.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = dst.Chmod(out, perm)
	}
	return err
}

// refreshFile replaces out in dst by a copy of the real file path, if that
// exists, through a temporary name; a missing path leaves out alone.
func refreshFile(dst *os.Root, path, out string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if err := dst.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	tmp := out + newSuffix
	if err := dst.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := copyFile(dst, path, tmp, info.Mode().Perm()); err != nil {
		dst.Remove(tmp)
		return err
	}
	if err := dst.Rename(tmp, out); err != nil {
		dst.Remove(tmp)
		return err
	}
	return nil
}
