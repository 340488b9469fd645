package execpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Error says why a command cannot be started.
type Error struct {
	// NotFound is true when there is no such program (a shell's 127);
	// otherwise it is there but cannot be run (126).
	NotFound bool
	// Msg is the message, starting with the command's name.
	Msg string
	// Err is the error underneath, if any.
	Err error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// Look returns the path of the program name stands for. A name with a
// slash is taken as it is; any other is looked for in the folders of
// env's PATH (defaultPath when env has none), and the first that can be
// run wins: a folder that is missing, cannot be searched or is no
// folder holds nothing, as for a shell; a file there that cannot be run
// is the answer only if no later folder has one that can. Relative
// names and PATH entries are taken from dir (the current folder when
// dir is empty); the returned path is as PATH spells it. A failure is
// an *Error.
func Look(name string, env []string, dir, defaultPath string) (string, error) {
	if strings.Contains(name, "/") {
		return name, check(name, at(name, dir))
	}
	pathVar := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	var denied error
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if _, err := os.Stat(at(p, dir)); err != nil {
			continue
		}
		err := check(name, at(p, dir))
		if err == nil {
			return p, nil
		}
		var e *Error
		if errors.As(err, &e) && !e.NotFound && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &Error{NotFound: true, Msg: name + ": command not found"}
}

// at returns p taken from dir when p is relative.
func at(p, dir string) string {
	if dir != "" && !filepath.IsAbs(p) {
		return filepath.Join(dir, p)
	}
	return p
}

// check says whether the file at p can be run by this process.
func check(name, p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{NotFound: true, Msg: name + ": no such file or directory", Err: err}
	case err != nil:
		return &Error{Msg: name + ": " + err.Error(), Err: err}
	case fi.IsDir():
		return &Error{Msg: name + ": is a directory"}
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return &Error{Msg: name + ": permission denied", Err: err}
	}
	return nil
}
