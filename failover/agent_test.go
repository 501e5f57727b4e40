package failover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSys is a System that records what it is asked to do and plays a
// tiny DRBD: a successful primary/secondary is followed by the role change
// on the events2 stream, mount and umount change the mount table.
type fakeSys struct {
	mu      sync.Mutex
	calls   []string          // every Run/address call but drbdsetup show
	shows   int               // drbdsetup show calls
	fails   map[string]int    // call -> failures left (-1: for ever)
	failOut map[string]string // call -> its output when it fails
	show    string            // drbdsetup show output
	mounted map[string]bool
	streams int
	kill    chan struct{} // a send ends the current events2 stream
	lines   chan string   // what events2 prints
}

func newFakeSys(show string) *fakeSys {
	return &fakeSys{
		fails: map[string]int{}, failOut: map[string]string{}, show: show, mounted: map[string]bool{},
		kill: make(chan struct{}), lines: make(chan string, 1000),
	}
}

func (f *fakeSys) failing(call string, times int, out string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[call] = times
	f.failOut[call] = out
}

func (f *fakeSys) setShow(s string) {
	f.mu.Lock()
	f.show = s
	f.mu.Unlock()
}

// record notes a call and tells whether it is to fail.
func (f *fakeSys) record(call string) (fail bool, out string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	switch n := f.fails[call]; {
	case n < 0:
		return true, f.failOut[call]
	case n > 0:
		f.fails[call] = n - 1
		return true, f.failOut[call]
	}
	return false, ""
}

func (f *fakeSys) Run(_ context.Context, argv ...string) ([]byte, error) {
	call := strings.Join(argv, " ")
	if len(argv) == 3 && argv[1] == "show" {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.shows++
		return []byte(f.show), nil
	}
	if fail, out := f.record(call); fail {
		return []byte(out), errors.New("exit status 11")
	}
	switch {
	case len(argv) == 3 && argv[1] == "primary":
		f.lines <- "change resource name:r0 role:Primary"
	case len(argv) == 3 && argv[1] == "secondary":
		f.lines <- "change resource name:r0 role:Secondary"
	case argv[0] == "mount":
		f.mu.Lock()
		f.mounted[argv[len(argv)-1]] = true
		f.mu.Unlock()
	case argv[0] == "umount":
		f.mu.Lock()
		f.mounted[argv[1]] = false
		f.mu.Unlock()
	}
	return nil, nil
}

func (f *fakeSys) Stream(ctx context.Context, argv ...string) (io.Reader, func() error, error) {
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	if d := cmp.Diff([]string{"drbdsetup", "events2", "--timestamps", "all"}, argv); d != "" {
		return nil, nil, fmt.Errorf("unexpected events2 command (-want +got):\n%s", d)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case l := <-f.lines:
				if _, err := io.WriteString(pw, l+"\n"); err != nil {
					return
				}
			case <-f.kill:
				pw.Close()
				return
			case <-ctx.Done():
				pw.CloseWithError(ctx.Err())
				return
			}
		}
	}()
	return pr, func() error { <-done; return nil }, nil
}

func (f *fakeSys) Mounted(mp string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mounted[mp], nil
}

func (f *fakeSys) addrCall(call string) error {
	if fail, out := f.record(call); fail {
		return errors.New(out)
	}
	return nil
}

func (f *fakeSys) AddAddress(iface string, p netip.Prefix) error {
	return f.addrCall("addr add " + iface + " " + p.String())
}

func (f *fakeSys) DelAddress(iface string, p netip.Prefix) error {
	return f.addrCall("addr del " + iface + " " + p.String())
}

func (f *fakeSys) Announce(_ context.Context, iface string, a netip.Addr, count int, _ time.Duration) error {
	return f.addrCall(fmt.Sprintf("arp %s %s %d", iface, a, count))
}

func (f *fakeSys) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// syncBuffer is a goroutine-safe bytes.Buffer for the log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type decided struct {
	in Input
	d  Decision
}

type harness struct {
	t         *testing.T
	sys       *fakeSys
	log       *syncBuffer
	dry       *syncBuffer
	decisions chan decided
	cancel    context.CancelFunc
	done      chan struct{}
}

