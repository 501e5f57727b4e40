package failover

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 30, 45, 123456000, time.FixedZone("", 3600))
	ev := func(action, object, res string, peer, vol, minor int, fields map[string]string) Event {
		if fields == nil {
			fields = map[string]string{}
		}
		return Event{Action: action, Object: object, Resource: res, PeerNodeID: peer, Volume: vol, Minor: minor, Fields: fields}
	}
	withTime := func(e Event) Event { e.Time = ts; return e }
	withConn := func(e Event) Event { e.ConnName = "peer"; return e }
	tests := []struct {
		name string
		line string
		want Event
	}{
		{"resource", "exists resource name:r0 role:Primary suspended:no",
			ev("exists", "resource", "r0", -1, -1, -1, map[string]string{"role": "Primary", "suspended": "no"})},
		{"connection", "exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Secondary",
			withConn(ev("exists", "connection", "r0", 0, -1, -1, map[string]string{"connection": "Connected", "role": "Secondary"}))},
		{"device", "exists device name:r0 volume:0 minor:1 disk:UpToDate",
			ev("exists", "device", "r0", -1, 0, 1, map[string]string{"disk": "UpToDate"})},
		{"peer device", "change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown",
			withConn(ev("change", "peer-device", "r0", 0, 0, -1, map[string]string{"replication": "Off", "peer-disk": "DUnknown"}))},
		{"connection without address", "change connection name:r0 peer-node-id:0 connection:StandAlone",
			ev("change", "connection", "r0", 0, -1, -1, map[string]string{"connection": "StandAlone"})},
		{"destroy", "destroy device name:r0 volume:1 minor:7",
			ev("destroy", "device", "r0", -1, 1, 7, nil)},
		{"helper call", "call helper name:r0 peer-node-id:0 conn-name:peer helper:fence-peer",
			withConn(ev("call", "helper", "r0", 0, -1, -1, map[string]string{"helper": "fence-peer"}))},
		{"helper response", "response helper name:r0 peer-node-id:0 conn-name:peer volume:0 minor:1 helper:fence-peer status:1024",
			withConn(ev("response", "helper", "r0", 0, 0, 1, map[string]string{"helper": "fence-peer", "status": "1024"}))},
		{"timestamp", "2026-03-01T12:30:45.123456+01:00 change resource name:r0 role:Secondary",
			withTime(ev("change", "resource", "r0", -1, -1, -1, map[string]string{"role": "Secondary"}))},
		{"end of dump", "exists -", Event{Action: "exists", InitialDone: true, PeerNodeID: -1, Volume: -1, Minor: -1}},
		{"end of dump with timestamp", "2026-03-01T12:30:45.123456+01:00 exists -",
			Event{Time: ts, Action: "exists", InitialDone: true, PeerNodeID: -1, Volume: -1, Minor: -1}},
		{"skipped", "- skipped 3", Event{Skipped: 3, PeerNodeID: -1, Volume: -1, Minor: -1}},
		{"value with colon", "change resource name:r0 x:a:b", ev("change", "resource", "r0", -1, -1, -1, map[string]string{"x": "a:b"})},
		{"extra blanks", "  change   resource  name:r0   role:Primary ", ev("change", "resource", "r0", -1, -1, -1, map[string]string{"role": "Primary"})},
		{"empty value", "change resource name:r0 suspended:", ev("change", "resource", "r0", -1, -1, -1, map[string]string{"suspended": ""})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time %v, want %v", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseLine(%q) (-want +got):\n%s", tt.line, d)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", "empty line"},
		{"   ", "empty line"},
		{"rename resource name:r0", "unknown action"},
		{"change", "without an object"},
		{"change path name:r0", "unknown object"},
		{"change resource role:Primary", "without name:"},
		{"change resource name:r0 role", "malformed field"},
		{"change resource name:r0 :x", "malformed field"},
		{"change device name:r0 minor:1 disk:UpToDate", "without volume:"},
		{"change peer-device name:r0 peer-disk:UpToDate", "without volume:"},
		{"change device name:r0 volume:x", "malformed volume"},
		{"change device name:r0 volume:-1", "malformed volume"},
		{"change device name:r0 volume:0 minor:99999999999", "malformed minor"},
		{"change connection name:r0 peer-node-id:z", "malformed peer-node-id"},
		{"change -", "malformed end-of-dump"},
		{"exists - extra", "malformed end-of-dump"},
		{"- skipped", "malformed skip line"},
		{"- skipped x", "malformed skip count"},
		{"2026-13-01T00:00:00+00:00 exists -", "malformed timestamp"},
		{"2026-03-01T00:00:00+00:00", "timestamp without event"},
	}
	for _, tt := range tests {
		_, err := ParseLine(tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseLine(%q) = %v, want an error containing %q", tt.line, err, tt.want)
		}
	}
}

// applyAll parses and applies lines; a line that does not parse fails t.
func applyAll(t testing.TB, v *View, lines ...string) {
	t.Helper()
	for _, l := range lines {
		ev, err := ParseLine(l)
		if err != nil {
			t.Fatalf("ParseLine(%q): %v", l, err)
		}
		v.Apply(ev)
	}
}

