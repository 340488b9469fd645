package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// $TMP per platform: the sandbox's own /tmp on Linux; on macOS a fresh
// private folder of the session in the user's temporary folder, named by
// its real path.
func TestSessionTmp(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "T")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	realResolved, err := filepath.EvalSymlinks(real)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		goos, tempDir string
		wantPrefix    string
		wantErr       bool
	}{
		{"linux", link, "/tmp", false},
		{"darwin", link, realResolved + "/sbshim-", false},
		{"darwin", link + "/", realResolved + "/sbshim-", false},
		{"darwin", filepath.Join(real, "missing"), "", true},
	}
	for _, tt := range tests {
		got, err := sessionTmp(tt.goos, tt.tempDir)
		if (err != nil) != tt.wantErr {
			t.Errorf("sessionTmp(%s, %s) error %v, want error %v", tt.goos, tt.tempDir, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if tt.goos == "linux" && got != "/tmp" ||
			tt.goos == "darwin" && (!strings.HasPrefix(got, tt.wantPrefix) || filepath.Base(got) != "tmp") {
			t.Errorf("sessionTmp(%s, %s) = %q, want %s…/tmp", tt.goos, tt.tempDir, got, tt.wantPrefix)
		}
		if tt.goos == "darwin" {
			if _, err := os.Stat(filepath.Dir(got)); err == nil {
				t.Errorf("%s exists before the command starts", filepath.Dir(got))
			}
			if other, _ := sessionTmp(tt.goos, tt.tempDir); other == got {
				t.Errorf("two sessions share %s", got)
			}
		}
	}
}
