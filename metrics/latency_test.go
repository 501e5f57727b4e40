package metrics

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{
		-time.Second,          // clock jump: counted as 0
		10 * time.Microsecond, // on a bound: that bucket (le)
		11 * time.Microsecond,
		3 * time.Millisecond,
		time.Minute, // +Inf
	} {
		h.observe(d)
	}
	n, sum, b := h.read()
	if n != 5 {
		t.Fatalf("count %d", n)
	}
	if want := (10*time.Microsecond + 11*time.Microsecond + 3*time.Millisecond + time.Minute).Seconds(); sum != want {
		t.Fatalf("sum %v, want %v", sum, want)
	}
	for le, want := range map[float64]uint64{10e-6: 2, 25e-6: 3, 2.5e-3: 3, 5e-3: 4, 10: 4} {
		if b[le] != want {
			t.Errorf("bucket le=%v: %d, want %d", le, b[le], want)
		}
	}
	if len(b) != len(latencyBuckets) {
		t.Fatalf("%d buckets", len(b))
	}
}

func TestLatenciesObserver(t *testing.T) {
	l := NewLatencies()
	o := l.Observer("r0", 1)
	o.ObserveLocalWrite(time.Millisecond)
	o.ObserveNetworkWrite(time.Millisecond)
	o.ObserveNetworkWrite(time.Millisecond)
	o.ObserveApplicationWrite(time.Millisecond)
	v := l.get("r0", 1)
	if v == nil || l.Observer("r0", 1) != o || l.get("r0", 0) != nil {
		t.Fatal("one observer per resource and volume")
	}
	for name, want := range map[string]struct {
		h *histogram
		n uint64
	}{"local": {&v.local, 1}, "network": {&v.network, 2}, "application": {&v.application, 1}} {
		if n, _, _ := want.h.read(); n != want.n {
			t.Errorf("%s: %d observations, want %d", name, n, want.n)
		}
	}
}

func TestParseVersionCode(t *testing.T) {
	out := []byte("DRBDADM_BUILDTAG=GIT-hash:\\ 1234\nDRBDADM_API_VERSION=2\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION_CODE=0x092000\nDRBDADM_VERSION=9.32.0\n")
	if v := parseVersionCode(out, "DRBDADM_VERSION_CODE"); v != "9.32.0" {
		t.Errorf("utils %q", v)
	}
	if v := parseVersionCode(out, "DRBD_KERNEL_VERSION_CODE"); v != "8.4.11" {
		t.Errorf("kmod %q", v)
	}
	if v := parseVersionCode([]byte("DRBDADM_VERSION_CODE=0xzz\n"), "DRBDADM_VERSION_CODE"); v != "" {
		t.Errorf("garbage: %q", v)
	}
	if v := parseVersionCode(nil, "DRBDADM_VERSION_CODE"); v != "" {
		t.Errorf("nothing: %q", v)
	}
}
