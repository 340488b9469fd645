package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The MCP benchmarks run the reference servers from the npm registry
// directly, under bare bubblewrap and under sbshim, in one run;
// bench/mcp.sh prints them as a table with ratios against direct.
//
//   BenchmarkMCPColdStart   spawn → the initialize result (<mode>-ms/start)
//   BenchmarkMCPReadGraph   server-memory's read_graph round trip (<mode>-p50-µs)
//   BenchmarkMCPTrue        the whole run of /bin/true (<mode>-ms/run)
//   BenchmarkMCPOpenBurst   Node opening a file 3000 times in a row (<mode>-µs/open)
//
// Each reports one median per mode, the modes measured in turn.

// mcpModes are the ways a server is started, in the order measured:
// directly, under bare bubblewrap, under this sbshim, and under each other
// build of sbshim that SBSHIM_BENCH_COMPARE names ("NAME=PATH ...", say
// the build from before a change), so that a change is measured against
// another build in the same interleaved run.
// Each benchmark calls it once, before it measures: the builds' files are
// checked here, not on every start.
func mcpModes(b testing.TB) []string {
	base := mcpBaseModes()
	var more []string
	for name, path := range mcpCompared(b) {
		if st, err := os.Stat(path); err != nil || st.Mode()&0o111 == 0 || !st.Mode().IsRegular() {
			b.Fatalf("SBSHIM_BENCH_COMPARE: %s: not an executable file (%v)", path, err)
		}
		more = append(more, name)
	}
	slices.Sort(more)
	return append(base, more...)
}

// mcpBaseModes are the modes every run measures.
func mcpBaseModes() []string { return []string{"direct", "bwrap", "sbshim"} }

// mcpCompared reads SBSHIM_BENCH_COMPARE: each NAME=PATH adds the mode
// NAME, the sbshim binary at PATH.
func mcpCompared(b testing.TB) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(os.Getenv("SBSHIM_BENCH_COMPARE")) {
		name, path, ok := strings.Cut(f, "=")
		valid := ok && name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
		if !valid || slices.Contains(mcpBaseModes(), name) || out[name] != "" {
			b.Fatalf("SBSHIM_BENCH_COMPARE: %q is not NAME=PATH with a new lower-case NAME", f)
		}
		out[name] = path
	}
	return out
}

