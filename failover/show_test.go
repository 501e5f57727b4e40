package failover

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"udrbd/drbd"
)

// showTwoVolumes is `drbdsetup show r0` (8.4 format) with fencing on
// volume 1 only and another resource after it.
const showTwoVolumes = `resource r0 {
    options {
    }
    net {
        cram-hmac-alg   	"sha1";
        shared-secret   	"secret";
    }
    _remote_host {
        address			ipv4 10.1.1.32:7789;
    }
    _this_host {
        address			ipv4 10.1.1.31:7789;
        volume 0 {
            device			minor 1;
            disk			"/dev/sda7";
            meta-disk			internal;
            disk {
                resync-rate     	10240k; # bytes/second
            }
        }
        volume 1 {
            device			minor 2;
            disk			"/dev/sda8";
            meta-disk			internal;
            disk {
                fencing         	resource-and-stonith;
            }
        }
    }
}

resource r1 {
    options {
    }
    _this_host {
        volume 0 {
            device			minor 3;
            disk			"/dev/sdb1";
            meta-disk			internal;
            disk {
                fencing         	resource-only;
            }
        }
    }
}
`

func TestParseShowFencing(t *testing.T) {
	tests := []struct {
		name, out, res string
		want           map[int]drbd.FencingPolicy
	}{
		{"two volumes", showTwoVolumes, "r0", map[int]drbd.FencingPolicy{0: drbd.FPDontCare, 1: drbd.FPStonith}},
		{"second resource", showTwoVolumes, "r1", map[int]drbd.FencingPolicy{0: drbd.FPResource}},
		{"diskless volume", "resource r2 {\n    options {\n    }\n    _this_host {\n        volume 0 {\n            device\t\t\tminor 4;\n        }\n    }\n}\n", "r2",
			map[int]drbd.FencingPolicy{0: drbd.FPDontCare}},
		{"no volumes", "resource r3 {\n    options {\n    }\n    _this_host {\n    }\n}\n", "r3", map[int]drbd.FencingPolicy{}},
		{"show-defaults", "resource r4 {\n    _this_host {\n        volume 0 {\n            disk {\n                fencing         \tdont-care; # default\n            }\n        }\n    }\n}\n", "r4",
			map[int]drbd.FencingPolicy{0: drbd.FPDontCare}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShowFencing(tt.out, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseShowFencingErrors(t *testing.T) {
	tests := []struct{ name, out, res, want string }{
		{"missing resource", showTwoVolumes, "r9", "not in the drbdsetup show output"},
		{"empty output", "", "r0", "not in the drbdsetup show output"},
		{"unknown policy", "resource r0 {\n _this_host {\n volume 0 {\n disk {\n fencing sometimes;\n }\n }\n }\n}\n", "r0", "unknown fencing policy"},
		{"unbalanced", "resource r0 {\n}\n}\n", "r0", "unbalanced"},
		{"unclosed", "resource r0 {\n", "r0", "unclosed"},
		{"bad volume", "resource r0 {\n _this_host {\n volume x {\n }\n }\n}\n", "r0", "bad volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseShowFencing(tt.out, tt.res)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
