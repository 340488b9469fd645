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
// sandbox, fails to compile and names the file that says why. With a C
// compiler, a real CGO_ENABLED=1 build is tried. Always, the files a cgo
// build compiles are listed: they must include a function without a body
// in a package without assembly, which the compiler refuses ("missing
// function body") while go vet, which compiles nothing, passes.
func TestCgoBuildIsRefused(t *testing.T) {
	list := exec.Command("go", "list", "-f", `{{join .GoFiles " "}}|{{join .SFiles " "}}`, ".")
	list.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("CGO_ENABLED=1 go list: %v\n%s", err, out)
	}
	goFiles, sFiles, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	if !strings.Contains(" "+goFiles+" ", " "+refuseCgoFile+" ") || sFiles != "" {
		t.Fatalf("a cgo build compiles %q (assembly %q), want %s and no assembly", goFiles, sFiles, refuseCgoFile)
	}
	src, err := os.ReadFile(refuseCgoFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), refuseCgoFile, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	bodyless := false
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Body == nil {
			bodyless = true
		}
	}
	// A go:linkname directive would let the body-less function compile.
	if !bodyless || strings.Contains(string(src), "//go:linkname") {
		t.Fatalf("%s declares no function without a body", refuseCgoFile)
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
		refused := err != nil && strings.Contains(string(out), refuseCgoFile+":") && strings.Contains(string(out), "missing function body")
		if want := env[0] == "CGO_ENABLED=1"; refused != want {
			t.Errorf("%s go build: %v (refused %v, want %v)\n%s", env[0], err, refused, want, out)
		}
	}
}