// mcpCommand starts argv in mode, with ws as its working directory (and
// the only folder it may write under bwrap).
func mcpCommand(b *testing.B, mode, ws string, env []string, argv []string) *exec.Cmd {
	var cmd *exec.Cmd
	switch mode {
	case "direct":
		cmd = exec.Command(argv[0], argv[1:]...)
	case "bwrap":
		bwrap, err := exec.LookPath("bwrap")
		if err != nil {
			b.Fatalf("bwrap is needed for this benchmark (apt-get install bubblewrap): %v", err)
		}
		args := []string{"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
			"--bind", ws, ws, "--unshare-all", "--die-with-parent", "--chdir", ws, "--"}
		cmd = exec.Command(bwrap, append(args, argv...)...)
	default:
		bin := filepath.Join(binDir, "sbshim")
		if mode != "sbshim" {
			bin = mcpCompared(b)[mode]
		}
		args := append([]string{"--audit-log", "-", "--"}, argv...)
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

const mcpInitialize = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n"

// mcpStart starts a server and waits for its initialize result.
func mcpStart(b *testing.B, mode, ws string, env, argv []string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	cmd := mcpCommand(b, mode, ws, env, argv)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	io.WriteString(stdin, mcpInitialize)
	if _, err := r.ReadSlice('\n'); err != nil {
		b.Fatalf("%s: no initialize result: %v", mode, err)
	}
	return cmd, stdin, r
}

// mcpWorkspace is a fresh workspace outside /tmp, as a project folder is
// (the sandbox has a /tmp of its own).
func mcpWorkspace(b *testing.B) string {
	ws, err := os.MkdirTemp(testRoot(), "sbshim-bench-ws-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(ws) })
	return ws
}

// mcpServerSetup is a reference server's command line and environment
// for a fresh workspace.
func mcpServerSetup(b *testing.B, server, ws string) ([]string, []string) {
	switch server {
	case "server-filesystem":
		return serverArgv(b, server, ws), nil
	default:
		return serverArgv(b, server), []string{"MEMORY_FILE_PATH=" + filepath.Join(ws, "memory.jsonl")}
	}
}

func medianOf(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// interleaved runs measure(mode) once per mode for each of n rounds,
// the modes in a rotating order, and returns each mode's median. The
// machine's slow spells (a busy host, another job) then fall on every
// mode alike instead of on whichever ran during them: on a small VM the
// same server's p50 moves by a factor of two from one second to the next.
func interleaved(modes []string, n int, measure func(mode string) time.Duration) map[string]time.Duration {
	return interleavedBlocks(modes, n, func(mode string) []time.Duration { return []time.Duration{measure(mode)} })
}

// interleavedBlocks is interleaved for a measure that takes several
// samples a turn.
func interleavedBlocks(modes []string, n int, measure func(mode string) []time.Duration) map[string]time.Duration {
	ds := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		for j := range modes {
			mode := modes[(i+j)%len(modes)]
			ds[mode] = append(ds[mode], measure(mode)...)
		}
	}
	med := map[string]time.Duration{}
	for mode, d := range ds {
		med[mode] = medianOf(d)
	}
	return med
}

// reportModes reports each mode's median as the metric "<mode>-<unit>",
// in unit (a duration).
func reportModes(b *testing.B, med map[string]time.Duration, unit time.Duration, name string) {
	for mode := range med {
		b.ReportMetric(float64(med[mode])/float64(unit), mode+"-"+name)
	}
}

// BenchmarkMCPColdStart measures spawn → initialize result, b.N starts
// per mode, interleaved.
func BenchmarkMCPColdStart(b *testing.B) {
	for _, server := range []string{"server-filesystem", "server-memory"} {
		b.Run(server, func(b *testing.B) {
			ws := mcpWorkspace(b)
			argv, env := mcpServerSetup(b, server, ws)
			med := interleaved(mcpModes(b), b.N, func(mode string) time.Duration {
				t0 := time.Now()
				cmd, stdin, _ := mcpStart(b, mode, ws, env, argv)
				d := time.Since(t0)
				stdin.Close()
				cmd.Wait()
				return d
			})
			reportModes(b, med, time.Millisecond, "ms/start")
		})
	}
}

// BenchmarkMCPReadGraph measures server-memory's read_graph round trip,
// one call at a time, as a client calling back to back: the three servers
// run side by side and take turns in blocks of readGraphBlock calls, b.N
// calls each. A block's first call, made after the server sat idle while
// the others ran, is left out: it pays for the machine's idle state (an
// open of a file after 5 ms of idle takes 80 µs here, against 3 µs
// warm), not for the sandbox.
func BenchmarkMCPReadGraph(b *testing.B) {
	const readGraphBlock = 10
	type server struct {
		stdin io.WriteCloser
		r     *bufio.Reader
	}
	servers := map[string]*server{}
	modes := mcpModes(b)
	for _, mode := range modes {
		ws := mcpWorkspace(b)
		argv, env := mcpServerSetup(b, "server-memory", ws)
		cmd, stdin, r := mcpStart(b, mode, ws, env, argv)
		defer func() { stdin.Close(); cmd.Wait() }()
		io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
		servers[mode] = &server{stdin, r}
	}
	id := 0
	call := func(mode string) time.Duration {
		s := servers[mode]
		id++
		t0 := time.Now()
		fmt.Fprintf(s.stdin, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_graph","arguments":{}}}`+"\n", id)
		if _, err := s.r.ReadSlice('\n'); err != nil {
			b.Fatalf("%s: %v", mode, err)
		}
		return time.Since(t0)
	}
	block := func(n int) func(mode string) []time.Duration {
		return func(mode string) []time.Duration {
			call(mode) // after the others' turn
			ds := make([]time.Duration, n)
			for i := range ds {
				ds[i] = call(mode)
			}
			return ds
		}
	}
	interleavedBlocks(modes, 5, block(readGraphBlock)) // warm up
	b.ResetTimer()
	med := interleavedBlocks(modes, (b.N+readGraphBlock-1)/readGraphBlock, block(readGraphBlock))
	b.StopTimer()
	reportModes(b, med, time.Microsecond, "p50-µs")
}

// BenchmarkMCPTrue measures the whole run of /bin/true, b.N runs per
// mode, interleaved.
func BenchmarkMCPTrue(b *testing.B) {
	ws := mcpWorkspace(b)
	med := interleaved(mcpModes(b), b.N, func(mode string) time.Duration {
		cmd := mcpCommand(b, mode, ws, nil, []string{"/bin/true"})
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s: %v", mode, err)
		}
		return time.Since(t0)
	})
	reportModes(b, med, time.Millisecond, "ms/run")
}

// openBurstScript opens one file 3000 times in a row and prints the
// nanoseconds per open: under sbshim each open is a notification that
// the supervisor answers, as in a server's start or a grep -r.
const openBurstScript = `const fs = require("fs"), n = 3000, t = process.hrtime.bigint();
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync("/etc/hostname", "r"));
console.log(Number(process.hrtime.bigint() - t) / n);`

// BenchmarkMCPOpenBurst measures the time per open of openBurstScript,
// b.N runs per mode, interleaved.
func BenchmarkMCPOpenBurst(b *testing.B) {
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatalf("node is needed for this benchmark: %v", err)
	}
	ws := mcpWorkspace(b)
	med := interleaved(mcpModes(b), b.N, func(mode string) time.Duration {
		out, err := mcpCommand(b, mode, ws, nil, []string{node, "-e", openBurstScript}).Output()
		if err != nil {
			b.Fatalf("%s: %v", mode, err)
		}
		ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatalf("%s: %q: %v", mode, out, err)
		}
		return time.Duration(ns)
	})
	reportModes(b, med, time.Microsecond, "µs/open")
}