func TestViewApply(t *testing.T) {
	v := NewView()
	applyAll(t, v,
		"exists resource name:r0 role:Secondary suspended:no",
		"exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Primary",
		"exists device name:r0 volume:0 minor:1 disk:UpToDate",
		"exists device name:r0 volume:1 minor:2 disk:UpToDate",
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:1 replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists resource name:other role:Primary suspended:no",
	)
	if v.Complete {
		t.Fatal("complete before exists -")
	}
	applyAll(t, v, "exists -")
	if !v.Complete {
		t.Fatal("not complete after exists -")
	}
	applyAll(t, v,
		// only changed fields are printed on change lines
		"change connection name:r0 peer-node-id:0 conn-name:peer connection:NetworkFailure role:Unknown",
		"change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown",
		"change peer-device name:r0 peer-node-id:0 conn-name:peer volume:1 replication:Off",
		"call helper name:r0 peer-node-id:0 conn-name:peer helper:fence-peer",
		"change connection name:r0 peer-node-id:0 conn-name:peer connection:Connecting",
		"destroy resource name:other",
		"change device name:r0 volume:1 minor:2 disk:Outdated",
	)
	want := &Resource{
		Name: "r0", Role: "Secondary", Suspended: "no",
		Devices: map[int]*Device{0: {Volume: 0, Minor: 1, Disk: "UpToDate"}, 1: {Volume: 1, Minor: 2, Disk: "Outdated"}},
		Connections: map[int]*Connection{0: {PeerNodeID: 0, Name: "peer", State: "Connecting", PeerRole: "Unknown",
			PeerDevices: map[int]*PeerDevice{
				0: {Volume: 0, Replication: "Off", PeerDisk: "DUnknown"},
				1: {Volume: 1, Replication: "Off", PeerDisk: "UpToDate"},
			}}},
	}
	if d := cmp.Diff(want, v.Resources["r0"]); d != "" {
		t.Errorf("r0 (-want +got):\n%s", d)
	}
	if _, ok := v.Resources["other"]; ok {
		t.Error("destroyed resource still in the view")
	}
	if got, want := v.Resources["r0"].String(), "r0 role:Secondary peer0:Connecting/Unknown vol0(minor:1):UpToDate vol1(minor:2):Outdated peer0-vol0:Off/DUnknown peer0-vol1:Off/UpToDate"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// a clone is deep
	c := v.Resources["r0"].Clone()
	c.Devices[0].Disk = "Failed"
	c.Connections[0].PeerDevices[0].PeerDisk = "UpToDate"
	if v.Resources["r0"].Devices[0].Disk != "UpToDate" || v.Resources["r0"].Connections[0].PeerDevices[0].PeerDisk != "DUnknown" {
		t.Error("Clone shares state with the original")
	}

	// the connection goes away (disconnect): its peer devices go with it
	applyAll(t, v,
		"destroy peer-device name:r0 peer-node-id:0 conn-name:peer volume:0",
		"destroy connection name:r0 peer-node-id:0 conn-name:peer",
		"destroy device name:r0 volume:1 minor:2",
	)
	r := v.Resources["r0"]
	if len(r.Connections) != 0 || len(r.Devices) != 1 {
		t.Errorf("after destroy: %s", r)
	}
	// an object that changes before its create line is created
	applyAll(t, v, "change peer-device name:r1 peer-node-id:0 volume:0 peer-disk:Outdated")
	if pd := v.Resources["r1"].Connections[0].PeerDevices[0]; pd.PeerDisk != "Outdated" {
		t.Errorf("peer device of r1: %+v", pd)
	}
	// destroying the unknown is harmless
	applyAll(t, v, "destroy resource name:nope", "destroy peer-device name:r0 peer-node-id:3 volume:0")
	var nilRes *Resource
	if nilRes.String() == "" || nilRes.Clone() != nil {
		t.Error("nil resource")
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"exists resource name:r0 role:Primary suspended:no",
		"exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Secondary",
		"exists device name:r0 volume:0 minor:1 disk:UpToDate",
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists -",
		"2026-03-01T12:30:45.123456+01:00 change resource name:r0 role:Secondary",
		"- skipped 2",
		"response helper name:r0 peer-node-id:0 conn-name:peer helper:fence-peer status:1024",
		"destroy connection name:r0 peer-node-id:0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := ParseLine(line)
		again, err2 := ParseLine(line)
		if (err == nil) != (err2 == nil) || !cmp.Equal(ev, again) {
			t.Fatalf("ParseLine is not deterministic for %q", line)
		}
		if err != nil {
			return
		}
		switch {
		case ev.Skipped > 0, ev.InitialDone:
			return
		}
		if ev.Resource == "" || !eventActions[ev.Action] || !eventObjects[ev.Object] {
			t.Fatalf("accepted %q as %+v", line, ev)
		}
		if (ev.Object == "device" || ev.Object == "peer-device") && ev.Volume < 0 {
			t.Fatalf("accepted a %s without volume: %q", ev.Object, line)
		}
		// applying any accepted event to a view must not panic, and the
		// resource it names is what Apply reports
		v := NewView()
		if name := v.Apply(ev); name != ev.Resource {
			t.Fatalf("Apply reported %q for %q", name, ev.Resource)
		}
		_ = v.Resources[ev.Resource].String()
	})
}
