package wrap

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/sbshim/sbshim/shim"
)

// notes is what wrap tells the user about an entry it wraps: the
// variables it passes, the workspace, and state the server leaves behind.
func (o WrapOptions) notes(e *entry) []string {
	notes := o.envNotes(e)
	notes = append(notes, o.workspaceNote(e))
	return append(notes, o.stateNotes(e)...)
}

// wrappedNotes is what wrap tells the user about an entry that is already
// wrapped: the variables of its env it does not pass (wrapped by an
// earlier sbshim), and state left behind.
func (o WrapOptions) wrappedNotes(e *entry) []string {
	var notes []string
	want, _ := o.envPass(e)
	if len(want) > 0 {
		_, args := e.command()
		flags, _, why := parseRunFlags(args)
		var missing []string
		if why == "" {
			for _, n := range want {
				if !slices.Contains(flags, runFlag{"env-pass", n}) {
					missing = append(missing, n)
				}
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("its env sets %s, which it does not pass (--env-pass): sbshim may hold them back; run sbshim unwrap and wrap again", strings.Join(missing, ", ")))
		}
	}
	return append(notes, o.stateNotes(e)...)
}

// memoryPackage is the reference memory server, which keeps its
// knowledge graph next to its own code unless MEMORY_FILE_PATH says where.
const memoryPackage = "@modelcontextprotocol/server-memory"

// stateNotes warns about a server whose data lies in the host's npm cache:
// wrapped, npx resolves the package in sbshim's private cache instead, so
// the server starts without that data. Nothing is copied; the note says
// how to keep the data.
func (o WrapOptions) stateNotes(e *entry) []string {
	if o.NpmCache == "" || !e.runsNpxPackage(memoryPackage) {
		return nil
	}
	names := []string{"memory.jsonl", "memory.json"}
	for _, v := range e.envVars() {
		if v.name != "MEMORY_FILE_PATH" {
			continue
		}
		// The server takes a relative path from its own folder: the
		// data is still next to the package.
		if v.fromHost || v.value == "" || filepath.IsAbs(v.value) || strings.HasPrefix(v.value, "~") {
			return nil
		}
		names = []string{v.value}
	}
	found := memoryFiles(o.NpmCache, names)
	if len(found) == 0 {
		return nil
	}
	dir := "a folder in its workspace"
	if o.CacheHome != "" {
		dir = filepath.Join(o.CacheHome, shim.SafeName(o.runName(e.name)))
	}
	var list []string
	for _, f := range found {
		list = append(list, fmt.Sprintf("%s (%d bytes, changed %s)", f.path, f.size, f.mod))
	}
	newest := found[0].path
	return []string{fmt.Sprintf("its data stays behind: %s keeps its knowledge graph next to its package, and your npx cache holds %s. Wrapped, npx runs it from sbshim's private cache, where the graph starts EMPTY; sbshim copies nothing. To keep it, copy it and point MEMORY_FILE_PATH at the copy: mkdir -p %s && cp %s %s, then add \"MEMORY_FILE_PATH\": %q to its env (a file in its workspace works too)",
		memoryPackage, strings.Join(list, ", "), shellQuote(dir), shellQuote(newest), shellQuote(filepath.Join(dir, "memory.jsonl")), filepath.Join(dir, "memory.jsonl"))}
}

// runsNpxPackage reports whether the entry runs the npm package pkg (any
// version) through npx or npm exec, wrapped or not.
func (e *entry) runsNpxPackage(pkg string) bool {
	cmd, args := e.command()
	all := append([]string{cmd}, args...)
	runner := false
	for _, a := range all {
		switch commandBase(a) {
		case "npx", "npx.cmd", "npm", "npm.cmd":
			runner = true
		}
		if !runner {
			continue
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "--package="), "-p=")
		if a == pkg || strings.HasPrefix(a, pkg+"@") {
			return true
		}
	}
	return false
}

type stateFile struct {
	path string
	size int64
	mod  string
	t    int64
}

// memoryFiles finds the memory server's data files (names, relative to
// its dist folder) in the npx folders of an npm cache, newest first.
func memoryFiles(npmCache string, names []string) []stateFile {
	var out []stateFile
	for _, name := range names {
		pat := filepath.Join(npmCache, "_npx", "*", "node_modules", memoryPackage, "dist", name)
		if !strings.HasPrefix(pat, filepath.Join(npmCache, "_npx")+string(filepath.Separator)) {
			continue // a name with .. in it
		}
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
				continue
			}
			out = append(out, stateFile{path: p, size: fi.Size(), mod: fi.ModTime().UTC().Format("2006-01-02 15:04 UTC"), t: fi.ModTime().UnixNano()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].t > out[j].t })
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-@+=:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostNpmCache is the npm cache folder of the user's own npm, as npm
// would find it: npm_config_cache, else the cache line of the user's
// npmrc, else ~/.npm. It runs no npm.
func hostNpmCache(e Env) string {
	for _, k := range []string{"npm_config_cache", "NPM_CONFIG_CACHE"} {
		if v := e.getenv(k); filepath.IsAbs(v) {
			return filepath.Clean(v)
		}
	}
	if e.Home == "" {
		return ""
	}
	rc := filepath.Join(e.Home, ".npmrc")
	for _, k := range []string{"npm_config_userconfig", "NPM_CONFIG_USERCONFIG"} {
		if v := e.getenv(k); filepath.IsAbs(v) {
			rc = v
			break
		}
	}
	if data, err := os.ReadFile(rc); err == nil {
		if c := npmrcCache(data, e.Home); c != "" {
			return c
		}
	}
	return filepath.Join(e.Home, ".npm")
}

// npmrcCache returns the absolute cache folder an npmrc sets, or "".
func npmrcCache(data []byte, home string) string {
	cache := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "cache" {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		for _, pre := range []string{"~/", "${HOME}/", "$HOME/"} {
			if strings.HasPrefix(v, pre) {
				v = filepath.Join(home, v[len(pre):])
			}
		}
		if filepath.IsAbs(v) {
			cache = filepath.Clean(v)
		}
	}
	return cache
}
