package seatbelt

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The import graph is one-way (cmd → shim → isolation → seatbelt →
// policy): of sbshim's own packages the backend's code imports policy
// (and execpath, the command look-up both backends share) only — never
// isolation, shim or cmd, nor the proxy, which the adapter in isolation
// serves.
func TestImportsPolicyOnly(t *testing.T) {
	const module = "github.com/sbshim/sbshim/"
	allowed := map[string]bool{module + "isolation/policy": true, module + "isolation/execpath": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found in the package folder")
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, module) && !allowed[path] {
				t.Errorf("%s imports %s: package seatbelt may import only policy of sbshim's packages", name, path)
			}
		}
	}
}
