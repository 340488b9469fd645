package main

import (
	"bufio"
	"bytes"
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

// The relay benchmarks run the same server directly and behind sbshim in
// one run; bench/relay.sh turns the pairs into ratios. Each reports
// percentiles (µs) next to ns/op, and sbshim's peak resident memory.

// relayCommand starts the test server directly or behind sbshim.
func relayCommand(b *testing.B, via bool, argv ...string) *exec.Cmd {
	if !via {
		return exec.Command(argv[0], argv[1:]...)
	}
	root, err := os.MkdirTemp(testRoot(), "sbshim-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	args := append([]string{"--audit-log", filepath.Join(root, "audit.jsonl"), "--"}, argv...)
	cmd := exec.Command(filepath.Join(binDir, "sbshim"), args...)
	cmd.Dir = root
	return cmd
}

func relayModes() []struct {
	name string
	via  bool
} {
	return []struct {
		name string
		via  bool
	}{{"direct", false}, {"sbshim", true}}
}

// BenchmarkRelayToolsCall measures one tools/call round trip at a time.
func BenchmarkRelayToolsCall(b *testing.B) {
	for _, m := range relayModes() {
		b.Run(m.name, func(b *testing.B) {
			cmd := relayCommand(b, m.via, filepath.Join(binDir, "echo"))
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { stdin.Close(); cmd.Wait() }()
			r := bufio.NewReader(stdout)
			roundTrip := func(id int) {
				fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`+"\n", id)
				if _, err := r.ReadSlice('\n'); err != nil {
					b.Fatal(err)
				}
			}
			fmt.Fprintln(stdin, `{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`)
			r.ReadSlice('\n')
			for i := 0; i < 200; i++ { // warm up
				roundTrip(i)
			}
			lat := make([]time.Duration, 0, b.N)
			cpu0, cs0 := cpuOf(cmd.Process.Pid)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				roundTrip(i)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			cpu1, cs1 := cpuOf(cmd.Process.Pid)
			reportCPU(b, cpu1-cpu0, cs1-cs0)
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			if m.via {
				reportProcess(b, cmd.Process.Pid)
			}
		})
	}
}

// BenchmarkRelayThroughput pushes 1 MiB messages through cat and reads
// them back: both relay directions at once.
func BenchmarkRelayThroughput(b *testing.B) {
	msg := append([]byte(`{"jsonrpc":"2.0","method":"notifications/blob","params":{"data":"`), bytes.Repeat([]byte("x"), 1<<20-80)...)
	msg = append(msg, "\"}}\n"...)
	for _, m := range relayModes() {
		b.Run(m.name, func(b *testing.B) {
			cmd := relayCommand(b, m.via, "/bin/cat")
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg)))
			done := make(chan error, 1)
			go func() {
				_, err := io.CopyN(io.Discard, stdout, int64(len(msg))*int64(b.N))
				done <- err
			}()
			cpu0, cs0 := cpuOf(cmd.Process.Pid)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := stdin.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu1, cs1 := cpuOf(cmd.Process.Pid)
			reportCPU(b, cpu1-cpu0, cs1-cs0)
			if m.via {
				reportProcess(b, cmd.Process.Pid)
			}
			stdin.Close()
			cmd.Wait()
		})
	}
}

// reportProcess reports the peak resident memory of the process in front
// of the server (sbshim's own; the server's is not counted).
func reportProcess(b *testing.B, pid int) {
	b.ReportMetric(float64(peakRSSOf(pid))/(1<<20), "peak-RSS-MiB")
}

// reportCPU reports the CPU time and the context switches, per operation,
// of the process the client talks to: the server itself (direct) or
// sbshim (the server's are not counted then).
func reportCPU(b *testing.B, cpu time.Duration, switches int64) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(switches)/float64(b.N), "cs/op")
}

// cpuOf is the user+system CPU time of all the threads of a process and
// their context switches, voluntary and not, so far.
func cpuOf(pid int) (time.Duration, int64) {
	var cpu time.Duration
	var switches int64
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		if b, err := os.ReadFile(task + "/stat"); err == nil {
			// Fields after the command name, which ends at the last ')'.
			if i := bytes.LastIndexByte(b, ')'); i >= 0 {
				f := strings.Fields(string(b[i+1:]))
				if len(f) > 12 {
					u, _ := strconv.ParseInt(f[11], 10, 64)
					s, _ := strconv.ParseInt(f[12], 10, 64)
					cpu += time.Duration(u+s) * time.Second / 100 // USER_HZ
				}
			}
		}
		if b, err := os.ReadFile(task + "/status"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					switches += n
				} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					switches += n
				}
			}
		}
	}
	return cpu, switches
}

// peakRSSOf is a process's VmHWM in bytes, 0 if unknown.
func peakRSSOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("VmHWM:")) {
			fmt.Sscanf(string(line[len("VmHWM:"):]), "%d", &kb)
		}
	}
	return kb << 10
}
