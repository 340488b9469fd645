package isolation

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unsentSpecFields are the fields of initSpec and the types in it that
// stay on sbshim's side: every other field must cross to the init.
var unsentSpecFields = map[string]bool{}

// fullSpec returns an initSpec whose every sent field, nested ones
// included, holds a non-zero value distinct from every other field's (see
// fillDistinct).
func fullSpec(t testing.TB) *initSpec {
	t.Helper()
	var spec initSpec
	fillDistinct(t, &spec, unsentSpecFields)
	return &spec
}

// fillDistinct fills every exported field of the struct ptr points to,
// nested ones included, with a non-zero value distinct from every other
// field's: strings with NUL bytes and invalid UTF-8, negative ints,
// several entries in every list and map. An unexported field must be
// listed in unsent ("Type.Field"); a field of a kind it cannot fill fails
// the test: teach fillDistinct, and the codec, about it.
func fillDistinct(t testing.TB, ptr any, unsent map[string]bool) {
	t.Helper()
	n := 0
	var fill func(v reflect.Value, where string)
	fill = func(v reflect.Value, where string) {
		n++
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("/%s\x00\xff\xfe%d é", where, n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(-int64(n) * 1_000_003)
		case reflect.Uint16:
			v.SetUint(uint64(n))
		case reflect.Uint8:
			v.SetUint(uint64(n%255 + 1))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 3, 3))
			for i := range 3 {
				fill(v.Index(i), fmt.Sprintf("%s[%d]", where, i))
			}
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			for i := range 3 {
				k := reflect.New(v.Type().Key()).Elem()
				fill(k, fmt.Sprintf("%s.key%d", where, i))
				e := reflect.New(v.Type().Elem()).Elem()
				fill(e, fmt.Sprintf("%s[%d]", where, i))
				v.SetMapIndex(k, e)
			}
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), where)
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				name := v.Type().Name() + "." + f.Name
				if !f.IsExported() {
					if !unsent[name] {
						t.Fatalf("%s is not exported: decide whether it must cross (then export it and encode it) or list it as unsent", name)
					}
					continue
				}
				fill(v.Field(i), name)
			}
		default:
			t.Fatalf("%s is a %s, which the test cannot fill: teach fillDistinct and the codec", where, v.Type())
		}
	}
	v := reflect.ValueOf(ptr).Elem()
	fill(v, v.Type().Name())
}

// sendSpec passes spec through writeSpec and readSpec over a unix stream
// socket, as sbshim and the init do.
func sendSpec(t *testing.T, spec *initSpec) (*initSpec, error) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	w, r := os.NewFile(uintptr(fds[0]), "sbshim"), os.NewFile(uintptr(fds[1]), "init")
	defer r.Close()
	sent := make(chan error, 1)
	go func() {
		sent <- writeSpec(w, spec)
		w.Close()
	}()
	var got initSpec
	err = readSpec(r, &got)
	if werr := <-sent; werr != nil {
		t.Fatalf("writeSpec: %v", werr)
	}
	return &got, err
}

func TestSpecWireEveryField(t *testing.T) {
	spec := fullSpec(t)
	if reflect.DeepEqual(*spec, initSpec{}) || spec.Mounts == nil || spec.PTY == nil || len(spec.UserLimits) != 3 {
		t.Fatalf("fullSpec left fields empty: %+v", spec)
	}
	got, err := sendSpec(t, spec)
	if err != nil {
		t.Fatalf("readSpec: %v", err)
	}
	if !reflect.DeepEqual(got, spec) {
		t.Fatalf("round trip lost something:\n got %#v\nwant %#v", got, spec)
	}
}