// The resource every test uses: one volume, minor 0, a filesystem, two
// start steps and an address.
const testConfig = `
node-name = "beta"
[promoter.resources.r0]
start = ["start-a", "start-b"]
stop = ["stop-a", "stop-b"]
preferred-nodes = ["alpha", "beta"]
promote-retry-interval = "50ms"
timeout = "5s"
drbd-timeout = "2s"
[promoter.resources.r0.filesystem]
device = "/dev/drbd0"
mountpoint = "/srv/r0"
fstype = "ext4"
options = "noatime"
[promoter.resources.r0.address]
ip = "192.168.122.100/24"
interface = "eth0"
`

const (
	showFenced = "resource r0 {\n    _this_host {\n        volume 0 {\n            device\t\t\tminor 0;\n            disk {\n                fencing         \tresource-only;\n            }\n        }\n    }\n}\n"
	showPlain  = "resource r0 {\n    _this_host {\n        volume 0 {\n            device\t\t\tminor 0;\n        }\n    }\n}\n"
)

// connectedTo is the initial dump of r0: this node Secondary with a local
// disk in state disk, connected to a Primary peer.
func connectedTo(disk string) []string {
	return []string{
		"exists resource name:r0 role:Secondary suspended:no",
		"exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Primary",
		"exists device name:r0 volume:0 minor:0 disk:" + disk,
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists -",
	}
}

// peerLost is what events2 prints when the peer dies (peer disk as given:
// DUnknown after a crash, Outdated if it was outdated before).
func peerLost(peerDisk string) []string {
	return []string{
		"2026-03-01T12:00:00.000001+00:00 change connection name:r0 peer-node-id:0 conn-name:peer connection:NetworkFailure role:Unknown",
		"2026-03-01T12:00:00.000001+00:00 change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:" + peerDisk,
		"2026-03-01T12:00:00.100000+00:00 change connection name:r0 peer-node-id:0 conn-name:peer connection:Unconnected",
		"2026-03-01T12:00:00.200000+00:00 change connection name:r0 peer-node-id:0 conn-name:peer connection:Connecting",
	}
}

var (
	bringUpCalls = []string{
		"drbdsetup primary 0",
		"mount -t ext4 -o noatime /dev/drbd0 /srv/r0",
		"sh -c start-a",
		"sh -c start-b",
		"addr add eth0 192.168.122.100/24",
		"arp eth0 192.168.122.100 3",
	}
	teardownCalls = []string{
		"addr del eth0 192.168.122.100/24",
		"sh -c stop-b",
		"sh -c stop-a",
		"umount /srv/r0",
		"drbdsetup secondary 0",
	}
)

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

func startAgent(t *testing.T, cfgText string, sys *fakeSys, dryRun bool) *harness {
	t.Helper()
	cfg, err := ParseConfig([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, sys: sys, log: &syncBuffer{}, dry: &syncBuffer{}, decisions: make(chan decided, 10000), done: make(chan struct{})}
	a := New(Options{
		Config: cfg, System: sys, DryRun: dryRun, DryRunOut: h.dry,
		Log:     slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Unit:    time.Millisecond,
		Backoff: 5 * time.Millisecond,
		OnDecision: func(_ string, in Input, d Decision) {
			select {
			case h.decisions <- decided{in, d}:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { defer close(h.done); _ = a.Run(ctx) }()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", h.log.String())
		}
	})
	return h
}

func (h *harness) emit(lines ...string) {
	for _, l := range lines {
		h.sys.lines <- l
	}
}

func (h *harness) stop() {
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		h.t.Fatal("agent did not stop")
	}
}

// expectCalls waits until at least len(want) calls were made, lets a
// moment pass for stray extra calls, and compares.
func (h *harness) expectCalls(want []string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.sys.snapshot()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	if d := cmp.Diff(want, h.sys.snapshot()); d != "" {
		h.t.Fatalf("calls (-want +got):\n%s", d)
	}
}

// waitDecision waits for a decision that pred accepts.
func (h *harness) waitDecision(pred func(Input, Decision) bool) Decision {
	h.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case x := <-h.decisions:
			if pred(x.in, x.d) {
				return x.d
			}
		case <-timeout:
			h.t.Fatal("no such decision")
		}
	}
}

