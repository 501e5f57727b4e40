package statemachine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"udrbd/drbd"
)

// A rules: after_state_ch of drbd_state.c (local-disk and role part).
func TestAfterStateChange(t *testing.T) {
	sa := st(Sec, Unk, drbd.CStandAlone, drbd.DUpToDate, drbd.DUnknown)
	con := st(Sec, Sec, drbd.CConnected, drbd.DUpToDate, drbd.DUpToDate)
	with := func(s drbd.State, f func(*drbd.State)) drbd.State { f(&s); return s }
	failed := with(sa, func(s *drbd.State) { s.Disk = drbd.DFailed })
	conFailed := with(con, func(s *drbd.State) { s.Disk = drbd.DFailed })
	ldev := AfterInputs{HaveLdev: true, OnIOError: drbd.EPCallHelper}
	k := func(kinds ...EffectKind) []EffectKind { return kinds }
	tests := []struct {
		rule   string
		os, ns drbd.State
		in     AfterInputs
		want   []EffectKind
		helper string
	}{
		{"A1 primary without UpToDate data", with(con, func(s *drbd.State) { s.Disk = drbd.DDiskless; s.Pdsk = drbd.DInconsistent }),
			with(con, func(s *drbd.State) { s.Role = Pri; s.Disk = drbd.DDiskless; s.Pdsk = drbd.DInconsistent }), AfterInputs{},
			k(EffHelper, EffMDSync), "pri-on-incon-degr"},
		{"A2 peer attached", with(con, func(s *drbd.State) { s.Pdsk = drbd.DDiskless }), con, AfterInputs{},
			k(EffCancelResync, EffSendUUIDs, EffSendState, EffMDSync), ""},
		{"A3 demote writes the bitmap", with(sa, func(s *drbd.State) { s.Role = Pri }), sa, AfterInputs{},
			k(EffBitmapWrite, EffMDSync), ""},
		{"A4 attach while connected", with(con, func(s *drbd.State) { s.Disk = drbd.DAttaching }), with(con, func(s *drbd.State) { s.Disk = drbd.DNegotiating }), AfterInputs{},
			k(EffSendSizes, EffSendUUIDs, EffSendState, EffMDSync), ""},
		{"A5 admin detach", sa, failed, AfterInputs{HaveLdev: true, OnIOError: drbd.EPCallHelper},
			k(EffCancelResync, EffMDSync, effPutLdev, EffMDSync), ""},
		{"A5 IO error with call-local-io-error: helper first", sa, failed, AfterInputs{HaveLdev: true, OnIOError: drbd.EPCallHelper, WasIOError: true},
			k(EffHelper, EffCancelResync, EffMDSync, effPutLdev, EffMDSync), "local-io-error"},
		{"A5 IO error with detach: no helper", sa, failed, AfterInputs{HaveLdev: true, OnIOError: drbd.EPDetach, WasIOError: true},
			k(EffCancelResync, EffMDSync, effPutLdev, EffMDSync), ""},
		{"A5 force detach aborts, connected sends state", con, conFailed, AfterInputs{HaveLdev: true, ForceDetach: true},
			k(EffAbortDiskIO, EffSendState, EffCancelResync, EffMDSync, effPutLdev, EffMDSync), ""},
		{"A5 no ldev: only the reference", sa, failed, AfterInputs{},
			k(effPutLdev, EffMDSync), ""},
		{"A6 diskless", failed, with(sa, func(s *drbd.State) { s.Disk = drbd.DDiskless }), ldev,
			k(effPutLdev, EffMDSync), ""},
		{"A6 connected tells the peer", conFailed, with(con, func(s *drbd.State) { s.Disk = drbd.DDiskless }), ldev,
			k(EffSendState, effPutLdev, EffMDSync), ""},
		{"A7 pass_on error while connected", con, with(con, func(s *drbd.State) { s.Disk = drbd.DInconsistent }), ldev,
			k(EffSendState, EffMDSync), ""},
		{"A8 nothing else", sa, with(sa, func(s *drbd.State) { s.Susp = true }), ldev, k(EffMDSync), ""},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			got := AfterStateChange(tc.os, tc.ns, tc.in)
			var kinds []EffectKind
			helper := ""
			for _, e := range got {
				kinds = append(kinds, e.Kind)
				if e.Kind == EffHelper {
					helper = e.Helper
				}
			}
			if diff := cmp.Diff(tc.want, kinds); diff != "" {
				t.Fatalf("effects (-want +got):\n%s", diff)
			}
			if helper != tc.helper {
				t.Fatalf("helper %q, want %q", helper, tc.helper)
			}
		})
	}
}
