# timeout: 240
# The oracle works: two kernel-DRBD 8.4 resources in the guest (initial namespace,
# loopback, two ports), set up with drbd-utils' drbdmeta and drbdsetup-84, reach
# Connected UpToDate/UpToDate and replicate 64 MiB written with protocol C; the two
# backing disks' data areas checksum equal.
. /udrbd/lib.sh
export PATH=$PATH:/usr/lib/drbd
S=drbdsetup-84
# No drbd.conf here: the kernel's handler calls (drbdadm before-resync-source ...) would
# fail and drop the connection, so the usermode helper is a no-op.
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
size_mb=80
for i in 0 1; do
  must truncate -s ${size_mb}M /tmp/disk$i.img
  must losetup /dev/loop$i /tmp/disk$i.img
  must drbdmeta --force $i v08 /dev/loop$i internal create-md
done
step "create resources"
port0=7789 port1=7790
for i in 0 1; do
  must $S new-resource r$i
  must $S new-minor r$i $i 0
  must $S attach $i /dev/loop$i /dev/loop$i internal --c-plan-ahead=0 --resync-rate=400M
done
must $S connect r0 ipv4:127.0.0.1:$port0 ipv4:127.0.0.1:$port1 --protocol=C
must $S connect r1 ipv4:127.0.0.1:$port1 ipv4:127.0.0.1:$port0 --protocol=C
waitfor 30 "r0 Connected" is Connected $S 0 cstate
waitfor 30 "r1 Connected" is Connected $S 1 cstate
cat /proc/drbd
step "initial full sync"
must $S primary 0 --force
waitfor 120 "r0 UpToDate/UpToDate (sync: $(sed -n 's/.*sync.ed: *//p;s/.*oos:/oos:/p' /proc/drbd | tr '\n' ' '))" is UpToDate/UpToDate $S 0 dstate
waitfor 120 "r1 UpToDate/UpToDate" is UpToDate/UpToDate $S 1 dstate
cat /proc/drbd
[ "$($S 0 dstate)" = "UpToDate/UpToDate" ] || fail "r0 dstate is $($S 0 dstate)"
[ "$($S 1 dstate)" = "UpToDate/UpToDate" ] || fail "r1 dstate is $($S 1 dstate)"
[ "$($S 0 cstate)" = "Connected" ] || fail "r0 cstate is $($S 0 cstate)"
$S status r0 --verbose
step "write 64 MiB with protocol C"
must dd if=/dev/urandom of=/tmp/data bs=1M count=64 status=none
must dd if=/tmp/data of=/dev/drbd0 bs=1M oflag=direct status=none
want=$(datasum /tmp/data) || exit 1
bytes=$(blockdev --getsize64 /dev/drbd0)
step "down both and compare the data areas ($bytes bytes)"
must $S down r0
must $S down r1
a=$(datasum /tmp/disk0.img "$bytes") || exit 1
b=$(datasum /tmp/disk1.img "$bytes") || exit 1
w=$(datasum /tmp/disk1.img $((64 * 1024 * 1024))) || exit 1
echo "data area checksums: primary $a secondary $b"
[ "$a" = "$b" ] || fail "data areas differ"
[ "$w" = "$want" ] || fail "the secondary does not hold the 64 MiB written"
step "kernel-drbd-pair ok"
