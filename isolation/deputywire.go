package isolation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The deputy's wire format. The supervisor (outside the sandbox) asks the
// deputy (inside it, as restricted as the command) to perform a call; each
// request and each answer is one SOCK_SEQPACKET message, with at most one
// descriptor attached as SCM_RIGHTS. Paths are byte strings, passed
// exactly: no encoding that could alter invalid UTF-8.

// deputyOp names what the deputy is asked to do.
type deputyOp uint8

const (
	opOpen    deputyOp = iota + 1 // open Path with Flags, Mode, Resolve
	opMkdir                       // mkdir Path, Mode
	opMknod                       // mknod Path, Mode, Dev
	opSymlink                     // symlink Path2 → Path (Path2 is the target text)
	opLink                        // link Path2 (old) to Path (new), Flags
	opLinkFD                      // link the attached descriptor to Path
	opRename                      // rename Path2 (old) to Path (new), Flags
	opConnect                     // connect the attached socket to Addr
	opBind                        // bind the attached socket to Addr
	opReopen                      // open /proc/Caller/fd/Dev anew with Flags
	opCtty                        // open the terminal whose device number is Dev
	opAttr                        // change an attribute (Resolve: which) of Path or the attached descriptor
	opUnlink                      // unlink Path, Flags (AT_REMOVEDIR)
	opLast
)

// attrKind says which attribute an opAttr request changes; it travels in
// Resolve. Flags may hold AT_SYMLINK_NOFOLLOW (the last component of Path
// is not followed) and AT_EMPTY_PATH (the attached descriptor may be an
// O_PATH one, as fchmodat2 and fchownat accept and fchmod does not).
type attrKind uint8

const (
	attrChmod       attrKind = iota + 1 // Mode: the mode
	attrChown                           // Dev: uid<<32 | gid, each 0xffffffff to keep it
	attrUtimes                          // Addr: two timespecs (atime, mtime; seconds and nanoseconds, 8 bytes each, little-endian), or empty: now
	attrTruncate                        // Mode: the length
	attrSetxattr                        // Path2: the name; Addr: the value; Mode: XATTR_CREATE/XATTR_REPLACE
	attrRemovexattr                     // Path2: the name
	attrLast
)

// op is how a refused change of this kind is reported.
func (k attrKind) op() string {
	switch k {
	case attrChmod:
		return "chmod"
	case attrChown:
		return "chown"
	case attrUtimes:
		return "utimes"
	case attrTruncate:
		return "truncate"
	}
	return "xattr"
}

// deputyReq is one request. Caller is the calling process's pid in the
// sandbox's pid namespace, set when Path names its /proc entries.
type deputyReq struct {
	ID      uint64
	Op      deputyOp
	Caller  int32
	Flags   uint64
	Mode    uint64
	Resolve uint64
	Dev     uint64
	Path    string
	Path2   string
	Addr    []byte
}

// deputyBlock says that the deputy refused a call by the policy.
type deputyBlock struct {
	Kind, Op, Target, Rule string
}

// deputyResp is one answer. An attached descriptor is the call's result
// (a file or socket to install in the caller); otherwise Errno (0: done)
// and Val answer the call.
type deputyResp struct {
	ID    uint64
	Errno int32
	Val   int64
	// Retry asks the supervisor to answer the call another way: the path
	// names something only the caller can (its own descriptors through
	// /proc/self/fd, or its terminal through /dev/tty).
	Retry uint8
	Block *deputyBlock
}

// Retry reasons.
const (
	retryNone uint8 = iota
	retryOwnFD
	retryCtty
)

// The kernel's limits on extended attributes: XATTR_NAME_MAX and
// XATTR_SIZE_MAX.
const (
	xattrNameMax = 255
	xattrSizeMax = 64 << 10
)

// maxDeputyReq bounds one request: two paths of PATH_MAX and an extended
// attribute's value (at most 64 KiB), or an address, and the fixed
// fields, with room to spare. maxDeputyAnswer bounds one answer: a
// refusal names one path and a rule.
const (
	maxDeputyReq    = 80 << 10
	maxDeputyAnswer = 16 << 10
)

var errDeputyMsg = errors.New("deputy: malformed message")

type wire struct{ b []byte }

func (w *wire) u8(v uint8)   { w.b = append(w.b, v) }
func (w *wire) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *wire) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *wire) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *wire) bytes(v []byte) {
	w.u32(uint32(len(v)))
	w.b = append(w.b, v...)
}

// str writes a byte string as bytes does, without converting it first.
func (w *wire) str(v string) {
	w.u32(uint32(len(v)))
	w.b = append(w.b, v...)
}

// strs writes a count, then each string.
func (w *wire) strs(v []string) {
	w.u32(uint32(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

// flag writes a bool as one byte, 0 or 1.
func (w *wire) flag(v bool) {
	if v {
		w.u8(1)
		return
	}
	w.u8(0)
}

// int writes an int as 8 bytes, whatever the platform's int size.
func (w *wire) int(v int) { w.u64(uint64(int64(v))) }

// ints writes a count, then each int.
func (w *wire) ints(v []int) {
	w.u32(uint32(len(v)))
	for _, n := range v {
		w.int(n)
	}
}

type unwire struct {
	b   []byte
	err error
}

func (r *unwire) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = errDeputyMsg
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *unwire) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *unwire) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *unwire) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (r *unwire) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

