package configs

import (
	"embed"
	"fmt"
	"io/fs"
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
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
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

// Read returns the JSON text of the shipped profile NAME. An unknown name
// gives an error that wraps fs.ErrNotExist.
func Read(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("built-in profile %q: %w", name, fs.ErrNotExist)
	}
	data, err := files.ReadFile(name + ext)
	if err != nil {
		return nil, fmt.Errorf("built-in profile %q: %w", name, err)
	}
	return data, nil
}

// ServerNames returns the names of the shipped server profiles (the
// profiles sbshim picks by itself for a server it recognises), sorted.
func ServerNames() []string {
	entries, err := fs.ReadDir(files, serverDir)
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

// ReadServer returns the JSON text of the shipped server profile NAME.
// An unknown name gives an error that wraps fs.ErrNotExist.
func ReadServer(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("built-in server profile %q: %w", name, fs.ErrNotExist)
	}
	data, err := files.ReadFile(serverDir + "/" + name + ext)
	if err != nil {
		return nil, fmt.Errorf("built-in server profile %q: %w", name, err)
	}
	return data, nil
}
