package isolation

import (
	"fmt"
	"slices"
)

// The init's spec on the wire. sbshim sends it to the init it just
// started (writeSpec), so decoding it is on the critical path of every
// sandbox start: a plain binary encoding, read without reflection, costs
// the fresh process a few microseconds where a generic decoder costs it a
// millisecond of first-touch page faults. Arguments, environment and
// paths are byte strings and arrive exactly, invalid UTF-8 included.
//
// Layout: specMagic, then every field of initSpec in its declaration
// order, with the wire helpers of deputywire.go: byte strings and lists
// length-prefixed (little-endian uint32), ints as 8 bytes, bools as one
// byte 0 or 1, an optional struct behind one byte 0 (absent) or 1, the
// UserLimits map as a count and its entries by increasing name. The
// encoding is canonical: a message decodes only if encoding the result
// gives back the same bytes. Empty lists, maps and byte strings decode
// as nil.

// specMagic starts every encoded spec; its last byte is the version of
// the layout, to change with any change of it.
const specMagic = "sbIS\x02"

// maxSpecLen bounds one encoded spec (readSpec refuses a longer one).
const maxSpecLen = 64 << 20

// marshal encodes the spec.
func (s *initSpec) marshal() []byte {
	w := &wire{b: make([]byte, 0, 4096)}
	w.b = append(w.b, specMagic...)
	w.strs(s.Argv)
	w.strs(s.Env)
	w.str(s.Dir)
	w.flag(s.Mounts != nil)
	if m := s.Mounts; m != nil {
		w.strs(m.Writable)
		w.strs(m.Masked)
		w.strs(m.Scaffold)
		w.strs(m.Own)
		w.strs(m.OwnMasked)
		w.strs(m.Readable)
		w.strs(m.ReadableMasked)
		w.strs(m.ReadOnly)
		w.int(m.TmpSizeMB)
		w.flag(m.TmpWritable)
	}
	w.strs(s.Landlock.Write)
	w.strs(s.Landlock.UnixSockets)
	w.strs(s.Landlock.ReadDeny)
	w.strs(s.Landlock.ReadAllow)
	w.ints(s.Landlock.ConnectTCP)
	w.flag(s.Supervise)
	w.flag(s.NetNS)
	w.int(s.Pids)
	w.int(s.MemoryMB)
	w.int(s.ProxyPort)
	w.strs(s.Forwards)
	w.flag(s.DNS)
	w.flag(s.PTY != nil)
	if p := s.PTY; p != nil {
		w.u16(p.Size.Rows)
		w.u16(p.Size.Cols)
		w.u16(p.Size.X)
		w.u16(p.Size.Y)
	}
	w.flag(s.HostNetwork)
	w.flag(s.CgroupWait)
	names := make([]string, 0, len(s.UserLimits))
	for name := range s.UserLimits {
		names = append(names, name)
	}
	slices.Sort(names)
	w.u32(uint32(len(names)))
	for _, name := range names {
		w.str(name)
		w.u64(uint64(s.UserLimits[name]))
	}
	w.flag(s.Trace)
	return w.b
}

// unmarshal decodes what marshal encoded into a zero spec. It refuses
// anything but exactly one canonical encoding: a wrong magic or version,
// a count or length larger than what remains, a byte other than 0 or 1
// for a bool, user limits out of order, missing or trailing bytes.
func (s *initSpec) unmarshal(b []byte) error {
	body, err := afterMagic(b, specMagic, "init spec", "init")
	if err != nil {
		return err
	}
	r := &unwire{b: body}
	s.Argv = r.strs()
	s.Env = r.strs()
	s.Dir = r.str()
	if r.flag() {
		s.Mounts = &mountPlan{
			Writable:       r.strs(),
			Masked:         r.strs(),
			Scaffold:       r.strs(),
			Own:            r.strs(),
			OwnMasked:      r.strs(),
			Readable:       r.strs(),
			ReadableMasked: r.strs(),
			ReadOnly:       r.strs(),
			TmpSizeMB:      r.int(),
			TmpWritable:    r.flag(),
		}
	}
	s.Landlock = landlockSpec{
		Write:       r.strs(),
		UnixSockets: r.strs(),
		ReadDeny:    r.strs(),
		ReadAllow:   r.strs(),
		ConnectTCP:  r.ints(),
	}
	s.Supervise = r.flag()
	s.NetNS = r.flag()
	s.Pids = r.int()
	s.MemoryMB = r.int()
	s.ProxyPort = r.int()
	s.Forwards = r.strs()
	s.DNS = r.flag()
	if r.flag() {
		s.PTY = &ptySpec{Size: WinSize{Rows: r.u16(), Cols: r.u16(), X: r.u16(), Y: r.u16()}}
	}
	s.HostNetwork = r.flag()
	s.CgroupWait = r.flag()
	if n := r.count(4 + 8); n > 0 {
		s.UserLimits = make(map[string]int64, n)
		prev := ""
		for i := range n {
			name := r.str()
			limit := int64(r.u64())
			if r.err != nil {
				break
			}
			if i > 0 && name <= prev {
				return fmt.Errorf("malformed init spec: user limit %q after %q (out of order)", name, prev)
			}
			s.UserLimits[name] = limit
			prev = name
		}
	}
	s.Trace = r.flag()
	if r.end() != nil {
		return fmt.Errorf("malformed init spec: stopped at byte %d of %d", len(b)-len(r.b), len(b))
	}
	return nil
}
