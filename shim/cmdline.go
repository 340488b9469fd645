package shim

import (
	"path/filepath"
	"slices"
	"strings"
)

// What sbshim tells from a command line, to name the server: which
// package a runner fetches, which module or script file an interpreter
// runs. Text the command line carries as a program (python -c CODE,
// node -e CODE, npx -c 'CMD', deno eval CODE) never names anything: the
// name is then the package, else the program.

// optSpec says how a runner or interpreter reads its options.
type optSpec struct {
	// inline options take code or a shell command as their value (or the
	// rest of their cluster): the command line has no script operand.
	inline []string
	// pkg options take the package to run.
	pkg []string
	// module options take the module to run (python -m).
	module []string
	// valued options take a value that names nothing.
	valued []string
	// clusters: single-dash options may be grouped (-Bc CODE), and a
	// value may follow the letter at once (-Wignore, -rjson).
	clusters bool
}

// cmdTarget is what a command line runs, as far as its options tell.
type cmdTarget struct {
	pkg     string   // the package option's value
	module  string   // the module option's value
	operand string   // the first operand: a package for a runner, a script for an interpreter
	after   []string // the arguments after operand
	inline  bool     // the program is given as code on the command line
	stdin   bool     // the program is read from stdin ("-")
}

// parse reads args with spec up to the first operand.
func (spec optSpec) parse(args []string) cmdTarget {
	var t cmdTarget
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--":
			if i+1 < len(args) {
				t.operand, t.after = args[i+1], args[i+2:]
			}
			return t
		case a == "-":
			t.stdin = true
			return t
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a, "=")
			if spec.takes(name) && !hasVal {
				val = next()
			}
			if t.set(spec, name, val) {
				return t
			}
		case strings.HasPrefix(a, "-"):
			if !spec.clusters {
				if spec.takes(a) {
					if t.set(spec, a, next()) {
						return t
					}
				}
				continue
			}
			for j := 1; j < len(a); j++ {
				name := "-" + a[j:j+1]
				if !spec.takes(name) {
					continue
				}
				val := a[j+1:]
				if val == "" {
					val = next()
				}
				if t.set(spec, name, val) {
					return t
				}
				break
			}
		default:
			t.operand, t.after = a, args[i+1:]
			return t
		}
	}
	return t
}

// takes reports whether option name takes a value.
func (spec optSpec) takes(name string) bool {
	return slices.Contains(spec.inline, name) || slices.Contains(spec.pkg, name) ||
		slices.Contains(spec.module, name) || slices.Contains(spec.valued, name)
}

// set records option name's value; done is true when nothing after it
// is an option of the program's (inline code, -m MODULE).
func (t *cmdTarget) set(spec optSpec, name, val string) (done bool) {
	switch {
	case slices.Contains(spec.inline, name):
		t.inline = true
		return true
	case slices.Contains(spec.module, name):
		t.module = val
		return true
	case slices.Contains(spec.pkg, name):
		t.pkg = val
	}
	return false
}

// Option tables of the runners and interpreters sbshim names servers by.
var (
	npxOpts  = optSpec{inline: []string{"-c", "--call"}, pkg: []string{"-p", "--package"}}
	pnpmOpts = optSpec{inline: []string{"-c", "--shell-mode"}, pkg: []string{"--package"}}
	yarnOpts = optSpec{pkg: []string{"-p", "--package"}}
	bunxOpts = optSpec{pkg: []string{"-p", "--package"}}
	uvxOpts  = optSpec{pkg: []string{"--from"}, valued: []string{
		"--with", "-w", "--with-editable", "--with-requirements", "--python", "-p", "--index", "--default-index",
		"--index-url", "-i", "--extra-index-url", "--directory", "--project", "--config-file", "--cache-dir",
		"--constraints", "-c", "--overrides", "--build-constraints", "-b", "--env-file", "--color"}}
	pipxOpts   = optSpec{pkg: []string{"--spec"}, valued: []string{"--python", "--pip-args", "--index-url", "-i", "--backend"}}
	pythonOpts = optSpec{inline: []string{"-c"}, module: []string{"-m"},
		valued: []string{"-W", "-X", "--check-hash-based-pycs"}, clusters: true}
	nodeOpts = optSpec{inline: []string{"-e", "--eval", "-p", "--print"}, valued: []string{
		"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions",
		"--env-file", "--env-file-if-exists", "--title", "--inspect-port", "--debug-port", "--input-type",
		"--redirect-warnings", "--icu-data-dir", "--openssl-config", "--diagnostic-dir", "--report-dir",
		"--heapsnapshot-signal", "--cpu-prof-dir", "--heap-prof-dir", "--watch-path", "--test-reporter"},
		clusters: true}
	denoOpts = optSpec{valued: []string{"-c", "--config", "--import-map", "--lock", "--cert", "--location",
		"--seed", "-L", "--log-level", "--ext", "--env-file"}, clusters: true}
	rubyOpts = optSpec{inline: []string{"-e"}, valued: []string{"-r", "-I", "-C", "-E", "--encoding"}, clusters: true}
)

