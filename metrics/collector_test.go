package metrics_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"udrbd/drbd"
	"udrbd/metrics"
	"udrbd/node"
)

var (
	gauge   = dto.MetricType_GAUGE
	counter = dto.MetricType_COUNTER
	histo   = dto.MetricType_HISTOGRAM
	conn    = []string{"name", "conn_name", "peer_node_id"}
	dev     = []string{"name", "volume", "minor"}
)

func plus(l []string, more ...string) []string { return append(slices.Clone(l), more...) }

// reactorMetrics are drbd-reactor's prometheus metrics as it exports them
// (name, type, label names) that udrbd exports too.
var reactorMetrics = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"drbdreactor_up", gauge, nil},
	{"drbd_version", gauge, []string{"kmod", "utils"}},
	{"drbd_resource_resources", gauge, nil},
	{"drbd_resource_role", gauge, []string{"name", "drbd_resource_role"}},
	{"drbd_resource_suspended", gauge, []string{"name"}},
	{"drbd_resource_forceiofailures", gauge, []string{"name"}},
	{"drbd_connection_state", gauge, plus(conn, "drbd_connection_state")},
	{"drbd_connection_congested", gauge, conn},
	{"drbd_connection_apinflight_bytes", gauge, conn},
	{"drbd_connection_rsinflight_bytes", gauge, conn},
	{"drbd_peerdevice_outofsync_bytes", gauge, plus(conn, "volume")},
	{"drbd_peerdevice_sent_bytes", counter, plus(conn, "volume")},
	{"drbd_peerdevice_received_bytes", counter, plus(conn, "volume")},
	{"drbd_device_state", gauge, plus(dev, "drbd_device_state")},
	{"drbd_device_client", gauge, dev},
	{"drbd_device_unintentionaldiskless", gauge, dev},
	{"drbd_device_quorum", gauge, dev},
	{"drbd_device_size_bytes", gauge, dev},
	{"drbd_device_read_bytes_total", counter, dev},
	{"drbd_device_written_bytes_total", counter, dev},
	{"drbd_device_alwrites_total", counter, dev},
	{"drbd_device_bmwrites_total", counter, dev},
	{"drbd_device_upperpending", gauge, dev},
	{"drbd_device_lowerpending", gauge, dev},
	{"drbd_device_alsuspended", gauge, dev},
}

// udrbd's own latency histograms.
var latencyMetrics = []string{
	"udrbd_local_write_duration_seconds",
	"udrbd_network_write_duration_seconds",
	"udrbd_application_write_duration_seconds",
}

type families map[string]*dto.MetricFamily

