package failover

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
node-name = "alpha"
[programs]
drbdsetup = "/usr/local/bin/drbdsetup"

[promoter.resources.r0]
runner = "shell"
start = ["systemctl start web.service", "/usr/local/bin/warm-cache"]
stop = ["systemctl stop web.service", ""]
fencing = "resource-only"
sleep-before-promote-factor = 2
preferred-nodes = ["alpha", "beta"]
fencing-promote-delay = 3
promote-retry-interval = "5s"
timeout = "30s"
drbd-timeout = "1m"
stop-services-on-exit = false
secondary-force = false
on-drbd-demote-failure = "reboot-force"
demote-failure-command = "echo b > /proc/sysrq-trigger"

[promoter.resources.r0.filesystem]
device = "/dev/drbd0"
mountpoint = "/srv/data/"
fstype = "ext4"
options = "noatime,nodiratime"

[promoter.resources.r0.address]
ip = "192.168.10.100/24"
interface = "eth0"
arp-count = 5
arp-interval = "1s"

[promoter.resources.r1]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		NodeName: "alpha",
		Programs: Programs{Drbdsetup: "/usr/local/bin/drbdsetup", Mount: "mount", Umount: "umount", Fuser: "fuser", Shell: "sh"},
		Resources: []*ResourceConfig{{
			Name:                     "r0",
			Start:                    []string{"systemctl start web.service", "/usr/local/bin/warm-cache"},
			Stop:                     []string{"systemctl stop web.service", ""},
			Fencing:                  "resource-only",
			SleepBeforePromoteFactor: 2,
			PreferredNodes:           []string{"alpha", "beta"},
			FencingPromoteDelay:      3,
			PromoteRetryInterval:     5 * time.Second,
			Timeout:                  30 * time.Second,
			DrbdTimeout:              time.Minute,
			OnDrbdDemoteFailure:      "reboot-force",
			DemoteFailureCommand:     "echo b > /proc/sysrq-trigger",
			Filesystem:               &Filesystem{Device: "/dev/drbd0", Mountpoint: "/srv/data", FSType: "ext4", Options: "noatime,nodiratime"},
			Address:                  &Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.168.10.100/24"), ARPCount: 5, ARPInterval: time.Second},
		}, {
			// every default
			Name: "r1", Start: nil, Stop: []string{}, Fencing: "auto", SleepBeforePromoteFactor: 1, FencingPromoteDelay: 5,
			PromoteRetryInterval: 20 * time.Second, Timeout: 60 * time.Second, DrbdTimeout: 121 * time.Second,
			StopServicesOnExit: true, SecondaryForce: true, OnDrbdDemoteFailure: "none",
		}},
	}
	if d := cmp.Diff(want, c, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte("[promoter.resources.r0]\nstart = [\"systemctl start a.service b.service\", \"service nfs-server start\"]\non-drbd-demote-failure = \"poweroff\"\n[promoter.resources.r0.address]\nip = \"10.0.0.5/8\"\ninterface = \"br0\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	r := c.Resources[0]
	if c.NodeName != host {
		t.Errorf("node name %q, want the host name %q", c.NodeName, host)
	}
	if d := cmp.Diff([]string{"systemctl stop a.service b.service", "service nfs-server stop"}, r.Stop); d != "" {
		t.Errorf("derived stop (-want +got):\n%s", d)
	}
	if r.DemoteFailureCommand != "systemctl poweroff" {
		t.Errorf("demote failure command %q", r.DemoteFailureCommand)
	}
	if r.Address.ARPCount != 3 || r.Address.ARPInterval != 200*time.Millisecond {
		t.Errorf("address defaults %+v", r.Address)
	}
}

func TestParseConfigErrors(t *testing.T) {
	res := "[promoter.resources.r0]\n"
	tests := []struct{ name, toml, want string }{
		{"not toml", "promoter = [", "line 1"},
		{"unknown top-level key", "nodename = \"a\"\n" + res, "unknown key nodename"},
		{"unknown resource key", res + "strat = [\"x\"]\n", "unknown key promoter.resources.r0.strat"},
		{"unknown filesystem key", res + "[promoter.resources.r0.filesystem]\ndevice = \"/dev/drbd0\"\nmountpoint = \"/m\"\nfs-type = \"ext4\"\n", "unknown key promoter.resources.r0.filesystem.fs-type"},
		{"unknown programs key", "[programs]\ndrbdadm = \"x\"\n" + res, "unknown key programs.drbdadm"},
		{"no resources", "node-name = \"a\"\n", "nothing to watch"},
		{"wrong type", res + "start = \"systemctl start a\"\n", "start"},
		{"bad resource name", "[promoter.resources.\"a/b\"]\n", "not a DRBD resource name"},
		{"systemd runner", res + "runner = \"systemd\"\n", "promoter.resources.r0.runner: \"systemd\" is not supported"},
		{"empty start", res + "start = [\"  \"]\n", "promoter.resources.r0.start: entry 0 is empty"},
		{"stop of another length", res + "start = [\"a\", \"b\"]\nstop = [\"x\"]\n", "promoter.resources.r0.stop: has 1 entries but start has 2"},
		{"no obvious stop", res + "start = [\"/usr/bin/myservice --daemon\"]\n", "promoter.resources.r0.start: entry 0 (\"/usr/bin/myservice --daemon\") has no obvious stop command: set stop"},
		{"bad fencing", res + "fencing = \"yes\"\n", "promoter.resources.r0.fencing: \"yes\" is not one of"},
		{"negative factor", res + "sleep-before-promote-factor = -1\n", "sleep-before-promote-factor: -1 is out of range"},
		{"huge fencing delay", res + "fencing-promote-delay = 100000\n", "fencing-promote-delay: 100000 is out of range"},
		{"duplicate preferred node", res + "preferred-nodes = [\"a\", \"a\"]\n", "preferred-nodes: \"a\" is empty or listed twice"},
		{"bad duration", res + "timeout = \"30\"\n", "promoter.resources.r0.timeout: \"30\" is not a duration"},
		{"too short", res + "drbd-timeout = \"1ns\"\n", "drbd-timeout: 1ns is too short"},
		{"bad retry", res + "promote-retry-interval = \"soon\"\n", "promote-retry-interval: \"soon\" is not a duration"},
		{"bad demote failure action", res + "on-drbd-demote-failure = \"explode\"\n", "on-drbd-demote-failure: \"explode\" is not one of"},
		{"command without action", res + "demote-failure-command = \"reboot -f\"\n", "demote-failure-command: is set but on-drbd-demote-failure is \"none\""},
		{"empty command", res + "on-drbd-demote-failure = \"reboot\"\ndemote-failure-command = \" \"\n", "demote-failure-command: is empty"},
		{"no device", res + "[promoter.resources.r0.filesystem]\nmountpoint = \"/m\"\n", "filesystem.device: is required"},
		{"relative mountpoint", res + "[promoter.resources.r0.filesystem]\ndevice = \"/dev/drbd0\"\nmountpoint = \"m\"\n", "filesystem.mountpoint: \"m\" is not an absolute path"},
		{"blank in options", res + "[promoter.resources.r0.filesystem]\ndevice = \"/dev/drbd0\"\nmountpoint = \"/m\"\noptions = \"a b\"\n", "must not contain blanks"},
		{"bad ip", res + "[promoter.resources.r0.address]\nip = \"10.0.0.1\"\ninterface = \"eth0\"\n", "address.ip: \"10.0.0.1\" is not ADDRESS/PREFIXLEN"},
		{"ipv6", res + "[promoter.resources.r0.address]\nip = \"fd00::1/64\"\ninterface = \"eth0\"\n", "only IPv4"},
		{"no interface", res + "[promoter.resources.r0.address]\nip = \"10.0.0.1/24\"\n", "address.interface: is required"},
		{"arp count", res + "[promoter.resources.r0.address]\nip = \"10.0.0.1/24\"\ninterface = \"eth0\"\narp-count = 1000\n", "address.arp-count: 1000 is out of range"},
		{"arp interval", res + "[promoter.resources.r0.address]\nip = \"10.0.0.1/24\"\ninterface = \"eth0\"\narp-interval = \"x\"\n", "address.arp-interval: \"x\" is not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.toml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.toml")
	if err := os.WriteFile(p, []byte("[promoter.resources.r0]\nbogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.HasPrefix(err.Error(), p+": unknown key promoter.resources.r0.bogus") {
		t.Errorf("err = %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Error("a missing file loaded")
	}
}

// The shipped example must stay loadable.
func TestExampleConfig(t *testing.T) {
	c, err := LoadConfig("../scripts/failover/udrbd-failover.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resources) == 0 || c.Resources[0].Filesystem == nil || c.Resources[0].Address == nil || len(c.Resources[0].Start) == 0 {
		t.Errorf("example config lacks a part: %+v", c.Resources[0])
	}
}

func TestDeriveStop(t *testing.T) {
	tests := []struct{ start, stop string }{
		{"systemctl start nginx.service", "systemctl stop nginx.service"},
		{"systemctl restart nginx", "systemctl stop nginx"},
		{"/bin/systemctl --no-block start a b", "/bin/systemctl --no-block stop a b"},
		{"service postgresql start", "service postgresql stop"},
		{"rc-service nfs restart", "rc-service nfs stop"},
		{"/etc/init.d/apache2 start", "/etc/init.d/apache2 stop"},
		{"systemctl enable --now x", ""},
		{"systemctl start", ""},
		{"systemctl start x; rm -rf /", ""},
		{"service a b start", ""},
		{"/usr/bin/daemon", ""},
		{"start", ""},
	}
	for _, tt := range tests {
		got, ok := DeriveStop(tt.start)
		if got != tt.stop || ok != (tt.stop != "") {
			t.Errorf("DeriveStop(%q) = %q, %v; want %q", tt.start, got, ok, tt.stop)
		}
	}
}
