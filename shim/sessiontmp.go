package shim

import (
	"fmt"
	"path/filepath"

	"github.com/sbshim/sbshim/isolation"
)

// sessionTmp is the $TMP of a session on goos. On Linux it is /tmp, which
// the sandbox has its own of (a fresh tmpfs in its mount namespace).
// macOS has no mount namespace: there it is a private folder of the
// session inside the user's temporary folder tempDir, with its symbolic
// links resolved (/var/folders → /private/var/folders) so that it is the
// path the kernel reports; the backend makes it, 0700, when the command
// starts and removes it when the command has ended
// (isolation.PrivateTmp).
func sessionTmp(goos, tempDir string) (string, error) {
	if goos != "darwin" {
		return "/tmp", nil
	}
	base, err := filepath.EvalSymlinks(tempDir)
	if err != nil {
		return "", fmt.Errorf("$TMP: the temporary folder: %w", err)
	}
	base, err = filepath.Abs(base)
	if err != nil {
		return "", fmt.Errorf("$TMP: the temporary folder: %w", err)
	}
	return isolation.PrivateTmp(base)
}
