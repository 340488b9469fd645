package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The MCP benchmarks run the reference servers from the npm registry
// directly, under bare bubblewrap and under sbshim, in one run;
// bench/mcp.sh prints them as a table with ratios against direct.
//
//   BenchmarkMCPColdStart   spawn → the initialize result (ms/start)
//   BenchmarkMCPReadGraph   server-memory's read_graph round trip (p50-µs)
//   BenchmarkMCPTrue        the whole run of /bin/true (ms/run)

// mcpModes are the ways a server is started, in the order measured.
var mcpModes = []string{"direct", "bwrap", "sbshim"}

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
		args := append([]string{"--audit-log", "-", "--"}, argv...)
		cmd = exec.Command(filepath.Join(binDir, "sbshim"), args...)
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

// BenchmarkMCPColdStart measures spawn → initialize result.
func BenchmarkMCPColdStart(b *testing.B) {
	for _, server := range []string{"server-filesystem", "server-memory"} {
		for _, mode := range mcpModes {
			b.Run(server+"/"+mode, func(b *testing.B) {
				ws := mcpWorkspace(b)
				argv, env := mcpServerSetup(b, server, ws)
				var ds []time.Duration
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					cmd, stdin, _ := mcpStart(b, mode, ws, env, argv)
					ds = append(ds, time.Since(t0))
					stdin.Close()
					cmd.Wait()
				}
				b.ReportMetric(float64(medianOf(ds).Microseconds())/1e3, "ms/start")
			})
		}
	}
}

// BenchmarkMCPReadGraph measures server-memory's read_graph round trip,
// one call at a time.
func BenchmarkMCPReadGraph(b *testing.B) {
	for _, mode := range mcpModes {
		b.Run(mode, func(b *testing.B) {
			ws := mcpWorkspace(b)
			argv, env := mcpServerSetup(b, "server-memory", ws)
			cmd, stdin, r := mcpStart(b, mode, ws, env, argv)
			defer func() { stdin.Close(); cmd.Wait() }()
			io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
			call := func(id int) {
				fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_graph","arguments":{}}}`+"\n", id)
				if _, err := r.ReadSlice('\n'); err != nil {
					b.Fatal(err)
				}
			}
			for i := 1; i <= 50; i++ { // warm up
				call(i)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				call(100 + i)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64(medianOf(lat).Nanoseconds())/1e3, "p50-µs")
		})
	}
}

// BenchmarkMCPTrue measures the whole run of /bin/true.
func BenchmarkMCPTrue(b *testing.B) {
	for _, mode := range mcpModes {
		b.Run(mode, func(b *testing.B) {
			ws := mcpWorkspace(b)
			var ds []time.Duration
			for i := 0; i < b.N; i++ {
				cmd := mcpCommand(b, mode, ws, nil, []string{"/bin/true"})
				t0 := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v", mode, err)
				}
				ds = append(ds, time.Since(t0))
			}
			b.ReportMetric(float64(medianOf(ds).Microseconds())/1e3, "ms/run")
		})
	}
}