// afterLoss accepts a decision made once the peer was seen Connecting.
func afterLoss(in Input, _ Decision) bool {
	if in.Res == nil {
		return false
	}
	c := in.Res.Connections[0]
	return c != nil && c.State == ConnConnecting
}

func TestAgentNodeLossPromotes(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	d := h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	if d.Promote {
		t.Fatalf("promoting while connected to a Primary: %+v", d)
	}
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	if !strings.Contains(h.log.String(), "peer to be fenced by DRBD") {
		t.Error("the log does not say the promotion relies on fencing")
	}
	h.stop()
	h.expectCalls(concat(bringUpCalls, teardownCalls))
}

func TestAgentPeerOutdatedPromotesWithoutFencing(t *testing.T) {
	sys := newFakeSys(showPlain)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskOutdated)...)
	h.expectCalls(bringUpCalls)
}

func TestAgentPeerPrimaryNoPromote(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	d := h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	if d.Promote || !strings.Contains(d.Reason, "peer 0 is Primary") {
		t.Fatalf("decision %+v", d)
	}
	// the link looks down but the peer is still reported Primary
	h.emit("change connection name:r0 peer-node-id:0 conn-name:peer connection:Connecting",
		"change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown")
	d = h.waitDecision(func(in Input, _ Decision) bool {
		return afterLoss(in, Decision{}) && in.Res.Connections[0].PeerDevices[0].Replication == ReplOff
	})
	if d.Promote {
		t.Fatalf("decision %+v", d)
	}
	h.expectCalls(nil)
}

func TestAgentLocalDiskNotUpToDateNoPromote(t *testing.T) {
	for _, disk := range []string{DiskOutdated, DiskConsistent, DiskInconsistent} {
		t.Run(disk, func(t *testing.T) {
			sys := newFakeSys(showFenced)
			h := startAgent(t, testConfig, sys, false)
			h.emit(connectedTo(disk)...)
			h.emit(peerLost(DiskUnknown)...)
			d := h.waitDecision(afterLoss)
			if d.Promote || !strings.Contains(d.Reason, "disk is "+disk) {
				t.Fatalf("decision %+v", d)
			}
			h.expectCalls(nil)
		})
	}
}

func TestAgentNoFencingUnknownPeerNoPromote(t *testing.T) {
	sys := newFakeSys(showPlain)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	d := h.waitDecision(afterLoss)
	if d.Promote || !strings.Contains(d.Reason, "fencing is dont-care") {
		t.Fatalf("decision %+v", d)
	}
	h.expectCalls(nil)
}

