package mcp

import "testing"

func FuzzFramer(f *testing.F) {
	f.Add([]byte("a\nbb\n"), uint8(1), uint8(3), uint8(4))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`+"\r\n\n[1,2]\n\xff"), uint8(7), uint8(2), uint8(64))
	f.Add([]byte("0123456789abcdef\n0123\n"), uint8(5), uint8(16), uint8(0))
	f.Add([]byte(""), uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, a, b, capByte uint8) {
		maxLine := int(capByte)%40 + 1
		sizes := []int{int(a)%17 + 1, int(b)%33 + 1}
		checkFramer(t, string(data), maxLine, int(a)%8, sizes)
	})
}
