//go:build linux

package netproxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emfileChildEnv makes the test binary run the child half of
// TestAcceptSurvivesRealEMFILE.
const emfileChildEnv = "SBSHIM_NETPROXY_EMFILE_CHILD"

// The proxy survives a real EMFILE in Accept: a child process (the
// descriptor limit is per process) lowers its limit, uses up every
// descriptor, lets a client connect, waits for the proxy to say that
// Accept failed, frees descriptors and checks that the same connection is
// then served.
func TestAcceptSurvivesRealEMFILE(t *testing.T) {
	if os.Getenv(emfileChildEnv) == "1" {
		emfileChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesRealEMFILE$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "served after EMFILE") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func emfileChild(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	warned := make(chan string, 1)
	s := &Server{Rules: &Rules{}, LocalAddrs: func() ([]netip.Prefix, error) { return nil, nil },
		Warn: func(m string) {
			select {
			case warned <- m:
			default:
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := syscall.Rlimit{Cur: uint64(len(fds) + 16), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatalf("lower the descriptor limit: %v", err)
	}
	// Every descriptor in use, then one freed for the client's socket:
	// the proxy's Accept of that connection has none left.
	var filler []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("open: %v", err)
			}
			break
		}
		filler = append(filler, f)
	}
	if len(filler) == 0 {
		t.Fatal("no descriptor could be opened under the lowered limit")
	}
	// Free one for the client's socket; the runtime may take a freed one
	// first, so free another until the dial gets it. Then use up any
	// left over, so that the proxy's Accept finds none.
	var c net.Conn
	for {
		filler[0].Close()
		filler = filler[1:]
		c, err = net.Dial("tcp", ln.Addr().String())
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EMFILE) || len(filler) == 0 {
			t.Fatalf("dial with the last descriptor: %v", err)
		}
	}
	defer c.Close()
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		filler = append(filler, f)
	}
	select {
	case m := <-warned:
		t.Logf("proxy said: %s", m)
	case err := <-served:
		t.Fatalf("Serve returned: %v", err)
	case <-time.After(waitCap):
		t.Fatal("the proxy's Accept never failed")
	}
	for _, f := range filler {
		f.Close()
	}
	_ = c.SetDeadline(time.Now().Add(waitCap))
	if got := statusOf(t, c, bufio.NewReader(c), "CONNECT 192.0.2.1:443 HTTP/1.1\r\n\r\n"); got != 403 {
		t.Fatalf("after EMFILE: status %d, want the proxy's 403", got)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
	t.Log("served after EMFILE")
}
