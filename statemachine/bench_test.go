package statemachine

import (
	"context"
	"testing"

	"udrbd/actlog"
	"udrbd/drbd"
)

func benchDevice(b *testing.B) (*Device, *actlog.Log) {
	al := actlog.New(7, &actlog.MemWriter{})
	d := New(nil, nil, Config{})
	b.Cleanup(d.Close)
	p := AttachParams{
		Open:      func() (any, uint32, drbd.RetCode) { return al, drbd.MDFConsistent | drbd.MDFWasUpToDate, drbd.NoError },
		OnIOError: drbd.EPDetach,
	}
	if rc := d.Attach(context.Background(), p); rc != drbd.Reply(drbd.NoError) {
		b.Fatal(rc)
	}
	al.BeginIO(3) // make the extent hot
	al.CompleteIO(3)
	return d, al
}

// BenchmarkWriteFastPath: one local write's bookkeeping on a hot extent:
// get_ldev, al_begin_io, al_complete_io, put_ldev.
func BenchmarkWriteFastPath(b *testing.B) {
	d, al := benchDevice(b)
	b.ReportAllocs()
	for b.Loop() {
		if !d.GetLdev() {
			b.Fatal("get_ldev")
		}
		al.BeginIO(3)
		al.CompleteIO(3)
		d.PutLdev()
	}
}

// BenchmarkWriteFastPathWithGate adds the application-IO gate
// (inc_ap_bio / dec_ap_bio) around it.
func BenchmarkWriteFastPathWithGate(b *testing.B) {
	d, al := benchDevice(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.IncApBio(ctx); err != nil {
			b.Fatal(err)
		}
		if !d.GetLdev() {
			b.Fatal("get_ldev")
		}
		al.BeginIO(3)
		al.CompleteIO(3)
		d.PutLdev()
		d.DecApBio()
	}
}

// BenchmarkWriteFastPathParallel: the same from GOMAXPROCS goroutines on
// one device and one hot extent (lock contention).
func BenchmarkWriteFastPathParallel(b *testing.B) {
	d, al := benchDevice(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !d.GetLdev() {
				b.Fatal("get_ldev")
			}
			al.BeginIO(3)
			al.CompleteIO(3)
			d.PutLdev()
		}
	})
}

// TestWriteFastPathAllocs pins the 0-allocation property (not a timing).
func TestWriteFastPathAllocs(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) {
		d, al := benchDevice(b)
		b.ReportAllocs()
		for b.Loop() {
			d.GetLdev()
			al.BeginIO(3)
			al.CompleteIO(3)
			d.PutLdev()
		}
	})
	if a := res.AllocsPerOp(); a != 0 {
		t.Fatalf("write fast path allocates %d times per op", a)
	}
}
