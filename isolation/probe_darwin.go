//go:build darwin

package isolation

import (
	"net"

	"github.com/sbshim/sbshim/isolation/seatbelt"
)

// Probe checks what the macOS backend needs, for `sbshim doctor`:
// sandbox-exec (and whether sbshim already runs inside a Seatbelt
// sandbox) and read access to the system log (the reports), which
// seatbelt.Probe checks; a loopback listener (the network proxy); and
// that the limits are Linux's only.
func Probe() []LayerCheck {
	var out []LayerCheck
	for _, c := range seatbelt.Probe(seatbelt.MacTools()) {
		out = append(out, LayerCheck{Layer: c.Layer, Available: c.Available, Detail: c.Detail, Fix: c.Fix})
	}
	return append(out, probeLoopback(), LayerCheck{
		Layer:  "limits",
		Detail: "limits.pids, limits.memoryMB and limits.tmpSizeMB are not enforced on macOS (Seatbelt has no such limits)",
	})
}

func probeLoopback() LayerCheck {
	c := LayerCheck{Layer: "proxy"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.Detail = "cannot listen on 127.0.0.1: " + err.Error()
		c.Fix = "network mode \"proxy\" needs the loopback interface"
		return c
	}
	ln.Close()
	c.Available = true
	c.Detail = "the filtering proxy can listen on 127.0.0.1"
	return c
}
