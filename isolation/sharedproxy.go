package isolation

import (
	"context"
	"fmt"
	"net"

	"github.com/sbshim/sbshim/isolation/netproxy"
)

// sharedProxy is the filtering proxy of a sandbox without a network
// namespace of its own: it listens on the host's loopback, and refusals
// are reported without the process (the proxy cannot tell which process
// of the sandbox connected).
type sharedProxy struct {
	port   int
	cancel context.CancelFunc
	done   chan struct{}
}

// startSharedProxy serves the policy's proxy on 127.0.0.1:0; env is the
// program's environment (for registry discovery).
func startSharedProxy(cfg Config, env []string) (*sharedProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen on loopback: %w", err)
	}
	report := cfg.Report
	if report == nil {
		report = func(Event) {}
	}
	srv := &netproxy.Server{
		Load:    func() *netproxy.Rules { return proxyRules(cfg.Policy, env, cfg.Warn) },
		Refused: func(r netproxy.Refusal) { report(refusalEvent(r, 0, "")) },
		Warn:    cfg.Warn,
	}
	if cfg.Connected != nil {
		srv.Allowed = func(c netproxy.Connection) { cfg.Connected(connectionEvent(c)) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	sp := &sharedProxy{port: ln.Addr().(*net.TCPAddr).Port, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		_ = srv.Serve(ctx, ln)
	}()
	return sp, nil
}

// stop closes the proxy and waits for its connections to end.
func (sp *sharedProxy) stop() {
	if sp == nil {
		return
	}
	sp.cancel()
	<-sp.done
}
