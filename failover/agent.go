package failover

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"udrbd/drbd"
)

// Options configure an [Agent].
type Options struct {
	Config *Config
	System System
	Log    *slog.Logger // default: discard
	// DryRun: print each action (and the view that justified it) to
	// DryRunOut instead of doing it. events2 and drbdsetup show still run:
	// they only read.
	DryRun    bool
	DryRunOut io.Writer
	// Unit is the length of one second of the configured delays
	// (sleep-before-promote-factor, fencing-promote-delay); default
	// time.Second. Tests shrink it.
	Unit time.Duration
	// Backoff is the first pause before events2 is started again after it
	// exited (default 500ms); it doubles up to 20 times that.
	Backoff time.Duration
	// OnDecision, if set, is called after each decision (from the
	// resource's goroutine). A test aid.
	OnDecision func(res string, in Input, d Decision)
}

// Agent watches the configured resources and promotes, starts, stops and
// demotes them. Create it with [New], run it with [Agent.Run].
type Agent struct {
	o     Options
	cfg   *Config
	sys   System
	log   *slog.Logger
	w     *watcher
	ctrls []*controller
}

// New returns an agent for o.Config.
func New(o Options) *Agent {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Unit <= 0 {
		o.Unit = time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.DryRunOut == nil {
		o.DryRunOut = io.Discard
	}
	a := &Agent{o: o, cfg: o.Config, sys: o.System, log: o.Log}
	a.w = &watcher{a: a, view: NewView(), notify: map[string]chan struct{}{}}
	for _, rc := range a.cfg.Resources {
		c := &controller{a: a, c: rc, log: a.log.With("resource", rc.Name), notify: make(chan struct{}, 1)}
		a.w.notify[rc.Name] = c.notify
		a.ctrls = append(a.ctrls, c)
	}
	return a
}

// Run watches and acts until ctx ends; then, for each resource whose
// service it started, it stops the service and demotes (unless
// stop-services-on-exit is false) and returns.
func (a *Agent) Run(ctx context.Context) error {
	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	var wwg sync.WaitGroup
	wwg.Add(1)
	go func() { defer wwg.Done(); a.w.run(wctx) }()
	var wg sync.WaitGroup
	for _, c := range a.ctrls {
		wg.Add(1)
		go func() { defer wg.Done(); c.run(ctx) }()
	}
	wg.Wait()
	stopWatch()
	wwg.Wait()
	return nil
}

// watcher runs `drbdsetup events2` and keeps the view.
type watcher struct {
	a      *Agent
	mu     sync.Mutex // guards view
	view   *View
	notify map[string]chan struct{} // per configured resource; written once in New
}

func (w *watcher) snapshot(name string) (bool, *Resource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.view.Complete, w.view.Resources[name].Clone()
}

func (w *watcher) poke(name string) {
	if ch, ok := w.notify[name]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) pokeAll() {
	for name := range w.notify {
		w.poke(name)
	}
}

func (w *watcher) apply(ev Event) {
	w.mu.Lock()
	name := w.view.Apply(ev)
	w.mu.Unlock()
	if ev.InitialDone {
		w.pokeAll()
	} else {
		w.poke(name)
	}
}

func (w *watcher) reset() {
	w.mu.Lock()
	w.view = NewView()
	w.mu.Unlock()
	w.pokeAll()
}

func (w *watcher) run(ctx context.Context) {
	log := w.a.log
	argv := []string{w.a.cfg.Programs.Drbdsetup, "events2", "--timestamps", "all"}
	backoff := w.a.o.Backoff
	for ctx.Err() == nil {
		skipped := w.runOnce(ctx, argv, &backoff)
		w.reset()
		if ctx.Err() != nil {
			return
		}
		if skipped {
			continue
		}
		log.Warn("events2 stopped; starting it again", "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 20*w.a.o.Backoff)
	}
}

// runOnce runs events2 until it exits; it reports whether it was stopped
// because notifications were lost.
func (w *watcher) runOnce(ctx context.Context, argv []string, backoff *time.Duration) (skipped bool) {
	log := w.a.log
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out, wait, err := w.a.sys.Stream(cctx, argv...)
	if err != nil {
		log.Error("cannot start events2", "cmd", strings.Join(argv, " "), "err", err)
		return false
	}
	log.Debug("events2 started", "cmd", strings.Join(argv, " "))
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		line := s.Text()
		ev, err := ParseLine(line)
		if err != nil {
			log.Debug("events2 line ignored", "line", line, "err", err)
			continue
		}
		if ev.Skipped > 0 {
			log.Warn("events2 lost notifications; reading the state again", "skipped", ev.Skipped)
			skipped = true
			break
		}
		if ev.Object == "helper" {
			if _, watched := w.notify[ev.Resource]; watched {
				log.Info("DRBD helper", "resource", ev.Resource, "event", ev.Action, "helper", ev.Fields["helper"], "status", ev.Fields["status"])
			}
		}
		w.apply(ev)
		if ev.InitialDone {
			*backoff = w.a.o.Backoff
		}
	}
	cancel()
	if err := wait(); err != nil && ctx.Err() == nil && !skipped {
		log.Warn("events2 exited", "err", err)
	}
	return skipped
}

// controller owns one resource: every field below is used by its
// goroutine only.
type controller struct {
	a      *Agent
	c      *ResourceConfig
	log    *slog.Logger
	notify chan struct{}

	started       bool       // the first complete view was looked at (adoption)
	active        bool       // the service is up and ours to stop
	undo          []undoStep // how to take the service down, in order of setup
	waitUntil     time.Time  // promotion pending until then (zero: none)
	retryAt       time.Time  // no promotion before then
	lastReason    string
	fencing       map[int]drbd.FencingPolicy
	fencingKnown  bool
	fencingRetry  time.Time
	lastDisks     map[int]string
	dryRunSummary string // the justification printed with dry-run actions
}

func (c *controller) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			c.shutdown(ctx)
			return
		case <-c.notify:
		case <-timer.C:
		}
		next := c.step(ctx)
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
		}
	}
}

