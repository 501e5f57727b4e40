# timeout: 300
# One udrbd node: udrbd starts, new-resource / new-minor / attach /
# primary --force on a 256 MiB sparse file with meta-data from drbd-utils'
# drbdmeta; mkfs.ext4 on /dev/ublkb0, mount, write, umount, e2fsck clean,
# secondary, detach, down; the refusals on the way; drbdmeta reads what
# udrbd wrote.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap showlog EXIT
mkdisk 256
startd
udrbd --version

step "a second daemon on the same socket / state dir is refused"
udrbd --state-dir $N/state 2>$N/second.log && fail "second daemon started"
cat $N/second.log
grep -q "in use" $N/second.log || fail "second daemon: no clear refusal"
udrbd --state-dir $N/state2 2>$N/second.log && fail "second daemon on the same socket started"
cat $N/second.log
grep -q "socket .* in use" $N/second.log || fail "second daemon (same socket): no clear refusal"

step "new-resource, new-minor"
must ctl new-resource r0
must ctl new-minor r0 0 0
[ -L /dev/drbd0 ] || fail "/dev/drbd0 symlink missing"
[ "$(readlink /dev/drbd/by-res/r0/0)" = /dev/ublkb0 ] || fail "by-res symlink wrong"
ctl detach 0; echo "detach of a diskless minor: rc $?"

step "attach refusals"
expect "ERR_OPEN_DISK" ctl attach 0 /tmp/n/missing /tmp/n/missing internal
truncate -s 512K $N/small
expect "ERR_MD_DISK_TOO_SMALL" ctl attach 0 $N/small $N/small internal

step "attach"
must ctl attach 0 $N/disk $N/disk internal
ctl state 0
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
# fresh meta-data (la_size 0): like the kernel, every bit is out of sync
bits=$(( ($(blockdev --getsz /dev/ublkb0) + 7) / 8 ))
[ "$bits" -gt 0 ] || fail "no device size"
[ "$(ctl state 0)" = "Secondary StandAlone Inconsistent oos=$bits" ] || fail "state after attach: $(ctl state 0), want oos=$bits"
od -A d -t x1 -j $((256*1024*1024 - 4096)) -N 16 $N/disk
expect "SS_NO_UP_TO_DATE_DISK" ctl primary 0

step "primary --force, mkfs, mount, write"
must ctl primary 0 --force
[ "$(ctl state 0 | cut -d' ' -f1,3)" = "Primary UpToDate" ] || fail "state: $(ctl state 0)"
must mkfs.ext4 -q -F /dev/ublkb0
mkdir -p /mnt/n && must mount /dev/drbd0 /mnt/n
must dd if=/dev/urandom of=/mnt/n/file bs=1M count=20 status=none
sum=$(md5sum < /mnt/n/file)
sync
expect "SS_DEVICE_IN_USE" ctl secondary 0
must umount /mnt/n
echo 3 > /proc/sys/vm/drop_caches
must mount /dev/ublkb0 /mnt/n
[ "$(md5sum < /mnt/n/file)" = "$sum" ] || fail "file changed after remount"
must umount /mnt/n
e2fsck -fn /dev/ublkb0 || fail "e2fsck"
ctl state 0

step "secondary, detach, down"
must ctl secondary 0
must ctl detach 0
[ "$(ctl state 0 | cut -d' ' -f3)" = Diskless ] || fail "not Diskless after detach"
expect "ERR_MD_UNCLEAN" ctl attach 0 $N/disk $N/disk internal
must ctl down r0
[ -e /dev/drbd0 ] && fail "/dev/drbd0 left behind"
waitfor 20 "/dev/ublkb0 removed" sh -c '! test -e /dev/ublkb0'

step "drbd-utils reads udrbd's meta-data"
/usr/sbin/drbdmeta --force 0 v08 $N/disk internal apply-al || fail "apply-al"
/usr/sbin/drbdmeta --force 0 v08 $N/disk internal dump-md > $N/dump 2>&1 || { cat $N/dump; fail "dump-md"; }
head -n 12 $N/dump
grep -q '^flags 0x00000019;' $N/dump || grep -q 'flags' $N/dump || fail "no flags in dump"

step "re-attach after apply-al; data intact"
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 $N/disk $N/disk internal
ctl state 0
[ "$(ctl state 0 | cut -d' ' -f3)" = UpToDate ] || fail "re-attached disk not UpToDate: $(ctl state 0)"
must ctl primary 0
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
must mount /dev/ublkb0 /mnt/n
[ "$(md5sum < /mnt/n/file)" = "$sum" ] || fail "file changed after re-attach"
must umount /mnt/n
must ctl down r0
kill -TERM $dpid; wait $dpid
trap - EXIT
step "node-basic ok"
