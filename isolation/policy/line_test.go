package policy

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPlainData holds the line between the policy and the backends: every
// file of the package (tests aside) is built on every OS and architecture
// (no build constraint, no platform in its name), imports neither another
// part of isolation (the backends import policy, never the reverse) nor a
// system-call package nor os/exec, and uses package syscall for nothing
// but the flags of an os.OpenFile. Then the package means the same on
// every OS, whichever backend enforces it.
func TestPlainData(t *testing.T) {
	forbidden := map[string]string{
		"github.com/sbshim/sbshim/isolation": "the backends and the proxy are not the policy's to use",
		"golang.org/x/sys":                   "system calls belong to a backend",
		"unsafe":                             "system calls belong to a backend",
		"os/exec":                            "the policy starts no program",
		"os/signal":                          "signals belong to a backend",
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files here: %v", err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		for _, goos := range []string{"linux", "darwin", "freebsd", "windows"} {
			for _, goarch := range []string{"amd64", "arm64"} {
				ctx := build.Default
				ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, goarch, false
				if ok, err := ctx.MatchFile(".", name); err != nil || !ok {
					t.Errorf("%s is not built for %s/%s (%v)", name, goos, goarch, err)
				}
			}
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for p, why := range forbidden {
				if path == p || strings.HasPrefix(path, p+"/") {
					t.Errorf("%s imports %s: %s", name, path, why)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "syscall" && !strings.HasPrefix(sel.Sel.Name, "O_") {
				t.Errorf("%s: syscall.%s: only open flags may come from package syscall", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
