package statemachine

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udrbd/actlog"
	"udrbd/drbd"
)

var (
	stressCycles  = flag.Int("stress.cycles", 1000, "attach/detach cycles in TestStress* (-short: 100)")
	stressWriters = flag.Int("stress.writers", 64, "concurrent writers in TestStress*")
	stressHang    = flag.Duration("stress.hang", 60*time.Second, "TestStress* fails as hung if it does not finish in this time")
)

// A fake backing device: its own activity log, closed exactly once by the
// ldev destroy.
type stressLdev struct {
	gen    int
	al     *actlog.Log
	closed atomic.Bool
}

type stressExec struct {
	violate func(string, ...any)
	mu      sync.Mutex
	closed  int
}

func (e *stressExec) Execute(d *Device, ef Effect) error {
	if ef.Kind == EffDestroyLdev {
		l := ef.Ldev.(*stressLdev)
		if l.closed.Swap(true) {
			e.violate("ldev %d destroyed twice", l.gen)
		}
		if n := l.al.InUse(); n != 0 {
			e.violate("ldev %d destroyed with %d writes in its activity log", l.gen, n)
		}
		e.mu.Lock()
		e.closed++
		e.mu.Unlock()
	}
	return nil
}

type stressResult struct {
	cycles, writes, diskWrites, ioErrors int64
	alWaits, alTransactions              uint64
	maxDetach                            time.Duration
	violations                           []string
}

// runStress is the seed scenario: many writers through an activity log
// with al-extents=7 while attach/detach cycles run, optionally with
// injected IO errors. It returns what it saw; hung reports a timeout.
func runStress(t *testing.T, cycles, writers int, ioErrors bool) (res stressResult, hung bool) {
	// Violations are counted per kind; the first instance is kept.
	var vmu sync.Mutex
	kinds := map[string]int{}
	first := map[string]string{}
	var order []string
	violate := func(f string, a ...any) {
		vmu.Lock()
		if kinds[f] == 0 {
			order = append(order, f)
			first[f] = fmt.Sprintf(f, a...)
		}
		kinds[f]++
		vmu.Unlock()
	}
	defer func() {
		vmu.Lock()
		for _, f := range order {
			res.violations = append(res.violations, fmt.Sprintf("%d× %s", kinds[f], first[f]))
		}
		vmu.Unlock()
	}()
	exec := &stressExec{violate: violate}
	d := New(exec, nil, Config{OnIOError: drbd.EPDetach})

	// Every committed change must be a valid transition into a valid state,
	// and the local disk must follow the seed's rules.
	d.Subscribe(func(c StateChange) {
		env := Env{CurDisk: c.New.Disk}
		if rv := IsValidState(&env, c.New); rv < drbd.SSSuccess {
			violate("invalid state committed: %v (%v)", c.New, rv)
		}
		if rv := IsValidTransition(c.Old, c.New); rv < drbd.SSSuccess {
			violate("invalid transition %v -> %v (%v)", c.Old, c.New, rv)
		}
		if c.Old.Disk == drbd.DFailed && c.New.Disk != drbd.DDiskless {
			violate("left Failed for %v", c.New.Disk)
		}
		if c.Old.Disk == drbd.DAttaching && c.New.Disk == drbd.DFailed {
			violate("Attaching passed through Failed")
		}
		if c.Old.Disk >= drbd.DInconsistent && c.New.Disk == drbd.DDiskless {
			violate("%v -> Diskless without going through Failed", c.Old.Disk)
		}
	})

	var gen atomic.Int64
	var ldevs sync.Map // gen -> *stressLdev
	params := func() AttachParams {
		return AttachParams{
			Open: func() (any, uint32, drbd.RetCode) {
				g := int(gen.Add(1))
				l := &stressLdev{gen: g, al: actlog.New(7, &actlog.MemWriter{})}
				ldevs.Store(g, l)
				return l, drbd.MDFConsistent | drbd.MDFWasUpToDate, drbd.NoError
			},
			OnIOError: drbd.EPDetach,
			Fencing:   drbd.FPDontCare,
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes, diskWrites, nIOErr atomic.Int64
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 42))
			for !stop.Load() {
				if err := d.IncApBio(ctx); err != nil {
					return // the test is over (hang timeout)
				}
				writes.Add(1)
				if d.GetLdev() {
					l, ok := d.Ldev().(*stressLdev)
					if !ok {
						violate("reference held but no ldev")
						d.PutLdev()
						d.DecApBio()
						continue
					}
					enr := uint32(r.IntN(64))
					l.al.BeginIO(enr)
					s := d.State()
					if s.Disk < drbd.DFailed {
						violate("application reference held while %v", s.Disk)
					}
					if l.closed.Load() {
						violate("writing to destroyed ldev %d", l.gen)
					}
					if cur := d.Ldev(); cur != any(l) {
						violate("ldev %d replaced while referenced", l.gen)
					}
					diskWrites.Add(1)
					if ioErrors && r.IntN(2000) == 0 {
						nIOErr.Add(1)
						d.IOError(WriteError)
					}
					if r.IntN(8) == 0 {
						runtime.Gosched()
					}
					l.al.CompleteIO(enr)
					d.PutLdev()
					d.DecApBio()
					continue
				}
				// No local disk: the request fails (or would go to the
				// peer); don't spin on the device lock meanwhile.
				d.DecApBio()
				time.Sleep(20 * time.Microsecond)
			}
		}(uint64(w))
	}

	done := make(chan struct{})
	var maxDetach time.Duration
	var nCycles int64
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < cycles; i++ {
			if rc := d.Attach(ctx, params()); rc != drbd.Reply(drbd.NoError) {
				if ctx.Err() != nil {
					return
				}
				violate("cycle %d: attach = %v", i, rc)
				return
			}
			for j := r.IntN(20); j > 0; j-- {
				runtime.Gosched()
			}
			if ioErrors && r.IntN(10) == 0 {
				// --force returns at once (the disk stays Failed until the
				// references drain); a plain detach then waits for that.
				if rc := d.Detach(ctx, true); rc != drbd.Reply(drbd.SSSuccess) {
					violate("cycle %d: detach --force = %v", i, rc)
				}
			}
			start := time.Now()
			rc := d.Detach(ctx, false)
			if el := time.Since(start); el > maxDetach {
				maxDetach = el
			}
			if rc != drbd.Reply(drbd.SSSuccess) && rc != drbd.Reply(drbd.SSNothingToDo) {
				if ctx.Err() != nil {
					return
				}
				violate("cycle %d: detach = %v", i, rc)
			}
			if s := d.State(); s.Disk != drbd.DDiskless {
				violate("cycle %d: disk %v after detach", i, s.Disk)
			}
			nCycles++
		}
	}()

	timeout := time.NewTimer(*stressHang)
	defer timeout.Stop()
	select {
	case <-done:
	case <-timeout.C:
		hung = true
	}
	stop.Store(true)
	if hung {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Logf("hung; goroutines:\n%s", buf[:n])
		cancel()
		return res, true
	}
	// Writers must all finish: none may wait forever.
	wdone := make(chan struct{})
	go func() { wg.Wait(); close(wdone) }()
	select {
	case <-wdone:
	case <-timeout.C:
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Logf("writers hung; goroutines:\n%s", buf[:n])
		cancel()
		return res, true
	}
	// Final teardown.
	d.Detach(ctx, false)
	if err := d.WaitIdle(ctx); err != nil {
		return res, true
	}
	if n := d.LocalCount(); n != 0 {
		violate("local_cnt = %d at the end", n)
	}
	ldevs.Range(func(k, v any) bool {
		l := v.(*stressLdev)
		if !l.closed.Load() {
			violate("ldev %d never released", k)
		}
		st := l.al.Stats()
		res.alWaits += st.Waits
		res.alTransactions += st.Transactions
		return true
	})
	d.Close()
	res.cycles = nCycles
	res.writes = writes.Load()
	res.diskWrites = diskWrites.Load()
	res.ioErrors = nIOErr.Load()
	res.maxDetach = maxDetach
	return res, false
}

