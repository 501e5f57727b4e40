package statemachine

import (
	"context"
	"testing"

	"pgregory.net/rapid"
	"udrbd/drbd"
)

type randPeer struct{ t *rapid.T }

func (p randPeer) RequestStateChange(context.Context, Change) drbd.StateRV {
	if rapid.Bool().Draw(p.t, "peer agrees") {
		return drbd.SSCWSuccess
	}
	return drbd.SSCWFailedByPeer
}
func (p randPeer) TryOutdatePeer(context.Context) bool { return false }

func drawState(t *rapid.T, label string) drbd.State {
	return drbd.State{
		Role:    drbd.Role(rapid.IntRange(1, 2).Draw(t, label+".role")),
		Peer:    drbd.Role(rapid.IntRange(0, 2).Draw(t, label+".peer")),
		Conn:    drbd.ConnState(rapid.IntRange(0, int(drbd.CBehind)).Draw(t, label+".conn")),
		Disk:    drbd.DiskState(rapid.SampledFrom([]int{0, 1, 2, 3, 4, 5, 7, 8}).Draw(t, label+".disk")),
		Pdsk:    drbd.DiskState(rapid.IntRange(0, 8).Draw(t, label+".pdsk")),
		Susp:    rapid.Bool().Draw(t, label+".susp"),
		UserIsp: rapid.Bool().Draw(t, label+".user_isp"),
		AftrIsp: rapid.Bool().Draw(t, label+".aftr_isp"),
		PeerIsp: rapid.Bool().Draw(t, label+".peer_isp"),
	}
}

func drawChange(t *rapid.T) Change {
	var ch Change
	if rapid.Bool().Draw(t, "set role") {
		ch = ch.And(NSRole(drbd.Role(rapid.IntRange(1, 2).Draw(t, "role"))))
	}
	if rapid.Bool().Draw(t, "set conn") {
		ch = ch.And(NSConn(drbd.ConnState(rapid.IntRange(0, int(drbd.CBehind)).Draw(t, "conn"))))
	}
	if rapid.Bool().Draw(t, "set disk") {
		ch = ch.And(NSDisk(drbd.DiskState(rapid.IntRange(0, 8).Draw(t, "disk"))))
	}
	if rapid.Bool().Draw(t, "set pdsk") {
		ch = ch.And(NSPdsk(drbd.DiskState(rapid.IntRange(0, 8).Draw(t, "pdsk"))))
	}
	if rapid.Bool().Draw(t, "set susp") {
		ch = ch.And(NSSusp(rapid.Bool().Draw(t, "susp")))
	}
	if rapid.Bool().Draw(t, "set user_isp") {
		ch = ch.And(NSUserIsp(rapid.Bool().Draw(t, "user_isp")))
	}
	return ch
}

// Property: from any valid state, under any configuration, a sequence of
// requested (non-hard) changes, each answered by a random peer where it is
// cluster-wide, never commits a state that is_valid_state rejects.
func TestRequestsNeverCommitInvalidState(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		conf := Config{
			HaveNetConf:      rapid.Bool().Draw(t, "net_conf"),
			TwoPrimaries:     rapid.Bool().Draw(t, "two_primaries"),
			Fencing:          drbd.FencingPolicy(rapid.IntRange(0, 2).Draw(t, "fencing")),
			OnNoData:         drbd.OnNoData(rapid.IntRange(0, 1).Draw(t, "on_no_data")),
			VerifyAlg:        rapid.Bool().Draw(t, "verify_alg"),
			AgreedProVersion: rapid.IntRange(86, 101).Draw(t, "proto"),
		}
		d := New(nil, randPeer{t}, conf)
		defer d.Close()
		d.SetOpenCount(rapid.IntRange(0, 1).Draw(t, "open"))

		// A random valid start state (sanitized like any committed state).
		d.mu.Lock()
		s := drawState(t, "start")
		d.st = s
		env := d.envLocked()
		s, _ = Sanitize(&env, s, s)
		d.st = s
		env = d.envLocked()
		valid := IsValidState(&env, s) >= drbd.SSSuccess
		if s.Disk >= drbd.DFailed {
			d.ldev = "disk"
		}
		d.mu.Unlock()
		if !valid {
			t.Skip("invalid start state")
		}

		n := rapid.IntRange(1, 30).Draw(t, "requests")
		for i := 0; i < n; i++ {
			before := d.State()
			ch := drawChange(t)
			rv := d.reqState(context.Background(), ch, CSVerbose)
			if err := d.WaitIdle(context.Background()); err != nil {
				t.Fatal(err)
			}
			after := d.State()
			env := d.Env()
			if after != before {
				if vrv := IsValidState(&env, after); vrv < drbd.SSSuccess {
					t.Fatalf("request %d: %v -> %v (rv %v) committed a state is_valid_state rejects: %v",
						i, before, after, rv, vrv)
				}
			}
			if rv < drbd.SSSuccess && after != before && d.LocalCount() == 0 {
				// A refused request must not change the state (the worker's
				// go_diskless after an accepted D_FAILED is the only other mover).
				t.Fatalf("request %d refused (%v) but state moved %v -> %v", i, rv, before, after)
			}
		}
	})
}
