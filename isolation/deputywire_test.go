package isolation

import (
	"bytes"
	"reflect"
	"testing"
)

func TestDeputyWireRoundTrip(t *testing.T) {
	reqs := []deputyReq{
		{ID: 1, Op: opOpen, Flags: 0o101, Mode: 0o644, Path: "/ws/caf\xe9\xff", Addr: []byte{}},
		{ID: 1<<63 + 5, Op: opRename, Caller: 42, Path: "/a", Path2: "/b\x00c", Flags: 2, Addr: []byte{}},
		{ID: 7, Op: opConnect, Addr: []byte{1, 0, '/', 'x', 0}, Path: "/run/x.sock"},
		// The largest extended attribute value there is.
		{ID: 8, Op: opAttr, Resolve: uint64(attrSetxattr), Path: "/ws/f", Path2: "user.x", Addr: bytes.Repeat([]byte{0xa5}, xattrSizeMax)},
		{ID: 9, Op: opUnlink, Path: "/ws/d", Flags: 0x200, Addr: []byte{}},
	}
	for _, q := range reqs {
		var got deputyReq
		if err := got.unmarshal(q.marshal()); err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		if !reflect.DeepEqual(got, q) {
			t.Fatalf("round trip: got %+v, want %+v", got, q)
		}
	}
	resps := []deputyResp{
		{ID: 3, Errno: 13, Block: &deputyBlock{Kind: "file", Op: "create", Target: "/ws/.git/hooks/x\n", Rule: "protected .git/hooks"}},
		{ID: 4, Val: -1, Retry: retryCtty},
	}
	for _, a := range resps {
		var got deputyResp
		if err := got.unmarshal(a.marshal()); err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("round trip: got %+v, want %+v", got, a)
		}
	}
}

func TestDeputyWireRefusesMalformed(t *testing.T) {
	good := (&deputyReq{ID: 1, Op: opMkdir, Path: "/x"}).marshal()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte{}, good...), 0),
		"bad op":    (&deputyReq{ID: 1, Op: opLast, Path: "/x"}).marshal(),
		"zero op":   (&deputyReq{ID: 1, Path: "/x"}).marshal(),
		"no attr":   (&deputyReq{ID: 1, Op: opAttr, Path: "/x"}).marshal(),
		"bad attr":  (&deputyReq{ID: 1, Op: opAttr, Resolve: uint64(attrLast), Path: "/x"}).marshal(),
		"too big":   (&deputyReq{ID: 1, Op: opAttr, Resolve: uint64(attrSetxattr), Addr: make([]byte, maxDeputyReq+1)}).marshal(),
		"huge len":  append(good[:45:45], 0xff, 0xff, 0xff, 0xff),
	} {
		var q deputyReq
		if err := q.unmarshal(b); err == nil {
			t.Errorf("%s: accepted %x as %+v", name, b, q)
		}
	}
}

// FuzzDeputyWire: any bytes decode to an error or to a request that
// encodes back to exactly those bytes; the answer decoder never panics.
func FuzzDeputyWire(f *testing.F) {
	f.Add((&deputyReq{ID: 9, Op: opOpen, Path: "/p", Path2: "q", Addr: []byte{1}}).marshal())
	f.Add((&deputyResp{ID: 9, Errno: 2, Block: &deputyBlock{Kind: "k"}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var q deputyReq
		if q.unmarshal(b) == nil && !bytes.Equal(q.marshal(), b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, q, q.marshal())
		}
		var a deputyResp
		if a.unmarshal(b) == nil {
			var again deputyResp
			if err := again.unmarshal(a.marshal()); err != nil || !reflect.DeepEqual(again, a) {
				t.Fatalf("%x: answer %+v does not round-trip", b, a)
			}
		}
	})
}