func (c *controller) shutdown(ctx context.Context) {
	if !c.active {
		return
	}
	if !c.c.StopServicesOnExit {
		c.log.Info("exiting; the service stays up (stop-services-on-exit = false)")
		return
	}
	c.log.Info("exiting: stopping the service and demoting")
	c.dryRunSummary = "the agent is exiting (stop-services-on-exit)"
	c.teardown(ctx)
	c.active = false
}

// input builds the decision input from a snapshot.
func (c *controller) input(complete bool, res *Resource) Input {
	in := Input{Complete: complete, Res: res, NodeName: c.a.cfg.NodeName, Fencing: map[int]drbd.FencingPolicy{}}
	if c.c.Fencing != "auto" {
		p, _ := drbd.ParseFencingPolicy(c.c.Fencing)
		if res != nil {
			for vol := range res.Devices {
				in.Fencing[vol] = p
			}
		}
		return in
	}
	for vol, p := range c.fencing {
		in.Fencing[vol] = p
	}
	return in
}

// loadFencing reads the fencing policy from drbdsetup show (fencing = auto).
func (c *controller) loadFencing(ctx context.Context) {
	if c.c.Fencing != "auto" {
		return
	}
	argv := []string{c.a.cfg.Programs.Drbdsetup, "show", c.c.Name}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.c.DrbdTimeout)
	out, err := c.a.sys.Run(tctx, argv...)
	cancel()
	var pol map[int]drbd.FencingPolicy
	if err == nil {
		pol, err = ParseShowFencing(string(out), c.c.Name)
	}
	if err != nil {
		c.log.Warn("cannot read the fencing policy; counting it as dont-care", "cmd", strings.Join(argv, " "), "err", err, "output", strings.TrimSpace(string(out)))
		c.fencing, c.fencingKnown = nil, false
		c.fencingRetry = time.Now().Add(c.c.PromoteRetryInterval)
		return
	}
	if !mapsEqual(pol, c.fencing) || !c.fencingKnown {
		c.log.Info("fencing policy", "volumes", fencingString(pol))
	}
	c.fencing, c.fencingKnown = pol, true
}

func mapsEqual(a, b map[int]drbd.FencingPolicy) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func fencingString(p map[int]drbd.FencingPolicy) string {
	var parts []string
	for _, vol := range sortedKeys(p) {
		parts = append(parts, fmt.Sprintf("%d:%s", vol, fencingName(p[vol])))
	}
	if parts == nil {
		return "(no volumes)"
	}
	return strings.Join(parts, " ")
}

