package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"udrbd/node"
)

// Bucket upper bounds of the latency histograms, in seconds: 10 µs (a
// fast NVMe write) to 10 s (a peer that is about to time out).
var latencyBuckets = [...]float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10,
}

// latencyBucketsNS are the same bounds as durations.
var latencyBucketsNS = func() (b [len(latencyBuckets)]time.Duration) {
	for i, s := range latencyBuckets {
		b[i] = time.Duration(s*1e9 + 0.5)
	}
	return b
}()

// histogram is a fixed-bucket latency histogram that the data path feeds
// without locks or allocations; a scrape reads it into a const histogram.
type histogram struct {
	counts [len(latencyBuckets) + 1]atomic.Uint64 // per bucket, the last one is +Inf
	sumNS  atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(latencyBucketsNS) && d > latencyBucketsNS[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(uint64(d))
}

// read returns the count, the sum in seconds and the cumulative bucket
// counts (the count is the buckets' total, so the three agree even while
// writes are observed).
func (h *histogram) read() (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(latencyBuckets))
	for i, le := range latencyBuckets {
		count += h.counts[i].Load()
		buckets[le] = count
	}
	count += h.counts[len(latencyBuckets)].Load()
	return count, float64(h.sumNS.Load()) / 1e9, buckets
}

// volumeLatency is the node.WriteObserver of one volume.
type volumeLatency struct {
	local, network, application histogram
}

func (v *volumeLatency) ObserveLocalWrite(d time.Duration)       { v.local.observe(d) }
func (v *volumeLatency) ObserveNetworkWrite(d time.Duration)     { v.network.observe(d) }
func (v *volumeLatency) ObserveApplicationWrite(d time.Duration) { v.application.observe(d) }

var _ node.WriteObserver = (*volumeLatency)(nil)

type volumeKey struct {
	resource string
	volume   uint32
}

// Latencies keeps the write-latency histograms of every volume. Its
// Observer method is node.Options.Observe.
type Latencies struct {
	mu   sync.Mutex
	vols map[volumeKey]*volumeLatency
}

// NewLatencies returns an empty set of histograms.
func NewLatencies() *Latencies { return &Latencies{vols: map[volumeKey]*volumeLatency{}} }

// Observer returns the observer of a volume's writes. A volume that is
// deleted and made again gets its histograms back: they are never
// dropped, only left out of scrapes while the volume does not exist.
func (l *Latencies) Observer(resource string, volume uint32) node.WriteObserver {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := volumeKey{resource, volume}
	v := l.vols[k]
	if v == nil {
		v = &volumeLatency{}
		l.vols[k] = v
	}
	return v
}

func (l *Latencies) get(resource string, volume uint32) *volumeLatency {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.vols[volumeKey{resource, volume}]
}

func volumeLabel(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
