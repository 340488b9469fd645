//go:build darwin

package isolation

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
)

// Probe checks what the macOS backend needs, for `sbshim doctor`:
// sandbox-exec (and whether sbshim already runs inside a Seatbelt
// sandbox), read access to the system log (the reports), and a loopback
// listener (the network proxy); and that the limits are Linux's only.
func Probe() []LayerCheck {
	return []LayerCheck{probeSandboxExec(), probeLog(), probeLoopback(), {
		Layer:  "limits",
		Detail: "limits.pids, limits.memoryMB and limits.tmpSizeMB are not enforced on macOS (Seatbelt has no such limits)",
	}}
}

func probeSandboxExec() LayerCheck {
	c := LayerCheck{Layer: "seatbelt"}
	if _, err := os.Stat(sandboxExecPath); err != nil {
		c.Detail = sandboxExecPath + ": " + err.Error()
		c.Fix = "sbshim needs macOS's " + sandboxExecPath + "; it runs nothing without it"
		return c
	}
	var stderr bytes.Buffer
	cmd := exec.Command(sandboxExecPath, "-p", "(version 1)(allow default)", "--", truePath)
	cmd.Env = []string{}
	cmd.Stderr = &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			c.Detail = err.Error()
			return c
		}
		code = ee.ExitCode()
	}
	switch verdict, msg := judgeSandboxExec(code, stderr.String()); verdict {
	case sandboxExecOK:
		c.Available = true
		c.Detail = sandboxExecPath + " applies profiles"
	case sandboxExecNested:
		c.Detail = "sbshim runs inside another Seatbelt sandbox (" + msg + "): commands run under the outer sandbox's rules only, with the relay and audit log"
		c.Fix = "run sbshim from a process that is not sandboxed itself (not from a sandboxed app or another sbshim); --strict refuses instead"
	default:
		c.Detail = msg
	}
	return c
}

func probeLog() LayerCheck {
	c := LayerCheck{Layer: "reports"}
	cmd, w, err := startLogStream(macTools(), newSessionTag(), nil, nil, nil)
	if err != nil {
		c.Detail = err.Error()
		c.Fix = "`log stream` needs an administrator account; without it the sandbox is enforced but what it blocks is not reported (--strict refuses)"
		return c
	}
	w.stop()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	c.Available = true
	c.Detail = logToolPath + " stream works: blocked attempts are reported, shortly after they happen"
	return c
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
