package failover

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"udrbd/drbd"
)

// Config is the agent's configuration, resolved: defaults filled in and
// every value checked. See docs/failover.md for the file format.
type Config struct {
	NodeName  string // for preferred-nodes; default: the host name (uname -n)
	Programs  Programs
	Resources []*ResourceConfig // sorted by name
}

// Programs names the programs the agent runs (looked up in PATH unless
// absolute).
type Programs struct {
	Drbdsetup string // default "drbdsetup"
	Mount     string // default "mount"
	Umount    string // default "umount"
	Fuser     string // default "fuser"; used by secondary-force
	Shell     string // default "sh"; runs start, stop and demote-failure-command with -c
}

// ResourceConfig is [promoter.resources.NAME].
type ResourceConfig struct {
	Name string
	// Start and Stop pair up: Stop[i] undoes Start[i] ("" when nothing is
	// to be undone). Stop runs in reverse order.
	Start, Stop []string
	// Fencing is "auto" (read from drbdsetup show) or the policy the
	// resource is known to have.
	Fencing string
	// PromoteWithoutFencing allows promotion with fencing dont-care while
	// the peer's disk state is unknown (unsafe: split brain if the peer
	// is alive).
	PromoteWithoutFencing    bool
	SleepBeforePromoteFactor int
	PreferredNodes           []string
	FencingPromoteDelay      int // seconds
	PromoteRetryInterval     time.Duration
	Timeout                  time.Duration // each mount, umount, start, stop, address step
	DrbdTimeout              time.Duration // each drbdsetup primary, secondary, show
	StopServicesOnExit       bool
	SecondaryForce           bool
	OnDrbdDemoteFailure      string // none, reboot, reboot-force, ...
	DemoteFailureCommand     string // the shell command run for OnDrbdDemoteFailure ("" for none)
	Filesystem               *Filesystem
	Address                  *Address
}

// Filesystem is [promoter.resources.NAME.filesystem].
type Filesystem struct {
	Device     string
	Mountpoint string
	FSType     string // "" lets mount detect it
	Options    string // "" for none
}

// Address is [promoter.resources.NAME.address]: the floating IP address.
type Address struct {
	Interface   string
	Prefix      netip.Prefix // address and prefix length
	ARPCount    int
	ARPInterval time.Duration
}

// The on-drbd-demote-failure actions and the command each runs unless
// demote-failure-command replaces it (systemd's FailureAction meanings).
var demoteFailureCommands = map[string]string{
	"none":               "",
	"reboot":             "systemctl reboot",
	"reboot-force":       "systemctl reboot --force",
	"reboot-immediate":   "systemctl reboot --force --force",
	"poweroff":           "systemctl poweroff",
	"poweroff-force":     "systemctl poweroff --force",
	"poweroff-immediate": "systemctl poweroff --force --force",
}

// The file's shape. Pointers tell "absent" from a zero value.
type fileConfig struct {
	NodeName string        `toml:"node-name"`
	Programs fileProgram   `toml:"programs"`
	Promoter *filePromoter `toml:"promoter"`
}

type fileProgram struct {
	Drbdsetup string `toml:"drbdsetup"`
	Mount     string `toml:"mount"`
	Umount    string `toml:"umount"`
	Fuser     string `toml:"fuser"`
	Shell     string `toml:"shell"`
}

type filePromoter struct {
	Resources map[string]*fileResource `toml:"resources"`
}

type fileResource struct {
	Start                    []string        `toml:"start"`
	Stop                     *[]string       `toml:"stop"`
	Runner                   *string         `toml:"runner"`
	Fencing                  *string         `toml:"fencing"`
	PromoteWithoutFencing    bool            `toml:"promote-without-fencing"`
	SleepBeforePromoteFactor *int64          `toml:"sleep-before-promote-factor"`
	PreferredNodes           []string        `toml:"preferred-nodes"`
	FencingPromoteDelay      *int64          `toml:"fencing-promote-delay"`
	PromoteRetryInterval     *string         `toml:"promote-retry-interval"`
	Timeout                  *string         `toml:"timeout"`
	DrbdTimeout              *string         `toml:"drbd-timeout"`
	StopServicesOnExit       *bool           `toml:"stop-services-on-exit"`
	SecondaryForce           *bool           `toml:"secondary-force"`
	OnDrbdDemoteFailure      *string         `toml:"on-drbd-demote-failure"`
	DemoteFailureCommand     *string         `toml:"demote-failure-command"`
	Filesystem               *fileFilesystem `toml:"filesystem"`
	Address                  *fileAddress    `toml:"address"`
}

type fileFilesystem struct {
	Device     string `toml:"device"`
	Mountpoint string `toml:"mountpoint"`
	FSType     string `toml:"fstype"`
	Options    string `toml:"options"`
}

