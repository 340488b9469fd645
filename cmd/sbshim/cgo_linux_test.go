package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// refuseCgoFile is the file that makes a cgo build of sbshim fail.
const refuseCgoFile = "must_build_with_CGO_ENABLED_0.go"

// TestCgoBuildIsRefused: a cgo build of sbshim, which could not set up a
// sandbox, fails and names why. With a C compiler, a real CGO_ENABLED=1
// build is tried. Always, the files a cgo build compiles are listed: they
// must include one that calls a function the linker cannot find, named
// after the fix (go vet, which links nothing, passes).
func TestCgoBuildIsRefused(t *testing.T) {
	list := exec.Command("go", "list", "-f", `{{join .GoFiles " "}}`, ".")
	list.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("CGO_ENABLED=1 go list: %v\n%s", err, out)
	}
	if !strings.Contains(" "+strings.TrimSpace(string(out))+" ", " "+refuseCgoFile+" ") {
		t.Fatalf("a cgo build compiles %q, want %s among them", out, refuseCgoFile)
	}
	src, err := os.ReadFile(refuseCgoFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), refuseCgoFile, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	bodyless := false
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Body == nil {
			bodyless = true
		}
	}
	if !bodyless || !strings.Contains(string(src), "//go:linkname") || !strings.Contains(string(src), "sbshim."+symbolName) {
		t.Fatalf("%s does not call a missing symbol %s", refuseCgoFile, symbolName)
	}
	for _, env := range [][]string{{"CGO_ENABLED=0"}, {"CGO_ENABLED=1"}} {
		if env[0] == "CGO_ENABLED=1" {
			if _, err := exec.LookPath("gcc"); err != nil {
				continue // no C compiler: the files listed above are the check
			}
		}
		build := exec.Command("go", "build", "-o", os.DevNull, ".")
		build.Env = append(os.Environ(), env...)
		out, err := build.CombinedOutput()
		refused := err != nil && strings.Contains(string(out), symbolName)
		if want := env[0] == "CGO_ENABLED=1"; refused != want {
			t.Errorf("%s go build: %v (refused %v, want %v)\n%s", env[0], err, refused, want, out)
		}
	}
}

// symbolName is what the failed link of a cgo build names.
const symbolName = "must_build_with_CGO_ENABLED_0"