func TestSpecWireRoundTrip(t *testing.T) {
	full := fullSpec(t)
	for _, tc := range []struct {
		name       string
		spec, want *initSpec
	}{
		{name: "zero", spec: &initSpec{}},
		{name: "degraded", spec: &initSpec{Argv: []string{"/bin/true"}, Env: []string{"A=\xff"}, Dir: "/",
			Landlock: landlockSpec{Write: []string{"/ws"}, ReadDeny: []string{"/home/u/.ssh"}}, Pids: 1024}},
		{name: "extremes", spec: &initSpec{Argv: []string{"", "\x00", strings.Repeat("\xc3", 1<<16)},
			Mounts:     &mountPlan{TmpSizeMB: math.MinInt64},
			Landlock:   landlockSpec{ConnectTCP: []int{0, 65535, math.MaxInt64, math.MinInt64}},
			Pids:       math.MaxInt64,
			MemoryMB:   -1,
			PTY:        &ptySpec{Size: WinSize{Rows: math.MaxUint16, Cols: 1}},
			UserLimits: map[string]int64{"": math.MinInt64, "\xff": math.MaxInt64, "a": 0},
			// Far beyond what one deputy request may hold.
			Env: []string{strings.Repeat("\x00\xa5", 1<<20)}}},
		{name: "zero mounts and pty", spec: &initSpec{Mounts: &mountPlan{}, PTY: &ptySpec{}}},
		{name: "full", spec: full},
		// Empty lists and byte strings arrive as nil, as they did with
		// gob; so does an empty map (gob gave an empty one: the init
		// only ranges over it).
		{name: "empty is nil",
			spec: &initSpec{Argv: []string{}, Mounts: &mountPlan{Writable: []string{}}, Landlock: landlockSpec{ConnectTCP: []int{}},
				UserLimits: map[string]int64{}},
			want: &initSpec{Mounts: &mountPlan{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = tc.spec
			}
			got, err := sendSpec(t, tc.spec)
			if err != nil {
				t.Fatalf("readSpec: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
			}
			if b := tc.spec.marshal(); !bytes.Equal(b, want.marshal()) || !bytes.Equal(b, tc.spec.marshal()) {
				t.Fatalf("the encoding is not deterministic")
			}
		})
	}
}

// patch returns a copy of b with v written at off.
func patch(b []byte, off int, v ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], v)
	return c
}

