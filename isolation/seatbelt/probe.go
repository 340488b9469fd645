//go:build linux || darwin

package seatbelt

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
)

// Check is one finding of Probe, for `sbshim doctor`.
type Check struct {
	// Layer is what was checked: "seatbelt" (sandbox-exec) or "reports"
	// (the system log).
	Layer     string
	Available bool
	Detail    string
	Fix       string // what the user can do, when not Available
}

// Probe checks what the macOS backend needs (tools: MacTools on a Mac):
// sandbox-exec, and whether sbshim already runs inside a Seatbelt
// sandbox; read access to the system log, which the reports come from.
func Probe(tools Tools) []Check {
	return []Check{probeSandboxExec(tools), probeLog(tools)}
}

func probeSandboxExec(tools Tools) Check {
	c := Check{Layer: "seatbelt"}
	if _, err := os.Stat(tools.SandboxExec); err != nil {
		c.Detail = tools.SandboxExec + ": " + err.Error()
		c.Fix = "sbshim needs macOS's " + tools.SandboxExec + "; it runs nothing without it"
		return c
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tools.SandboxExec, "-p", "(version 1)(allow default)", "--", tools.True)
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
		c.Detail = tools.SandboxExec + " applies profiles"
	case sandboxExecNested:
		c.Detail = "sbshim runs inside another Seatbelt sandbox (" + msg + "): commands run under the outer sandbox's rules only, with the relay and audit log"
		c.Fix = "run sbshim from a process that is not sandboxed itself (not from a sandboxed app or another sbshim); --strict refuses instead"
	default:
		c.Detail = msg
	}
	return c
}

func probeLog(tools Tools) Check {
	c := Check{Layer: "reports"}
	cmd, w, err := startLogStream(tools, newSessionTag(), nil, nil, nil)
	if err != nil {
		c.Detail = err.Error()
		c.Fix = "`log stream` needs an administrator account; without it the sandbox is enforced but what it blocks is not reported (--strict refuses)"
		return c
	}
	w.stop()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	c.Available = true
	c.Detail = tools.Log + " stream works: blocked attempts are reported, shortly after they happen"
	return c
}
