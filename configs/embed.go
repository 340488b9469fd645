package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// files holds the shipped profiles. It is read-only.
//
//go:embed *.json servers/*.json
var files embed.FS

// serverDir is the folder of the server profiles inside files.
const serverDir = "servers"

const ext = ".json"

// Names returns the names of the shipped profiles (file names without
// ".json"), sorted.
func Names() []string { return namesIn(".") }

// Read returns the JSON text of the shipped profile NAME. An unknown name
// gives an error that wraps fs.ErrNotExist.
func Read(name string) ([]byte, error) { return readIn(".", "built-in profile", name) }

// ServerNames returns the names of the shipped server profiles (the
// profiles sbshim picks by itself for a server it recognises), sorted.
func ServerNames() []string { return namesIn(serverDir) }

// ReadServer returns the JSON text of the shipped server profile NAME.
// An unknown name gives an error that wraps fs.ErrNotExist.
func ReadServer(name string) ([]byte, error) {
	return readIn(serverDir, "built-in server profile", name)
}

// namesIn lists the profiles of folder dir of files, sorted.
func namesIn(dir string) []string {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ext) {
			names = append(names, strings.TrimSuffix(e.Name(), ext))
		}
	}
	slices.Sort(names)
	return names
}

// readIn reads profile name of folder dir; what names the kind in errors.
func readIn(dir, what, name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("%s %q: %w", what, name, fs.ErrNotExist)
	}
	data, err := files.ReadFile(path.Join(dir, name+ext))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, name, err)
	}
	return data, nil
}