func TestSpecWireRefusesMalformed(t *testing.T) {
	zero := (&initSpec{}).marshal()
	m := len(specMagic)
	// The zero spec: magic, Argv's count, Env's count, Dir's length, then
	// the byte that says whether Mounts follow.
	mountsFlag := m + 4 + 4 + 4
	limits := (&initSpec{UserLimits: map[string]int64{"a": 1, "b": 2}}).marshal()
	// Its end: the two entries (length, name, value: 13 bytes each), then
	// Trace.
	entries := len(limits) - 1 - 26
	swapped := bytes.Clone(limits)
	copy(swapped[entries:], limits[entries+13:entries+26])
	copy(swapped[entries+13:], limits[entries:entries+13])
	var gobSpec bytes.Buffer
	if err := gob.NewEncoder(&gobSpec).Encode(fullSpec(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		err  string
	}{
		{"empty", nil, "wrong magic"},
		{"magic only in part", []byte(specMagic[:3]), "wrong magic"},
		{"wrong magic", patch(zero, 0, 'x'), "wrong magic"},
		{"other version", patch(zero, m-1, 1), "layout version 1, this init reads version 2"},
		{"gob", gobSpec.Bytes(), "wrong magic"},
		{"trailing byte", append(bytes.Clone(zero), 0), "malformed"},
		{"bool not 0 or 1", patch(zero, mountsFlag, 2), "malformed"},
		{"2^31 strings", patch(zero, m, 0, 0, 0, 0x80), "malformed"},
		{"one string too many", patch(zero, m, 1), "malformed"},
		{"string past the end", patch(zero, m+8, 0xff, 0xff, 0xff, 0xff), "malformed"},
		{"user limits out of order", swapped, "out of order"},
		{"duplicate user limit", patch(limits, entries+13+4, 'a'), "out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s initSpec
			err := s.unmarshal(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("unmarshal(%x) = %v, %#v; want an error with %q", tc.b, err, s, tc.err)
			}
		})
	}
	full := fullSpec(t).marshal()
	for n := range len(full) {
		var s initSpec
		if err := s.unmarshal(full[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decode to %#v", n, len(full), s)
		}
	}
}

// TestSpecWireBoundedAllocation writes a huge count or length (2^31-1)
// at every offset of a full spec's encoding: whatever that offset held,
// the decoder fails or succeeds without allocating for what the message
// does not hold.
func TestSpecWireBoundedAllocation(t *testing.T) {
	full := fullSpec(t).marshal()
	limit := uint64(16*len(full) + 64<<10)
	var before, after runtime.MemStats
	for off := 0; off+4 <= len(full); off++ {
		b := patch(full, off, 0xff, 0xff, 0xff, 0x7f)
		var s initSpec
		runtime.ReadMemStats(&before)
		_ = s.unmarshal(b)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > limit {
			t.Fatalf("a count of 2^31-1 at byte %d of %d: decoding allocated %d bytes", off, len(full), got)
		}
	}
}

// TestReadSpecAllocations: reading a spec costs about one allocation per
// string, no generic decoder's machinery (which, in the fresh init, is
// a millisecond of first-touch page faults).
func TestReadSpecAllocations(t *testing.T) {
	spec := fullSpec(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		if err := writeSpec(w, spec); err != nil {
			t.Error(err)
		}
		w.Close()
	}()
	msg, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	strs := 0
	var count func(v reflect.Value)
	count = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			strs++
		case reflect.Slice, reflect.Map:
			strs++ // its own backing array
			if v.Kind() == reflect.Map {
				for _, k := range v.MapKeys() {
					count(k)
				}
				return
			}
			for i := range v.Len() {
				count(v.Index(i))
			}
		case reflect.Pointer:
			strs++
			count(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					count(v.Field(i))
				}
			}
		}
	}
	count(reflect.ValueOf(spec).Elem())
	allocs := testing.AllocsPerRun(20, func() {
		var s initSpec
		if err := readSpec(bytes.NewReader(msg), &s); err != nil {
			t.Fatal(err)
		}
	})
	// The message's buffer and the map's buckets besides.
	if max := float64(strs + 4); allocs > max {
		t.Fatalf("readSpec made %v allocations for a spec of %d strings, lists and maps; want at most %v", allocs, strs, max)
	}
}

func TestReadSpecRefusesShortAndHuge(t *testing.T) {
	body := fullSpec(t).marshal()
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"no header", []byte{0, 0}},
		{"short body", append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+1)), body...)},
		{"too large", binary.BigEndian.AppendUint32(nil, maxSpecLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s initSpec
			if err := readSpec(bytes.NewReader(tc.msg), &s); err == nil {
				t.Fatalf("accepted %d bytes as %#v", len(tc.msg), s)
			}
		})
	}
}

// TestWriteSpecRefusesHuge: sbshim refuses to send a spec the init would
// refuse, and says why.
func TestWriteSpecRefusesHuge(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go io.Copy(io.Discard, r)
	err = writeSpec(w, &initSpec{Dir: string(make([]byte, maxSpecLen))})
	w.Close()
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("writeSpec of a spec over %d bytes: %v, want too large", maxSpecLen, err)
	}
}

// FuzzInitSpecWire: any bytes decode to an error or to a spec that
// encodes back to exactly those bytes; nothing panics.
func FuzzInitSpecWire(f *testing.F) {
	f.Add((&initSpec{}).marshal())
	f.Add(fullSpec(f).marshal())
	f.Add((&initSpec{Argv: []string{"/bin/true"}, Mounts: &mountPlan{TmpSizeMB: 512}, UserLimits: map[string]int64{"a": 1, "b": 2}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var s initSpec
		if s.unmarshal(b) != nil {
			return
		}
		if again := s.marshal(); !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %#v, which encodes to %x", b, s, again)
		}
	})
}