// bytes reads what wire.bytes wrote, at most maxDeputyReq bytes long.
func (r *unwire) bytes() []byte {
	return r.blob(maxDeputyReq)
}

// blob reads a length-prefixed byte string of at most limit bytes. The
// result shares the message's memory.
func (r *unwire) blob(limit int) []byte {
	n := r.u32()
	if r.err != nil || uint64(n) > uint64(max(limit, 0)) {
		r.err = errDeputyMsg
		return nil
	}
	return r.take(int(n))
}

// str reads what wire.str wrote, bounded only by what remains.
func (r *unwire) str() string {
	return string(r.blob(len(r.b)))
}

// count reads a count of items that each take at least size bytes on the
// wire, and refuses one that what remains cannot hold: nothing is ever
// allocated for items that are not there.
func (r *unwire) count(size int) int {
	n := r.u32()
	if r.err != nil || uint64(n) > uint64(len(r.b)/size) {
		r.err = errDeputyMsg
		return 0
	}
	return int(n)
}

// strs reads what wire.strs wrote; no strings is nil.
func (r *unwire) strs() []string {
	n := r.count(4)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.str()
	}
	if r.err != nil {
		return nil
	}
	return v
}

// flag reads what wire.flag wrote; a byte other than 0 or 1 is an error.
func (r *unwire) flag() bool {
	v := r.u8()
	if v > 1 {
		r.err = errDeputyMsg
	}
	return v == 1
}

// int reads what wire.int wrote; a value the platform's int cannot hold
// is an error.
func (r *unwire) int() int {
	v := int64(r.u64())
	if int64(int(v)) != v {
		r.err = errDeputyMsg
		return 0
	}
	return int(v)
}

// ints reads what wire.ints wrote; no ints is nil.
func (r *unwire) ints() []int {
	n := r.count(8)
	if n == 0 {
		return nil
	}
	v := make([]int, n)
	for i := range v {
		v[i] = r.int()
	}
	if r.err != nil {
		return nil
	}
	return v
}

// afterMagic returns what follows magic at the start of b, magic's last
// byte being the version of the layout. What names the message in errors
// ("init spec"), reader what reads it ("init").
func afterMagic(b []byte, magic, what, reader string) ([]byte, error) {
	n := len(magic)
	if len(b) < n || string(b[:n-1]) != magic[:n-1] {
		return nil, fmt.Errorf("%s: wrong magic", what)
	}
	if v, want := b[n-1], magic[n-1]; v != want {
		return nil, fmt.Errorf("%s of layout version %d, this %s reads version %d", what, v, reader, want)
	}
	return b[n:], nil
}

func (r *unwire) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errDeputyMsg
	}
	return r.err
}

func (q *deputyReq) marshal() []byte {
	w := &wire{b: make([]byte, 0, 64+len(q.Path)+len(q.Path2)+len(q.Addr))}
	w.u64(q.ID)
	w.u8(uint8(q.Op))
	w.u32(uint32(q.Caller))
	w.u64(q.Flags)
	w.u64(q.Mode)
	w.u64(q.Resolve)
	w.u64(q.Dev)
	w.bytes([]byte(q.Path))
	w.bytes([]byte(q.Path2))
	w.bytes(q.Addr)
	return w.b
}

func (q *deputyReq) unmarshal(b []byte) error {
	r := &unwire{b: b}
	q.ID = r.u64()
	q.Op = deputyOp(r.u8())
	q.Caller = int32(r.u32())
	q.Flags = r.u64()
	q.Mode = r.u64()
	q.Resolve = r.u64()
	q.Dev = r.u64()
	q.Path = string(r.bytes())
	q.Path2 = string(r.bytes())
	q.Addr = append([]byte{}, r.bytes()...)
	if err := r.end(); err != nil {
		return err
	}
	if q.Op == 0 || q.Op >= opLast || q.Op == opAttr && (q.Resolve == 0 || q.Resolve >= uint64(attrLast)) {
		return errDeputyMsg
	}
	return nil
}

func (a *deputyResp) marshal() []byte {
	w := &wire{}
	w.u64(a.ID)
	w.u32(uint32(a.Errno))
	w.u64(uint64(a.Val))
	w.u8(a.Retry)
	if a.Block == nil {
		w.u8(0)
		return w.b
	}
	w.u8(1)
	for _, s := range []string{a.Block.Kind, a.Block.Op, a.Block.Target, a.Block.Rule} {
		w.bytes([]byte(s))
	}
	return w.b
}

func (a *deputyResp) unmarshal(b []byte) error {
	r := &unwire{b: b}
	a.ID = r.u64()
	a.Errno = int32(r.u32())
	a.Val = int64(r.u64())
	a.Retry = r.u8()
	if r.u8() == 1 {
		a.Block = &deputyBlock{Kind: string(r.bytes()), Op: string(r.bytes()),
			Target: string(r.bytes()), Rule: string(r.bytes())}
	}
	if err := r.end(); err != nil {
		return err
	}
	if a.Errno < 0 || a.Errno > math.MaxUint16 {
		return errDeputyMsg
	}
	return nil
}