// maybeRefreshFencing reads the fencing policy again when it is not known
// yet or a volume was just attached (a disk left Diskless/Attaching, or a
// volume appeared).
func (c *controller) maybeRefreshFencing(ctx context.Context, res *Resource) {
	disks := map[int]string{}
	attached := false
	if res != nil {
		for vol, d := range res.Devices {
			disks[vol] = d.Disk
			old, seen := c.lastDisks[vol]
			attachedNow := d.Disk != DiskDiskless && d.Disk != DiskAttaching && d.Disk != ""
			wasDetached := !seen || old == DiskDiskless || old == DiskAttaching || old == ""
			if attachedNow && wasDetached {
				attached = true
			}
		}
	}
	c.lastDisks = disks
	if c.c.Fencing != "auto" || res == nil {
		return
	}
	if attached || (!c.fencingKnown && !time.Now().Before(c.fencingRetry)) {
		c.loadFencing(ctx)
	}
}

func (c *controller) decide(complete bool, res *Resource) (Input, Decision) {
	in := c.input(complete, res)
	d := Decide(in, c.c)
	if c.a.o.OnDecision != nil {
		c.a.o.OnDecision(c.c.Name, in, d)
	}
	if d.Reason != c.lastReason {
		lvl := slog.LevelInfo
		if !complete {
			lvl = slog.LevelDebug
		}
		c.log.Log(context.Background(), lvl, "decision", "promote", d.Promote, "reason", d.Reason, "view", res.String())
		c.lastReason = d.Reason
	}
	return in, d
}

// step looks at the current view and acts; it returns when it wants to be
// woken up again without news (zero: only on news).
func (c *controller) step(ctx context.Context) time.Time {
	complete, res := c.a.w.snapshot(c.c.Name)
	if !complete {
		return time.Time{}
	}
	c.maybeRefreshFencing(ctx, res)
	if c.active {
		if !c.a.o.DryRun && (res == nil || res.Role != RolePrimary) {
			c.log.Warn("resource is no longer Primary: stopping the service", "view", res.String())
			c.dryRunSummary = "resource no longer Primary; view: " + res.String()
			c.teardown(ctx)
			c.active = false
			c.retryAt = time.Now().Add(c.c.PromoteRetryInterval)
			return c.retryAt
		}
		return time.Time{}
	}
	if !c.started {
		c.started = true
		if res != nil && res.Role == RolePrimary {
			c.log.Info("resource is Primary at start: taking it over (starting the service without promoting)", "view", res.String())
			c.dryRunSummary = "resource already Primary; view: " + res.String()
			c.bringUp(ctx, res, false)
			return time.Time{}
		}
	}
	_, d := c.decide(complete, res)
	if !d.Promote {
		if !c.waitUntil.IsZero() {
			c.log.Info("promotion called off", "reason", d.Reason)
			c.waitUntil = time.Time{}
		}
		return time.Time{}
	}
	now := time.Now()
	if now.Before(c.retryAt) {
		return c.retryAt
	}
	if c.waitUntil.IsZero() {
		delay := time.Duration(d.DelaySeconds) * c.a.o.Unit
		if delay > 0 {
			c.waitUntil = now.Add(delay)
			c.log.Info("may promote; waiting first", "delay", delay, "reason", d.Reason)
			return c.waitUntil
		}
	} else if now.Before(c.waitUntil) {
		return c.waitUntil
	}
	c.waitUntil = time.Time{}
	// check again, with the fencing policy read just now
	c.loadFencing(ctx)
	complete, res = c.a.w.snapshot(c.c.Name)
	_, d = c.decide(complete, res)
	if !d.Promote {
		return time.Time{}
	}
	if d.Unsafe {
		c.log.Warn("promoting without fencing: if the peer is alive this is a split brain (promote-without-fencing = true)")
	}
	c.log.Info("promoting", "reason", d.Reason, "view", res.String())
	c.dryRunSummary = d.Reason + "; view: " + res.String()
	if !c.bringUp(ctx, res, true) {
		c.retryAt = time.Now().Add(c.c.PromoteRetryInterval)
		return c.retryAt
	}
	return time.Time{}
}
