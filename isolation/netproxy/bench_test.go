package netproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchServer serves size bytes at / on loopback.
func benchServer(b *testing.B, size int64) string {
	b.Helper()
	buf := make([]byte, 1<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for left := size; left > 0; {
			n := min(left, int64(len(buf)))
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			left -= n
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func benchProxy(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Rules: mustRules(b, []string{"127.0.0.1"}, nil)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// get downloads http://target/ over conn (through a proxy when viaProxy:
// the absolute URL) and returns the body length.
func get(b *testing.B, conn net.Conn, target string, viaProxy bool) int64 {
	uri := "/"
	if viaProxy {
		uri = "http://" + target + "/"
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", uri, target)
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// connectTunnel opens a CONNECT tunnel to target through proxy.
func connectTunnel(b *testing.B, proxy, target string) net.Conn {
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	// Read the 200 byte by byte so nothing after it is consumed.
	var line []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(line), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			b.Fatal(err)
		}
		line = append(line, one[0])
	}
	if !strings.Contains(string(line), " 200 ") {
		b.Fatalf("CONNECT: %q", line)
	}
	return c
}

// BenchmarkDownload100MB compares a 100 MB download from a loopback server
// direct, through the proxy's plain-HTTP forwarding and through a CONNECT
// tunnel.
func BenchmarkDownload100MB(b *testing.B) {
	const size = 100 << 20
	target := benchServer(b, size)
	proxy := benchProxy(b)
	for _, mode := range []string{"direct", "http", "connect"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				var c net.Conn
				var err error
				switch mode {
				case "direct":
					c, err = net.Dial("tcp", target)
				case "http":
					c, err = net.Dial("tcp", proxy)
				case "connect":
					c = connectTunnel(b, proxy, target)
				}
				if err != nil {
					b.Fatal(err)
				}
				if n := get(b, c, target, mode == "http"); n != size {
					b.Fatalf("got %d bytes", n)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkConnect measures the time until a connection to a loopback
// server is ready: a direct dial, or a CONNECT tunnel through the proxy.
func BenchmarkConnect(b *testing.B) {
	target := benchServer(b, 1)
	proxy := benchProxy(b)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			c, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("connect", func(b *testing.B) {
		for b.Loop() {
			connectTunnel(b, proxy, target).Close()
		}
	})
}