func TestAgentNoFencingOptIn(t *testing.T) {
	sys := newFakeSys(showPlain)
	cfg := strings.Replace(testConfig, "start = [", "promote-without-fencing = true\nstart = [", 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	if !strings.Contains(h.log.String(), "promoting without fencing") {
		t.Error("an unfenced promotion without a warning")
	}
}

func TestAgentConfiguredFencing(t *testing.T) {
	// fencing stated in the configuration: show is not read
	sys := newFakeSys("garbage")
	cfg := strings.Replace(testConfig, "start = [", "fencing = \"resource-and-stonith\"\nstart = [", 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	if sys.shows != 0 {
		t.Errorf("drbdsetup show ran %d times with fencing stated", sys.shows)
	}
}

func TestAgentFailedPrimaryRetried(t *testing.T) {
	sys := newFakeSys(showFenced)
	const refusal = "0: State change failed: (-7) Refusing to be Primary while peer is not outdated"
	sys.failing("drbdsetup primary 0", 1, refusal)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(concat([]string{"drbdsetup primary 0"}, bringUpCalls))
	if !strings.Contains(h.log.String(), "Refusing to be Primary while peer is not outdated") {
		t.Error("DRBD's message is not in the log")
	}
}

func TestAgentStartFailureUndone(t *testing.T) {
	sys := newFakeSys(showFenced)
	sys.failing("sh -c start-b", -1, "start-b: no such service")
	cfg := strings.Replace(testConfig, `"50ms"`, `"1h"`, 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls([]string{
		"drbdsetup primary 0",
		"mount -t ext4 -o noatime /dev/drbd0 /srv/r0",
		"sh -c start-a",
		"sh -c start-b",
		// undone in reverse, then demoted
		"sh -c stop-a",
		"umount /srv/r0",
		"drbdsetup secondary 0",
	})
}

func TestAgentAddressFailureUndone(t *testing.T) {
	sys := newFakeSys(showFenced)
	sys.failing("addr add eth0 192.168.122.100/24", -1, "no such device")
	cfg := strings.Replace(testConfig, `"50ms"`, `"1h"`, 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(concat(bringUpCalls[:5], teardownCalls[1:]))
}

func TestAgentShutdownStopsInReverse(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	h.stop()
	h.expectCalls(concat(bringUpCalls, teardownCalls))
}

func TestAgentShutdownKeepsServiceWhenConfigured(t *testing.T) {
	sys := newFakeSys(showFenced)
	cfg := strings.Replace(testConfig, "start = [", "stop-services-on-exit = false\nstart = [", 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	h.stop()
	h.expectCalls(bringUpCalls)
}

func TestAgentDemoteFailureEscalates(t *testing.T) {
	for _, tt := range []struct {
		name  string
		force bool
		want  []string
	}{
		{"secondary-force", true, []string{"drbdsetup secondary 0", "sh -c escalate-now"}},
		{"no secondary-force", false, []string{"sh -c escalate-now"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys := newFakeSys(showFenced)
			sys.failing("drbdsetup secondary 0", -1, "0: State change failed: (-12) Device is held open by someone")
			cfg := strings.Replace(testConfig, "start = [", fmt.Sprintf("secondary-force = %v\non-drbd-demote-failure = \"reboot\"\ndemote-failure-command = \"escalate-now\"\nstart = [", tt.force), 1)
			h := startAgent(t, cfg, sys, false)
			h.emit(connectedTo(DiskUpToDate)...)
			h.emit(peerLost(DiskUnknown)...)
			h.expectCalls(bringUpCalls)
			h.stop()
			h.expectCalls(concat(bringUpCalls, teardownCalls, tt.want))
		})
	}
}

func TestAgentUmountFailureKillsUsers(t *testing.T) {
	sys := newFakeSys(showFenced)
	sys.failing("umount /srv/r0", 1, "umount: /srv/r0: target is busy.")
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	h.stop()
	h.expectCalls(concat(bringUpCalls, teardownCalls[:4], []string{"fuser -k -m /srv/r0", "umount /srv/r0", "drbdsetup secondary 0"}))
}

func TestAgentLostPrimaryStops(t *testing.T) {
	sys := newFakeSys(showFenced)
	cfg := strings.Replace(testConfig, `"50ms"`, `"1h"`, 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.expectCalls(bringUpCalls)
	h.emit("change resource name:r0 role:Secondary")
	h.expectCalls(concat(bringUpCalls, teardownCalls))
}

func TestAgentTakesOverPrimary(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(
		"exists resource name:r0 role:Primary suspended:no",
		"exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Secondary",
		"exists device name:r0 volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists -",
	)
	h.expectCalls(bringUpCalls[1:])
}

func TestAgentEventsRestart(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	sys.kill <- struct{}{}
	// a new events2 prints a new dump: the peer is gone by now
	h.emit(
		"exists resource name:r0 role:Secondary suspended:no",
		"exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connecting role:Unknown",
		"exists device name:r0 volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown resync-suspended:no",
		"exists -",
	)
	h.expectCalls(bringUpCalls)
	sys.mu.Lock()
	n := sys.streams
	sys.mu.Unlock()
	if n < 2 {
		t.Errorf("events2 started %d times", n)
	}
}

func TestAgentSkippedRestartsEvents(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	h.emit("- skipped 4")
	deadline := time.Now().Add(5 * time.Second)
	for {
		sys.mu.Lock()
		n := sys.streams
		sys.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("events2 not started again after lost notifications")
		}
		time.Sleep(time.Millisecond)
	}
	// the old view is gone: only the new dump counts
	h.emit(
		"exists resource name:r0 role:Secondary suspended:no",
		"exists device name:r0 volume:0 minor:0 disk:UpToDate",
		"exists -",
	)
	h.expectCalls(bringUpCalls)
}

func TestAgentFencingReadAfterAttach(t *testing.T) {
	sys := newFakeSys(showPlain)
	h := startAgent(t, testConfig, sys, false)
	h.emit(
		"exists resource name:r0 role:Secondary suspended:no",
		"exists device name:r0 volume:0 minor:0 disk:Diskless",
		"exists -",
	)
	h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	sys.setShow(showFenced)
	h.emit("change device name:r0 volume:0 minor:0 disk:Attaching", "change device name:r0 volume:0 minor:0 disk:UpToDate")
	d := h.waitDecision(func(in Input, _ Decision) bool {
		return in.Res != nil && in.Res.Devices[0].Disk == DiskUpToDate
	})
	// never connected, fencing resource-only (read after the attach)
	if !d.Promote || !d.ReliesOnFencing {
		t.Fatalf("decision %+v", d)
	}
	h.expectCalls(bringUpCalls)
}

func TestAgentDryRun(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, true)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.waitDecision(func(in Input, d Decision) bool { return afterLoss(in, d) && d.Promote })
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(h.dry.String(), "would announce") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	h.stop()
	out := h.dry.String()
	for _, want := range []string{
		"dry-run r0: would run drbdsetup primary 0  (because: peer lost, local data UpToDate, peer to be fenced by DRBD's fence-peer handler; view: r0 role:Secondary peer0:Connecting/Unknown vol0(minor:0):UpToDate peer0-vol0:Off/DUnknown)",
		"would run mount -t ext4 -o noatime /dev/drbd0 /srv/r0",
		"would run sh -c start-a",
		"would add address 192.168.122.100/24 to eth0",
		"would announce 192.168.122.100 on eth0 (3 gratuitous ARP rounds)",
		"would remove address 192.168.122.100/24 from eth0",
		"would run umount /srv/r0",
		"would run drbdsetup secondary 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	if calls := sys.snapshot(); len(calls) != 0 {
		t.Errorf("dry run did things: %q", calls)
	}
}

func TestAgentPromotionCalledOffWhenPeerReturns(t *testing.T) {
	sys := newFakeSys(showFenced)
	// the delay: 1 × (0 + rank 1 + 200) units of 1 ms
	cfg := strings.Replace(testConfig, "start = [", "fencing-promote-delay = 200\nstart = [", 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.waitDecision(func(in Input, d Decision) bool { return afterLoss(in, d) && d.Promote })
	// the peer is back before the delay is over
	h.emit("change connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Primary",
		"change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate")
	time.Sleep(300 * time.Millisecond)
	h.expectCalls(nil)
}

func TestAgentFencingReadAgainBeforePromoting(t *testing.T) {
	sys := newFakeSys(showFenced)
	h := startAgent(t, testConfig, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.waitDecision(func(in Input, _ Decision) bool { return in.Complete })
	// disk-options --fencing=dont-care: no attach, no event
	sys.setShow(showPlain)
	h.emit(peerLost(DiskUnknown)...)
	time.Sleep(100 * time.Millisecond)
	h.expectCalls(nil)
	if !strings.Contains(h.log.String(), "fencing is dont-care") {
		t.Error("the fresh fencing policy was not the reason")
	}
}

func TestAgentDelayStartsAgainAfterPeerReturns(t *testing.T) {
	sys := newFakeSys(showFenced)
	// the delay: 1 × (0 + rank 1 + 999) units of 1 ms = 1 s
	cfg := strings.Replace(testConfig, "start = [", "fencing-promote-delay = 999\nstart = [", 1)
	h := startAgent(t, cfg, sys, false)
	h.emit(connectedTo(DiskUpToDate)...)
	h.emit(peerLost(DiskUnknown)...)
	h.waitDecision(func(in Input, d Decision) bool { return afterLoss(in, d) && d.Promote })
	time.Sleep(200 * time.Millisecond)
	h.emit("change connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Primary",
		"change peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate")
	h.waitDecision(func(in Input, d Decision) bool { return !d.Promote })
	time.Sleep(300 * time.Millisecond)
	lostAgain := time.Now()
	h.emit(peerLost(DiskUnknown)...)
	// the first wait would have ended 500 ms after the first loss; the
	// delay counts from the second loss
	time.Sleep(750*time.Millisecond - time.Since(lostAgain))
	if calls := sys.snapshot(); len(calls) != 0 {
		t.Fatalf("promoted %s after the peer was lost again, before the delay: %q", time.Since(lostAgain), calls)
	}
	h.expectCalls(bringUpCalls)
}