func gather(t *testing.T, reg *prometheus.Registry) families {
	t.Helper()
	fs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := families{}
	for _, f := range fs {
		out[f.GetName()] = f
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// find returns the one metric of family name whose labels include want.
func (fs families) find(t *testing.T, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f := fs[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	var found *dto.Metric
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		match := true
		for k, v := range want {
			if l[k] != v {
				match = false
			}
		}
		if match {
			if found != nil {
				t.Fatalf("%s%v: more than one series", name, want)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("%s%v: no such series", name, want)
	}
	return found
}

func (fs families) value(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	m := fs.find(t, name, want)
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	t.Fatalf("%s is neither gauge nor counter", name)
	return 0
}

// enum checks that exactly the series of state cur is 1 among those of
// family name whose labels agree with l.
func (fs families) enum(t *testing.T, name string, l map[string]string, cur string) {
	t.Helper()
	ones := []string{}
	n := 0
	for _, m := range fs[name].GetMetric() {
		ml := labelsOf(m)
		skip := false
		for k, v := range l { // the labels of l the family has must match
			if mv, ok := ml[k]; ok && mv != v {
				skip = true
			}
		}
		if skip {
			continue
		}
		n++
		if m.GetGauge().GetValue() == 1 {
			ones = append(ones, ml[name])
		} else if m.GetGauge().GetValue() != 0 {
			t.Fatalf("%s%v = %v", name, ml, m.GetGauge().GetValue())
		}
	}
	if len(ones) != 1 || ones[0] != cur {
		t.Fatalf("%s%v: states at 1: %v (of %d), want only %s", name, l, ones, n, cur)
	}
}

func with(l map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// checkSchema checks every family's type and label names.
func checkSchema(t *testing.T, fs families) {
	t.Helper()
	for _, want := range reactorMetrics {
		f := fs[want.name]
		if f == nil {
			t.Errorf("%s: missing", want.name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s: type %v, want %v", want.name, f.GetType(), want.typ)
		}
		wl := slices.Sorted(slices.Values(want.labels))
		for _, m := range f.GetMetric() {
			var gl []string
			for k := range labelsOf(m) {
				gl = append(gl, k)
			}
			slices.Sort(gl)
			if !slices.Equal(gl, wl) {
				t.Errorf("%s: labels %v, want %v", want.name, gl, wl)
			}
		}
	}
	for _, name := range latencyMetrics {
		f := fs[name]
		if f == nil {
			t.Errorf("%s: missing", name)
			continue
		}
		if f.GetType() != histo {
			t.Errorf("%s: type %v", name, f.GetType())
		}
	}
	// left out: DRBD 9's promotion facts mean nothing in 8.4; the open
	// state would need an exclusive open of the block device
	for _, name := range []string{"drbd_resource_maypromote", "drbd_resource_promotionscore", "drbd_device_open"} {
		if fs[name] != nil {
			t.Errorf("%s exported", name)
		}
	}
}

func newRegistry(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry() // checks the metrics against their descriptions
	reg.MustRegister(c)
	return reg
}

func TestCollectorSingleNode(t *testing.T) {
	lat := metrics.NewLatencies()
	e := newTestNode(t, lat)
	reg := newRegistry(t, metrics.NewCollector(e.n, lat))

	fs := gather(t, reg)
	if v := fs.value(t, "drbd_resource_resources", nil); v != 0 {
		t.Fatalf("%v resources on an empty node", v)
	}
	if v := fs.value(t, "drbdreactor_up", nil); v != 1 {
		t.Fatalf("drbdreactor_up %v", v)
	}
	if m := fs.find(t, "drbd_version", nil); labelsOf(m)["kmod"] != "8.4.11" || labelsOf(m)["utils"] != "0.0.0" {
		t.Fatalf("drbd_version labels %v", labelsOf(m))
	}

	e.addVolume(0, 16<<20)
	e.primaryForce(0)
	r := map[string]string{"name": "r0"}
	d := map[string]string{"name": "r0", "volume": "0", "minor": "0"}
	c := map[string]string{"name": "r0", "conn_name": "", "peer_node_id": "0"}
	fs = gather(t, reg)
	checkSchema(t, fs)
	written0 := fs.value(t, "drbd_device_written_bytes_total", d)
	read0 := fs.value(t, "drbd_device_read_bytes_total", d)

	sizes := []int{4 << 10, 8 << 10, 4 << 10, 64 << 10}
	total := 0
	for i, n := range sizes {
		e.write(0, int64(i)<<20, n)
		total += n
	}
	if err := e.submit(0, node.OpRead, 0, make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	fs = gather(t, reg)
	checkSchema(t, fs)
	if got := fs.value(t, "drbd_device_written_bytes_total", d) - written0; got != float64(total) {
		t.Errorf("written bytes grew by %v, want %d", got, total)
	}
	if got := fs.value(t, "drbd_device_read_bytes_total", d) - read0; got != 8192 {
		t.Errorf("read bytes grew by %v, want 8192", got)
	}
	fs.enum(t, "drbd_device_state", d, "UpToDate")
	fs.enum(t, "drbd_resource_role", r, "Primary")
	fs.enum(t, "drbd_connection_state", c, "StandAlone")
	size := float64(e.n.Snapshot().Resources[0].Devices[0].SizeSectors * 512)
	for _, want := range []struct {
		name string
		l    map[string]string
		v    float64
	}{
		{"drbd_resource_resources", nil, 1},
		{"drbd_resource_suspended", r, 0},
		{"drbd_resource_forceiofailures", r, 0},
		{"drbd_connection_congested", c, 0},
		{"drbd_connection_apinflight_bytes", c, 0},
		{"drbd_connection_rsinflight_bytes", c, 0},
		{"drbd_device_size_bytes", d, size},
		// a fresh disk forced UpToDate, never connected: all of it out of sync
		{"drbd_peerdevice_outofsync_bytes", with(c, "volume", "0"), size},
		{"drbd_peerdevice_sent_bytes", with(c, "volume", "0"), 0},
		{"drbd_device_client", d, 0},
		{"drbd_device_unintentionaldiskless", d, 0},
		{"drbd_device_quorum", d, 1},
		{"drbd_device_upperpending", d, 0},
		{"drbd_device_lowerpending", d, 0},
		{"drbd_device_alsuspended", d, 1},
		{"drbd_device_bmwrites_total", d, 0},
	} {
		if got := fs.value(t, want.name, want.l); got != want.v {
			t.Errorf("%s%v = %v, want %v", want.name, want.l, got, want.v)
		}
	}
	if size < 15<<20 {
		t.Errorf("size %v bytes", size)
	}
	if al := fs.value(t, "drbd_device_alwrites_total", d); al <= 0 {
		t.Errorf("al-writes %v after attach", al)
	}

	vl := map[string]string{"name": "r0", "volume": "0"}
	for _, h := range []struct {
		name  string
		count uint64
	}{
		{"udrbd_local_write_duration_seconds", uint64(len(sizes))},
		{"udrbd_application_write_duration_seconds", uint64(len(sizes))},
		{"udrbd_network_write_duration_seconds", 0},
	} {
		m := fs.find(t, h.name, vl).GetHistogram()
		if m.GetSampleCount() != h.count {
			t.Errorf("%s counted %d writes, want %d", h.name, m.GetSampleCount(), h.count)
		}
		if (h.count > 0) != (m.GetSampleSum() > 0) {
			t.Errorf("%s: sum %v for %d writes", h.name, m.GetSampleSum(), h.count)
		}
		b := m.GetBucket()
		if len(b) == 0 || b[len(b)-1].GetCumulativeCount() > m.GetSampleCount() {
			t.Errorf("%s: buckets %v", h.name, b)
		}
	}

	// detached: diskless without intent
	e.do("secondary", 15 /* DRBD_ADM_SECONDARY */, 0, nil, drbd.Reply(drbd.SSSuccess))
	e.do("detach", 18 /* DRBD_ADM_DETACH */, 0, nil, drbd.Reply(drbd.SSSuccess), drbd.Reply(drbd.NoError))
	fs = gather(t, reg)
	checkSchema(t, fs)
	fs.enum(t, "drbd_device_state", d, "Diskless")
	fs.enum(t, "drbd_resource_role", r, "Secondary")
	if v := fs.value(t, "drbd_device_unintentionaldiskless", d); v != 1 {
		t.Errorf("unintentionaldiskless %v after detach", v)
	}
}

func TestCollectorReplicated(t *testing.T) {
	lat := metrics.NewLatencies()
	a, b := newTestNode(t, lat), newTestNode(t, nil)
	regA, regB := newRegistry(t, metrics.NewCollector(a.n, lat)), newRegistry(t, metrics.NewCollector(b.n, nil))
	a.addVolume(0, 8<<20)
	b.addVolume(0, 8<<20)
	pa, pb := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a.connect(pa, pb)
	b.connect(pb, pa)
	dev0 := func(e *testNode) node.DeviceSnapshot { return e.n.Snapshot().Resources[0].Devices[0] }
	waitFor(t, "connected", func() bool {
		return dev0(a).Peer.Replication == drbd.CConnected && dev0(b).Peer.Replication == drbd.CConnected
	})
	a.primaryForce(0)
	waitFor(t, "in sync", func() bool {
		da, db := dev0(a), dev0(b)
		return da.Peer.Replication == drbd.CConnected && da.Peer.PeerDisk == drbd.DUpToDate && db.Disk == drbd.DUpToDate
	})
	c := map[string]string{"name": "r0", "conn_name": "peer", "peer_node_id": "0"}
	pd := with(c, "volume", "0")
	fa, fb := gather(t, regA), gather(t, regB)
	checkSchema(t, fa)
	fa.enum(t, "drbd_connection_state", c, "Connected")
	fb.enum(t, "drbd_connection_state", c, "Connected")
	fb.enum(t, "drbd_resource_role", c, "Secondary")
	sent0 := fa.value(t, "drbd_peerdevice_sent_bytes", pd)
	recv0 := fb.value(t, "drbd_peerdevice_received_bytes", pd)
	if sent0 == 0 || recv0 == 0 {
		t.Fatalf("the initial sync sent %v and received %v bytes", sent0, recv0)
	}

	const n, bs = 10, 8192
	for i := range n {
		a.write(0, int64(i)*bs, bs)
	}
	fa, fb = gather(t, regA), gather(t, regB)
	if got := fa.value(t, "drbd_peerdevice_sent_bytes", pd) - sent0; got != n*bs {
		t.Errorf("a sent %v more bytes, want %d", got, n*bs)
	}
	if got := fb.value(t, "drbd_peerdevice_received_bytes", pd) - recv0; got != n*bs {
		t.Errorf("b received %v more bytes, want %d", got, n*bs)
	}
	for _, want := range []struct {
		name string
		l    map[string]string
	}{{"drbd_peerdevice_outofsync_bytes", pd}, {"drbd_connection_apinflight_bytes", c}, {"drbd_connection_rsinflight_bytes", c}} {
		if v := fa.value(t, want.name, want.l); v != 0 {
			t.Errorf("%s = %v once in sync and idle", want.name, v)
		}
	}
	vl := map[string]string{"name": "r0", "volume": "0"}
	for _, name := range latencyMetrics {
		if got := fa.find(t, name, vl).GetHistogram().GetSampleCount(); got != n {
			t.Errorf("%s counted %d writes, want %d", name, got, n)
		}
	}
	// without Latencies there are no histograms
	for _, name := range latencyMetrics {
		if fb[name] != nil {
			t.Errorf("%s exported without latencies", name)
		}
	}
}

func TestListen(t *testing.T) {
	e := newTestNode(t, nil)
	e.addVolume(0, 8<<20)
	s, err := metrics.Listen("127.0.0.1:0", metrics.Registry(metrics.NewCollector(e.n, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"\n# TYPE drbd_peerdevice_sent_bytes counter\n",
		"\ndrbdreactor_up 1\n",
		"\ndrbd_device_state{drbd_device_state=\"Inconsistent\",minor=\"0\",name=\"r0\",volume=\"0\"} 1\n",
		"\ngo_goroutines ",
		"\nprocess_open_fds ",
	} {
		if !strings.Contains("\n"+string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// an address in use, bad ones
	for _, bad := range []string{"", "nonsense", "127.0.0.1:99999", "no-such-host.invalid:9942", s.Addr().String()} {
		if s2, err := metrics.Listen(bad, prometheus.NewRegistry()); err == nil {
			s2.Close()
			t.Errorf("Listen(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "metrics") {
			t.Errorf("Listen(%q): %v", bad, err)
		}
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err != nil {
		t.Fatal(err)
	}
}
