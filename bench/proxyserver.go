//go:build ignore

// proxyserver is bench/proxy.sh's loopback HTTP server: /100m answers
// 100 MB of zeros, anything else a few bytes. It prints its port.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	buf := make([]byte, 1<<20)
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size := 8
		if r.URL.Path == "/100m" {
			size = 100 << 20
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for left := size; left > 0; {
			n := min(left, len(buf))
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			left -= n
		}
	}))
}