type fileAddress struct {
	IP          string  `toml:"ip"`
	Interface   string  `toml:"interface"`
	ARPCount    *int64  `toml:"arp-count"`
	ARPInterval *string `toml:"arp-interval"`
}

// LoadConfig reads and checks a TOML configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses and checks a TOML configuration. Unknown keys are an
// error naming the key.
func ParseConfig(b []byte) (*Config, error) {
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&fc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	c := &Config{NodeName: fc.NodeName}
	if c.NodeName == "" {
		if c.NodeName, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("node-name is not set and the host name is unknown: %w", err)
		}
	}
	p := fc.Programs
	c.Programs = Programs{
		Drbdsetup: orDefault(p.Drbdsetup, "drbdsetup"),
		Mount:     orDefault(p.Mount, "mount"),
		Umount:    orDefault(p.Umount, "umount"),
		Fuser:     orDefault(p.Fuser, "fuser"),
		Shell:     orDefault(p.Shell, "sh"),
	}
	if fc.Promoter == nil || len(fc.Promoter.Resources) == 0 {
		return nil, errors.New("no [promoter.resources.NAME] section: nothing to watch")
	}
	names := make([]string, 0, len(fc.Promoter.Resources))
	for name := range fc.Promoter.Resources {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rc, err := resolveResource(name, fc.Promoter.Resources[name])
		if err != nil {
			return nil, fmt.Errorf("promoter.resources.%s%w", name, err)
		}
		c.Resources = append(c.Resources, rc)
	}
	return c, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// keyErr is an error about one key of a resource section: its text starts
// with ".KEY: ", to follow "promoter.resources.NAME".
func keyErr(key, format string, args ...any) error {
	return fmt.Errorf(".%s: %s", key, fmt.Sprintf(format, args...))
}

func duration(key string, s *string, def time.Duration, min time.Duration) (time.Duration, error) {
	if s == nil {
		return def, nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return 0, keyErr(key, "%q is not a duration (e.g. \"30s\", \"2m\")", *s)
	}
	if d < min {
		return 0, keyErr(key, "%s is too short (at least %s)", d, min)
	}
	return d, nil
}

