package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWakeupsPerToolCall counts how often sbshim's threads are switched
// in per tool call of server-memory's read_graph, which opens its graph
// file on every call: a relay of the request, a notification of the open
// and a relay of the response, three wake-ups. A thread that waits in a
// blocking system call holds its P, which keeps the Go runtime's monitor
// thread waking every 20 µs while the server works, and a hand-off
// between threads adds more: that was seven or eight context switches
// per call. The bound is a count, not a time, and counts only the
// switches where a thread of sbshim waited, not those where a loaded
// machine took the CPU from it.
func TestWakeupsPerToolCall(t *testing.T) {
	const calls = 300
	const maxPerCall = 4.0
	b := newBox(t)
	cmd := b.command([]string{"--audit-log", filepath.Join(b.root, "audit.jsonl")}, serverArgv(t, "server-memory")...)
	graph := filepath.Join(b.ws, "memory.jsonl")
	cmd.Env = append(cmd.Env, "MEMORY_FILE_PATH="+graph)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	r := bufio.NewReader(stdout)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no answer from sbshim: %v", err)
		}
		return l
	}
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
	line()
	io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	call := func(id int) string {
		fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_graph","arguments":{}}}`+"\n", id)
		return line()
	}
	for i := 1; i <= 50; i++ { // warm up
		if got := call(i); !strings.Contains(got, `entities`) {
			t.Fatalf("read_graph: %s", got)
		}
	}
	cs0 := voluntarySwitches(t, cmd.Process.Pid)
	for i := 0; i < calls; i++ {
		call(100 + i)
	}
	cs1 := voluntarySwitches(t, cmd.Process.Pid)
	perCall := float64(cs1-cs0) / calls
	t.Logf("sbshim: %.2f voluntary context switches per read_graph", perCall)
	if perCall > maxPerCall {
		t.Errorf("sbshim's threads waited %.2f times per call, want at most %.1f waits (relay in, the open's notification, relay out)", perCall, maxPerCall)
	}
}

// voluntarySwitches sums the voluntary context switches of every thread
// of process pid so far.
func voluntarySwitches(t *testing.T, pid int) int64 {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of sbshim (pid %d) in /proc: %v", pid, err)
	}
	var n int64
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue // the thread is gone
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatalf("%s: %s", task, line)
				}
				n += c
			}
		}
	}
	return n
}