func stressCheck(t *testing.T, ioErrors bool) {
	cycles := *stressCycles
	if testing.Short() && cycles > 100 {
		cycles = 100
	}
	res, hung := runStress(t, cycles, *stressWriters, ioErrors)
	if hung {
		t.Fatalf("hung after %v (cycles done: %d)", *stressHang, res.cycles)
	}
	for _, v := range res.violations {
		t.Error(v)
	}
	t.Logf("cycles %d, application writes %d, to disk %d, injected IO errors %d, AL transactions %d, writers parked in al_begin_io %d times, slowest detach %v",
		res.cycles, res.writes, res.diskWrites, res.ioErrors, res.alTransactions, res.alWaits, res.maxDetach)
	if res.cycles != int64(cycles) {
		t.Fatalf("%d of %d cycles", res.cycles, cycles)
	}
	// The bound: no detach takes longer than 1 s.
	if res.maxDetach > time.Second {
		t.Fatalf("slowest detach took %v (> 1s)", res.maxDetach)
	}
	if res.diskWrites == 0 || res.alWaits == 0 {
		t.Fatal("no write reached the disk or no activity-log contention: the test exercised nothing")
	}
}

// TestStress: 64 writers through an activity log with al-extents=7 while
// another goroutine attaches and detaches 1000 times.
func TestStress(t *testing.T) { stressCheck(t, false) }

// TestStressIOErrors: the same with injected write errors (on-io-error
// detach) and occasional detach --force.
func TestStressIOErrors(t *testing.T) { stressCheck(t, true) }
