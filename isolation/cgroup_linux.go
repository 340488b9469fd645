package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// limits.pids is applied as RLIMIT_NPROC, counted per user in the
// sandbox's user namespace. The kernel does not apply that limit to root
// (uid 0 of the host): for a sandbox run as root, the init is moved into a
// cgroup of its own whose pids.max binds whatever the uid.

// pidsCgroup is a cgroup made for one sandbox.
type pidsCgroup struct{ dir string }

// remove deletes the cgroup; it must be empty (the sandbox is gone).
func (c *pidsCgroup) remove() {
	if c != nil {
		_ = os.Remove(c.dir)
	}
}

// newPidsCgroup makes an empty child of sbshim's own pids cgroup, with no
// limit yet (setMax sets it once the policy is known).
func newPidsCgroup() (*pidsCgroup, error) {
	parent, err := pidsCgroupDir()
	if err != nil {
		return nil, err
	}
	// A fresh name: one sbshim process may run several sandboxes at once.
	dir, err := os.MkdirTemp(parent, "sbshim-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("make a cgroup in %s: %w", parent, err)
	}
	return &pidsCgroup{dir: dir}, nil
}

// setMax limits the cgroup to max processes.
func (c *pidsCgroup) setMax(max int) error {
	if err := os.WriteFile(filepath.Join(c.dir, "pids.max"), []byte(strconv.Itoa(max)), 0); err != nil {
		return fmt.Errorf("set %s/pids.max: %w", c.dir, err)
	}
	return nil
}

// add moves the process pid, all its threads, into the cgroup.
func (c *pidsCgroup) add(pid int) error {
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("move the sandbox into %s: %w", c.dir, err)
	}
	return nil
}

// pidsCgroupDir finds the folder of sbshim's own cgroup in a hierarchy
// with the pids controller: cgroup v1's pids hierarchy, or cgroup v2
// where the pids controller is enabled for the children of sbshim's
// cgroup.
func pidsCgroupDir() (string, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(own)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, rel := strings.Split(parts[1], ","), parts[2]
		switch {
		case slices.Contains(ctrls, "pids"):
			if mnt, ok := mounts["pids"]; ok {
				return filepath.Join(mnt, rel), nil
			}
		case parts[0] == "0" && parts[1] == "":
			mnt, ok := mounts[""]
			if !ok {
				continue
			}
			dir := filepath.Join(mnt, rel)
			sub, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
			if err == nil && slices.Contains(strings.Fields(string(sub)), "pids") {
				return dir, nil
			}
		}
	}
	return "", errors.New("no cgroup with the pids controller is open to sbshim (cgroup v1 pids hierarchy, or v2 with pids delegated to sbshim's cgroup)")
}

// cgroupMounts maps each cgroup v1 controller to its hierarchy's mount
// point, and "" to the cgroup v2 mount point.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 || fields[3] != "/" {
			continue
		}
		switch tail[0] {
		case "cgroup2":
			if _, seen := out[""]; !seen {
				out[""] = fields[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				if _, seen := out[opt]; !seen {
					out[opt] = fields[4]
				}
			}
		}
	}
	return out, sc.Err()
}

// pendingCgroup is a pids cgroup being made in the background while
// sbshim prepares the sandbox (newPidsCgroup).
type pendingCgroup struct {
	done chan struct{}
	cg   *pidsCgroup
	err  error
}

// makePidsCgroup starts making the cgroup of a sandbox, without a limit
// yet: it is made, and the init moved into it, while the policy loads.
func makePidsCgroup() *pendingCgroup {
	p := &pendingCgroup{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.cg, p.err = newPidsCgroup()
		if p.err == nil {
			go warmCgroupMoves(filepath.Dir(p.cg.dir))
			removeStaleCgroups(filepath.Dir(p.cg.dir))
		}
	}()
	return p
}

// warmCgroupMoves moves sbshim into the cgroup it is in (dir): a move
// that changes nothing, made while the init is being forked. The first
// move into a cgroup after a while waits for an RCU grace period (the
// kernel's cgroup_threadgroup_rwsem switching to its writers' mode);
// the init's own move, made once it is forked, then finds that wait
// under way or over instead of starting it (measured here: the move
// done 7.7 ms after the start instead of 18.6). A failure only loses
// the head start.
func warmCgroupMoves(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
}

// removeStaleCgroups removes, from dir, the cgroups that sbshim
// processes now gone left behind: a sbshim killed by SIGKILL cannot
// remove its own. A cgroup named for a pid that is alive (another
// sbshim, or a pid used again) is left alone, and only an empty cgroup
// can be removed at all.
func removeStaleCgroups(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "sbshim-")
		if !ok || !e.IsDir() {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if n, err := strconv.Atoi(pid); err != nil || n <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// wait returns the cgroup once it is made, or why it could not be.
func (p *pendingCgroup) wait() (*pidsCgroup, error) {
	<-p.done
	return p.cg, p.err
}

// cgroupMove is the init's move into its cgroup, started as soon as it
// is forked: a move takes milliseconds (cgroup v1 waits for an RCU grace
// period), which then pass while the policy loads and the spec is built.
type cgroupMove struct {
	done chan struct{} // closed once the move is over
	cg   *pidsCgroup   // the cgroup the init is in; nil if the move failed
	err  error         // why the move failed
}

// moveIntoCgroup starts moving process pid into the cgroup pc makes.
func moveIntoCgroup(pc *pendingCgroup, pid int, tr *StartTrace) *cgroupMove {
	m := &cgroupMove{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		c, err := pc.wait()
		if err == nil {
			if err = c.add(pid); err != nil {
				c.remove()
			} else {
				m.cg = c
			}
		}
		m.err = err
		tr.Mark("cgroup joined")
	}()
	return m
}

// wait returns the cgroup the init is in (nil if none) and why the move
// failed, once it is over; a nil move has neither.
func (m *cgroupMove) wait() (*pidsCgroup, error) {
	if m == nil {
		return nil, nil
	}
	<-m.done
	return m.cg, m.err
}

// cgroupJoin is the end of the init's move into its cgroup: the limit
// set, and the init told.
type cgroupJoin struct {
	done chan struct{} // closed once the limit is set and the init told
	cg   *pidsCgroup   // the cgroup the init is in; nil if none
	err  error         // why the cgroup does not limit the init
}

// joinCgroup finishes the move m of proc: once proc is in its cgroup, it
// limits it to max processes and tells the init by one byte on conn,
// after its spec: specSent says whether the spec went (false: nothing
// more is written). When the cgroup cannot limit the init and strict is
// set, proc is killed instead: the init starts no process before the
// byte, and its end is read as the failure.
func joinCgroup(m *cgroupMove, max int, proc *os.Process, conn *os.File, strict bool, specSent <-chan bool) *cgroupJoin {
	j := &cgroupJoin{done: make(chan struct{})}
	go func() {
		defer close(j.done)
		c, err := m.wait()
		if err == nil {
			err = c.setMax(max)
		}
		j.cg = c
		if err != nil {
			j.err = err
			if strict {
				_ = proc.Kill()
				return
			}
		}
		if <-specSent {
			// A write that fails means the init ended first, usually
			// because its set-up failed: the status saying why is
			// read by startInit.
			_, _ = conn.Write([]byte{1})
		}
	}()
	return j
}

// wait returns the cgroup the init is in (nil if none) and the error that
// keeps it from limiting the init, once the join is over; a nil join has
// neither.
func (j *cgroupJoin) wait() (*pidsCgroup, error) {
	if j == nil {
		return nil, nil
	}
	<-j.done
	return j.cg, j.err
}
