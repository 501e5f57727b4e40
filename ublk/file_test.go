//go:build linux

package ublk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func newFileTarget(t testing.TB, size int, o FileOptions) (*FileTarget, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + 7)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ft, err := OpenFileTarget(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ft.Close() })
	return ft, path
}

// alignedBuf returns n bytes aligned for O_DIRECT.
func alignedBuf(n int) []byte {
	b := make([]byte, n+4096)
	off := 4096 - int(uintptrOf(b)%4096)
	if off == 4096 {
		off = 0
	}
	return b[off : off+n]
}

func TestFileTarget(t *testing.T) {
	for _, o := range []FileOptions{{}, {Buffered: true}} {
		ft, path := newFileTarget(t, 1<<20, o)
		if o.Buffered && ft.Direct() {
			t.Fatal("Buffered target uses O_DIRECT")
		}
		if ft.Size() != 1<<20 {
			t.Fatalf("Size = %d", ft.Size())
		}
		serve := func(r *Request) error { t.Helper(); return ft.serve(r) }

		pat := alignedBuf(8192)
		for i := range pat {
			pat[i] = byte(i ^ 0x5a)
		}
		if err := serve(&Request{Op: OpWrite, Offset: 65536, Length: 8192, Buf: pat, Flags: ioFlagFUA}); err != nil {
			t.Fatalf("%+v write: %v", o, err)
		}
		got := alignedBuf(8192)
		if err := serve(&Request{Op: OpRead, Offset: 65536, Length: 8192, Buf: got}); err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, pat) {
			t.Fatalf("%+v: read back differs", o)
		}
		if err := serve(&Request{Op: OpFlush}); err != nil {
			t.Fatalf("flush: %v", err)
		}
		for _, tc := range []struct {
			op      Op
			flags   uint32
			off, n  int
			comment string
		}{
			{OpDiscard, 0, 4096, 8192, "discard punches a hole"},
			{OpWriteZeroes, 0, 20480, 4096, "write zeroes"},
			{OpWriteZeroes, ioFlagNoUnmap, 40960, 12288, "write zeroes, no unmap"},
		} {
			if err := serve(&Request{Op: tc.op, Flags: tc.flags, Offset: int64(tc.off), Length: tc.n}); err != nil {
				t.Fatalf("%s: %v", tc.comment, err)
			}
			b := alignedBuf(tc.n + 8192)
			if err := serve(&Request{Op: OpRead, Offset: int64(tc.off - 4096), Length: len(b), Buf: b}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[4096:4096+tc.n], make([]byte, tc.n)) {
				t.Errorf("%+v %s: range not zero", o, tc.comment)
			}
			// neighbours untouched
			file, _ := os.ReadFile(path)
			if !bytes.Equal(b[:4096], file[tc.off-4096:tc.off]) || !bytes.Equal(b[4096+tc.n:], file[tc.off+tc.n:tc.off+tc.n+4096]) {
				t.Errorf("%+v %s: neighbouring data changed", o, tc.comment)
			}
			if !bytes.Equal(file[tc.off:tc.off+tc.n], make([]byte, tc.n)) {
				t.Errorf("%+v %s: file range not zero", o, tc.comment)
			}
		}
		// Reading at the end of a file returns zeros past EOF.
		b := alignedBuf(4096)
		b[0] = 1
		if err := serve(&Request{Op: OpRead, Offset: 1 << 20, Length: 4096, Buf: b}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, make([]byte, 4096)) {
			t.Error("read past EOF is not zero")
		}
	}
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
