//go:build linux || darwin

package isolation

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"github.com/sbshim/sbshim/isolation/policy"
)

// ptyServer is the sandboxed command in PTY mode: it says whether its
// stdio are terminals, writes its terminal's size on stdout and a line
// through /dev/tty (its controlling terminal), and exits 7.
const ptyServer = `#!/bin/sh
[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo yes > "$SB_OUT_DIR/isatty"
printf 'size %s\n' "$(stty size)"
printf 'via-ctty\n' > /dev/tty
exit 7
`

// macTTYName is a name macOS gives a pty's slave, for one opened here:
// the profile allows only /dev/ttysN.
const macTTYName = "/dev/ttys042"

// opened is what macNamedPTY opened.
type opened struct {
	master, slave *os.File
	name          string // the slave's
	rdev          uint64 // the slave's device
}

// macNamedPTY opens a pty whose slave's Name is a macOS terminal's, as
// pty.Open's is on macOS, and records what it opened in o.
func macNamedPTY(o *opened) openPTY {
	return func() (*os.File, *os.File, error) {
		m, s, err := pty.Open()
		if err != nil {
			return nil, nil, err
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(s.Fd()), &st); err != nil {
			return nil, nil, err
		}
		o.master, o.rdev = m, uint64(st.Rdev)
		if strings.HasPrefix(s.Name(), "/dev/ttys") {
			o.name, o.slave = s.Name(), s
			return m, s, nil
		}
		fd, err := syscall.Dup(int(s.Fd()))
		s.Close()
		if err != nil {
			m.Close()
			return nil, nil, err
		}
		o.name, o.slave = macTTYName, os.NewFile(uintptr(fd), macTTYName)
		return m, o.slave, nil
	}
}

// openFDsOf lists the descriptors of this process open on the device
// rdev.
func openFDsOf(rdev uint64) []int {
	var fds []int
	for fd := range 1024 {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFCHR && uint64(st.Rdev) == rdev {
			fds = append(fds, fd)
		}
	}
	return fds
}

// PTY mode of the macOS backend, run with the stand-ins: the command gets
// a new terminal of the requested size as stdin, stdout, stderr and
// controlling terminal, the profile allows that one terminal device,
// Process.PTY is its master, sbshim keeps no copy of the slave, and the
// exit status passes through; nested, the command still gets its
// terminal; a pty that cannot be opened or a refused profile is a setup
// error: nothing runs and both sides of the pty are closed.
func TestStartSeatbeltPTY(t *testing.T) {
	tests := []struct {
		name      string
		mode      string // the stand-in sandbox-exec's: ok, nested, refuse
		openFail  bool
		wantSetup string // a SetupError saying this
		wantHow   string // seatbelt, direct
	}{
		{name: "under sandbox-exec", mode: "ok", wantHow: "seatbelt"},
		{name: "nested", mode: "nested", wantHow: "direct"},
		{name: "no pty", mode: "ok", openFail: true, wantSetup: "pty: open a pty: no ptys left"},
		{name: "profile refused", mode: "refuse", wantSetup: "sandbox-exec refused the profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, fake := fakeMac(t, tt.mode, "refuse")
			if err := os.WriteFile(filepath.Join(fake, "ptyserver"), []byte(ptyServer), 0o755); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			tmp, err := PrivateTmp(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			pol := matchPolicy()
			pol.Network.Mode = policy.NetNone
			pol.Vars.Tmp = tmp
			pol.Env = policy.EnvPolicy{Pass: []string{"PATH", "SB_*"}}
			t.Setenv("SB_OUT_DIR", out)
			var o opened
			open := macNamedPTY(&o)
			if tt.openFail {
				open = func() (*os.File, *os.File, error) { return nil, nil, errors.New("no ptys left") }
			}
			var rec recorder
			p, err := startSeatbelt(Config{Policy: pol, Argv: []string{filepath.Join(fake, "ptyserver")}, Dir: out,
				PTY: &WinSize{Rows: 37, Cols: 101}, Report: rec.event, Warn: rec.warn}, tools, open)
			if tt.wantSetup != "" {
				var se *SetupError
				if !errors.As(err, &se) || se.Code != ExitSetup || !strings.Contains(err.Error(), tt.wantSetup) {
					t.Fatalf("err %v, want a SetupError saying %q", err, tt.wantSetup)
				}
				if _, err := os.Stat(filepath.Join(out, "isatty")); err == nil {
					t.Error("the command ran")
				}
				for _, f := range []*os.File{o.master, o.slave} {
					if f == nil {
						continue
					}
					if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
						t.Errorf("%s is left open", f.Name())
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			master := p.PTY()
			if master == nil || master != o.master {
				_ = p.Signal(syscall.SIGKILL)
				_, _ = p.Wait()
				t.Fatalf("PTY() = %v, want the master opened", master)
			}
			defer master.Close()
			if fds := openFDsOf(o.rdev); len(fds) > 0 {
				_ = p.Signal(syscall.SIGKILL)
				_, _ = p.Wait()
				t.Fatalf("sbshim keeps the terminal's slave open (descriptors %v): the master would never see the hang-up", fds)
			}
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(master); got <- b }()
			code, err := p.Wait()
			if err != nil || code != 7 {
				t.Fatalf("Wait = %d, %v; want 7", code, err)
			}
			text := strings.ReplaceAll(string(<-got), "\r\n", "\n")
			for _, want := range []string{"size 37 101\n", "via-ctty\n"} {
				if !strings.Contains(text, want) {
					t.Errorf("the terminal showed %q, want %q in it", text, want)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(out, "isatty")); string(b) != "yes\n" {
				t.Error("the command's stdin, stdout and stderr are not its terminal")
			}
			prof, err := os.ReadFile(filepath.Join(fake, "profile.sb"))
			if tt.wantHow == "seatbelt" {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(prof), `(literal "`+o.name+`")`) || !strings.Contains(string(prof), "pseudo-tty") ||
					strings.Contains(string(prof), "/dev/ttys[") {
					t.Errorf("the profile does not allow the terminal %s, and it alone:\n%s", o.name, prof)
				}
			} else if err == nil {
				t.Error("the command ran under sandbox-exec while nested")
			}
		})
	}
}
