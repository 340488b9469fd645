//go:build unix

package wrap

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// sameOwner gives f the owner and group of fi, if they differ (sbshim run
// by root on another user's file, or a group inherited from the directory).
func sameOwner(f *os.File, fi fs.FileInfo) error {
	want, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	got, err := f.Stat()
	if err != nil {
		return err
	}
	if st, ok := got.Sys().(*syscall.Stat_t); ok && st.Uid == want.Uid && st.Gid == want.Gid {
		return nil
	}
	if err := f.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("keep the owner %d:%d: %w", want.Uid, want.Gid, err)
	}
	return nil
}
