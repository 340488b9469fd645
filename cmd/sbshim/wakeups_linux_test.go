package main

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
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
// per call. The bound is a count, not a time: it holds on a loaded
// machine too.
func TestWakeupsPerToolCall(t *testing.T) {
	const calls = 300
	const maxPerCall = 5.0
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
	_, cs0 := cpuOf(cmd.Process.Pid)
	for i := 0; i < calls; i++ {
		call(100 + i)
	}
	_, cs1 := cpuOf(cmd.Process.Pid)
	perCall := float64(cs1-cs0) / calls
	t.Logf("sbshim: %.2f context switches per read_graph", perCall)
	if perCall > maxPerCall {
		t.Errorf("sbshim was switched in %.2f times per call, want at most %.1f (relay in, the open's notification, relay out)", perCall, maxPerCall)
	}
}
