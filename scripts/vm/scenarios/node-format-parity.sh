# timeout: 300
# Format parity with the kernel: udrbd attaches a disk made by drbd-utils'
# create-md and writes through ext4; drbd-utils' drbdmeta reads what udrbd
# left (apply-al, dump-md); kernel drbd.ko attaches that disk and serves the
# same filesystem; udrbd then attaches the disk the kernel used.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap showlog EXIT
mkdir -p $N /mnt/n
truncate -s 256M $N/disk
LOOP=$(losetup -f) && losetup $LOOP $N/disk || fail losetup
/usr/sbin/drbdmeta --force 0 v08 $LOOP internal create-md >/dev/null 2>&1 || fail create-md
startd

step "udrbd: write a filesystem"
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 $LOOP $LOOP internal
must ctl primary 0 --force
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
must mkfs.ext4 -q -F /dev/drbd0
must mount /dev/drbd0 /mnt/n
must dd if=/dev/urandom of=/mnt/n/f bs=1M count=16 status=none
sum=$(md5sum < /mnt/n/f)
must umount /mnt/n
must ctl secondary 0
must ctl detach 0
must ctl down r0

step "drbd-utils reads udrbd's meta-data"
/usr/sbin/drbdmeta --force 0 v08 $LOOP internal apply-al || fail apply-al
/usr/sbin/drbdmeta --force 0 v08 $LOOP internal dump-md > $N/dump 2>/dev/null || fail dump-md
grep -E '^uuid|^flags|^la-size|bm-byte|^    # bits-set' $N/dump | head

step "kernel drbd.ko attaches the disk udrbd wrote"
K=/usr/lib/drbd/drbdsetup-84
# No drbd.conf here: a helper call must not fail the run.
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
must $K new-resource k0
must $K new-minor k0 5 0
must $K attach 5 $LOOP $LOOP internal
$K dstate 5
[ "$($K dstate 5)" = "UpToDate/DUnknown" ] || fail "kernel: disk $($K dstate 5)"
must $K primary 5
waitfor 10 /dev/drbd5 test -b /dev/drbd5
must mount /dev/drbd5 /mnt/n
[ "$(md5sum < /mnt/n/f)" = "$sum" ] || fail "kernel reads another file"
must dd if=/dev/urandom of=/mnt/n/g bs=1M count=4 status=none
sumg=$(md5sum < /mnt/n/g)
must umount /mnt/n
must $K secondary 5
must $K detach 5
must $K down k0

step "udrbd attaches the disk the kernel used"
/usr/sbin/drbdmeta --force 0 v08 $LOOP internal apply-al || fail "apply-al after the kernel"
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 $LOOP $LOOP internal
ctl state 0
[ "$(ctl state 0 | cut -d' ' -f3)" = UpToDate ] || fail "udrbd: disk $(ctl state 0)"
must ctl primary 0
must mount /dev/drbd0 /mnt/n
[ "$(md5sum < /mnt/n/f)" = "$sum" ] || fail "f differs"
[ "$(md5sum < /mnt/n/g)" = "$sumg" ] || fail "g differs"
must umount /mnt/n
e2fsck -fn /dev/drbd0 >/dev/null || fail e2fsck
must ctl secondary 0
must ctl down r0
kill -TERM $dpid; wait $dpid
trap - EXIT
losetup -d $LOOP
step "node-format-parity ok"