func resolveResource(name string, f *fileResource) (*ResourceConfig, error) {
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return nil, fmt.Errorf(": %q is not a DRBD resource name", name)
	}
	if f == nil {
		f = &fileResource{}
	}
	rc := &ResourceConfig{Name: name, PromoteWithoutFencing: f.PromoteWithoutFencing}
	if f.Runner != nil && *f.Runner != "shell" {
		return nil, keyErr("runner", "%q is not supported: only \"shell\" (each start and stop entry runs with sh -c; use systemctl commands for systemd units)", *f.Runner)
	}
	for i, s := range f.Start {
		if strings.TrimSpace(s) == "" {
			return nil, keyErr("start", "entry %d is empty", i)
		}
	}
	rc.Start = f.Start
	if f.Stop != nil {
		if len(*f.Stop) != len(f.Start) {
			return nil, keyErr("stop", "has %d entries but start has %d: give one stop command per start command, in the same order (\"\" where nothing needs stopping)", len(*f.Stop), len(f.Start))
		}
		rc.Stop = *f.Stop
	} else {
		rc.Stop = make([]string, len(f.Start))
		for i, s := range f.Start {
			stop, ok := DeriveStop(s)
			if !ok {
				return nil, keyErr("start", "entry %d (%q) has no obvious stop command: set stop", i, s)
			}
			rc.Stop[i] = stop
		}
	}
	rc.Fencing = "auto"
	if f.Fencing != nil {
		if _, ok := drbd.ParseFencingPolicy(*f.Fencing); !ok && *f.Fencing != "auto" {
			return nil, keyErr("fencing", "%q is not one of auto, dont-care, resource-only, resource-and-stonith", *f.Fencing)
		}
		rc.Fencing = *f.Fencing
	}
	rc.SleepBeforePromoteFactor = 1
	if v := f.SleepBeforePromoteFactor; v != nil {
		if *v < 0 || *v > 3600 {
			return nil, keyErr("sleep-before-promote-factor", "%d is out of range (0..3600)", *v)
		}
		rc.SleepBeforePromoteFactor = int(*v)
	}
	rc.FencingPromoteDelay = 5
	if v := f.FencingPromoteDelay; v != nil {
		if *v < 0 || *v > 3600 {
			return nil, keyErr("fencing-promote-delay", "%d is out of range (0..3600 seconds)", *v)
		}
		rc.FencingPromoteDelay = int(*v)
	}
	seen := map[string]bool{}
	for _, n := range f.PreferredNodes {
		if n == "" || seen[n] {
			return nil, keyErr("preferred-nodes", "%q is empty or listed twice", n)
		}
		seen[n] = true
	}
	rc.PreferredNodes = f.PreferredNodes
	var err error
	if rc.PromoteRetryInterval, err = duration("promote-retry-interval", f.PromoteRetryInterval, 20*time.Second, 10*time.Millisecond); err != nil {
		return nil, err
	}
	if rc.Timeout, err = duration("timeout", f.Timeout, 60*time.Second, 10*time.Millisecond); err != nil {
		return nil, err
	}
	if rc.DrbdTimeout, err = duration("drbd-timeout", f.DrbdTimeout, 121*time.Second, 10*time.Millisecond); err != nil {
		return nil, err
	}
	rc.StopServicesOnExit = f.StopServicesOnExit == nil || *f.StopServicesOnExit
	rc.SecondaryForce = f.SecondaryForce == nil || *f.SecondaryForce
	rc.OnDrbdDemoteFailure = "none"
	if f.OnDrbdDemoteFailure != nil {
		if _, ok := demoteFailureCommands[*f.OnDrbdDemoteFailure]; !ok {
			return nil, keyErr("on-drbd-demote-failure", "%q is not one of none, reboot, reboot-force, reboot-immediate, poweroff, poweroff-force, poweroff-immediate", *f.OnDrbdDemoteFailure)
		}
		rc.OnDrbdDemoteFailure = *f.OnDrbdDemoteFailure
	}
	rc.DemoteFailureCommand = demoteFailureCommands[rc.OnDrbdDemoteFailure]
	if f.DemoteFailureCommand != nil {
		if rc.OnDrbdDemoteFailure == "none" {
			return nil, keyErr("demote-failure-command", "is set but on-drbd-demote-failure is \"none\": choose the action it stands for")
		}
		if strings.TrimSpace(*f.DemoteFailureCommand) == "" {
			return nil, keyErr("demote-failure-command", "is empty")
		}
		rc.DemoteFailureCommand = *f.DemoteFailureCommand
	}
	if fs := f.Filesystem; fs != nil {
		if fs.Device == "" {
			return nil, keyErr("filesystem.device", "is required (e.g. \"/dev/drbd0\")")
		}
		if !filepath.IsAbs(fs.Mountpoint) {
			return nil, keyErr("filesystem.mountpoint", "%q is not an absolute path", fs.Mountpoint)
		}
		if strings.ContainsAny(fs.FSType+fs.Options, " \t\n") {
			return nil, keyErr("filesystem", "fstype and options must not contain blanks")
		}
		rc.Filesystem = &Filesystem{Device: fs.Device, Mountpoint: filepath.Clean(fs.Mountpoint), FSType: fs.FSType, Options: fs.Options}
	}
	if a := f.Address; a != nil {
		p, err := netip.ParsePrefix(a.IP)
		if err != nil {
			return nil, keyErr("address.ip", "%q is not ADDRESS/PREFIXLEN (e.g. \"192.168.10.100/24\")", a.IP)
		}
		if !p.Addr().Is4() {
			return nil, keyErr("address.ip", "%q: only IPv4 is supported (gratuitous ARP)", a.IP)
		}
		if a.Interface == "" {
			return nil, keyErr("address.interface", "is required (e.g. \"eth0\")")
		}
		ad := &Address{Interface: a.Interface, Prefix: p, ARPCount: 3}
		if a.ARPCount != nil {
			if *a.ARPCount < 0 || *a.ARPCount > 100 {
				return nil, keyErr("address.arp-count", "%d is out of range (0..100)", *a.ARPCount)
			}
			ad.ARPCount = int(*a.ARPCount)
		}
		if ad.ARPInterval, err = duration("address.arp-interval", a.ARPInterval, 200*time.Millisecond, 0); err != nil {
			return nil, err
		}
		rc.Address = ad
	}
	return rc, nil
}

// DeriveStop returns the stop command for a start command of an obvious
// form: "systemctl [OPTS] start|restart UNIT..." gives
// "systemctl [OPTS] stop UNIT...", "service NAME start" and
// "rc-service NAME start" give "... stop", "/etc/init.d/NAME start" gives
// "/etc/init.d/NAME stop". Anything else has no obvious stop form.
func DeriveStop(start string) (string, bool) {
	f := strings.Fields(start)
	if len(f) < 2 || strings.ContainsAny(start, ";&|<>`$()\"'\\") {
		return "", false
	}
	if len(f) == 2 && strings.Contains(f[0], "/init.d/") && (f[1] == "start" || f[1] == "restart") {
		return f[0] + " stop", true
	}
	switch filepath.Base(f[0]) {
	case "systemctl":
		for i := 1; i < len(f)-1; i++ {
			if strings.HasPrefix(f[i], "-") {
				continue
			}
			if f[i] != "start" && f[i] != "restart" {
				return "", false
			}
			out := slices.Clone(f)
			out[i] = "stop"
			return strings.Join(out, " "), true
		}
	case "service", "rc-service":
		if len(f) == 3 && (f[2] == "start" || f[2] == "restart") {
			return f[0] + " " + f[1] + " stop", true
		}
	}
	return "", false
}
