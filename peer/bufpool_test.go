package peer

import "testing"

func TestBufClasses(t *testing.T) {
	for _, tc := range []struct{ n, cap int }{
		{1, 4096}, {512, 4096}, {4096, 4096}, {4097, 8192}, {8192, 8192},
		{12288, 16384}, {65536, 65536}, {65537, 131072}, {1 << 20, 1 << 20},
	} {
		b := getBuf(tc.n)
		if len(b) != tc.n || cap(b) != tc.cap {
			t.Errorf("getBuf(%d): len %d cap %d, want len %d cap %d", tc.n, len(b), cap(b), tc.n, tc.cap)
		}
		putBuf(b)
		b = getBuf(tc.n) // maybe the one just put back
		if len(b) != tc.n || cap(b) != tc.cap {
			t.Errorf("getBuf(%d) again: len %d cap %d, want cap %d", tc.n, len(b), cap(b), tc.cap)
		}
	}
	if b := getBuf(1<<20 + 512); len(b) != 1<<20+512 {
		t.Errorf("larger than every class: len %d", len(b))
	}
	putBuf(make([]byte, 5000)) // not from a class: dropped
	if b := getBuf(5000); cap(b) != 8192 {
		t.Errorf("a foreign buffer came back from the pool: cap %d", cap(b))
	}
}

func TestSmallBufAllocatesLittle(t *testing.T) {
	// A 4 KiB request must not cost a 1 MiB buffer, and a buffer that goes
	// back and forth through its pool costs no allocation.
	allocs := testing.AllocsPerRun(100, func() { putBuf(getBuf(4096)) })
	if allocs > 0 {
		t.Errorf("%v allocations per get/put", allocs)
	}
	b := getBuf(4096)
	if cap(b) > 4096 {
		t.Errorf("4 KiB request got a buffer of %d bytes", cap(b))
	}
}