// runnerTarget reads the command line of a package runner (npx, uvx,
// npm exec, ...): ok is false for a program that is none, or a runner
// subcommand that runs no package.
func runnerTarget(prog string, rest []string) (cmdTarget, bool) {
	sub := func(words ...string) ([]string, bool) {
		if len(rest) >= len(words) && slices.Equal(rest[:len(words)], words) {
			return rest[len(words):], true
		}
		return nil, false
	}
	switch prog {
	case "npx":
		return npxOpts.parse(rest), true
	case "pnpx":
		return pnpmOpts.parse(rest), true
	case "bunx":
		return bunxOpts.parse(rest), true
	case "uvx":
		return uvxOpts.parse(rest), true
	case "pipx":
		if r, ok := sub("run"); ok {
			return pipxOpts.parse(r), true
		}
	case "uv":
		if r, ok := sub("tool", "run"); ok {
			return uvxOpts.parse(r), true
		}
	case "npm":
		for _, w := range []string{"exec", "x"} {
			if r, ok := sub(w); ok {
				return npxOpts.parse(r), true
			}
		}
	case "pnpm":
		if r, ok := sub("dlx"); ok {
			return pnpmOpts.parse(r), true
		}
	case "yarn":
		if r, ok := sub("dlx"); ok {
			return yarnOpts.parse(r), true
		}
	case "bun":
		for _, w := range []string{"x", "dlx"} {
			if r, ok := sub(w); ok {
				return bunxOpts.parse(r), true
			}
		}
	}
	return cmdTarget{}, false
}

// interpreterTarget reads the command line of an interpreter (python,
// node, deno, ruby): ok is false for a program that is none.
func interpreterTarget(prog string, rest []string) (cmdTarget, bool) {
	switch {
	case strings.HasPrefix(prog, "python") || strings.HasPrefix(prog, "pypy"):
		return pythonOpts.parse(rest), true
	case prog == "node" || prog == "nodejs":
		return nodeOpts.parse(rest), true
	case prog == "ruby":
		return rubyOpts.parse(rest), true
	case prog == "deno":
		if len(rest) > 0 {
			switch rest[0] {
			case "eval", "repl":
				return cmdTarget{inline: true}, true
			case "run", "serve":
				rest = rest[1:]
			}
		}
		return denoOpts.parse(rest), true
	}
	return cmdTarget{}, false
}

// runs returns the package a runner's command line runs ("" for none,
// or a shell command given inline) and the arguments after it.
func (t cmdTarget) runs() (pkg string, after []string) {
	switch {
	case t.pkg != "" && t.operand != "":
		return t.pkg, append([]string{t.operand}, t.after...)
	case t.pkg != "":
		return t.pkg, nil
	case t.inline:
		return "", nil
	}
	return t.operand, t.after
}

// script returns the script file an interpreter's command line runs, ""
// for none (inline code, stdin, -m MODULE).
func (t cmdTarget) script() string {
	if t.inline || t.stdin || t.module != "" {
		return ""
	}
	return t.operand
}

// scriptName is the name a script file gives: its base name without its
// extension ("build/index.js" → "index").
func scriptName(p string) string {
	return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
}
