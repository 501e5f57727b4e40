# timeout: 400
# kill -9 of udrbd with a mounted ext4 and fio verify running; restart:
# the configuration comes back from the state dir, the ublk device is
# recovered, the mount survives, fio finishes without a verify error,
# umount and e2fsck are clean. Then SIGTERM + restart the same way.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap showlog EXIT
mkdisk 256
startd
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 $N/disk $N/disk internal
must ctl primary 0 --force
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
must mkfs.ext4 -q -F /dev/drbd0
mkdir -p /mnt/n && must mount /dev/drbd0 /mnt/n

step "kill -9 during fio verify on the mounted ext4"
fio --name=v --directory=/mnt/n --size=64m --rw=randwrite --bs=4k --iodepth=16 \
  --ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1 --do_verify=1 \
  --eta=never --output=$N/fio.out &
fpid=$!
sleep 3
kill -9 $dpid; wait $dpid 2>/dev/null
sleep 1
grep -q /mnt/n /proc/mounts || fail "unmounted after kill"
startd
ctl state 0
grep -q 'block device recovered' $N/udrbd.log || fail "the ublk device was not recovered"
grep -E 'recovered|restore' $N/udrbd.log | tail -n 3
wait $fpid || { cat $N/fio.out; fail "fio failed across the restart"; }
grep -E 'WRITE:|READ:|err=' $N/fio.out
grep -q 'err= 0' $N/fio.out || fail "fio reported an error"

step "SIGTERM leaves the device for recovery"
dd if=/dev/urandom of=/mnt/n/keep bs=1M count=8 status=none; sync
sum=$(md5sum < /mnt/n/keep)
kill -TERM $dpid; wait $dpid
grep -q /mnt/n /proc/mounts || fail "unmounted after SIGTERM"
startd
[ "$(md5sum < /mnt/n/keep)" = "$sum" ] || fail "file changed"
dd if=/dev/urandom of=/mnt/n/after bs=1M count=4 status=none || fail "write after restart"
sync
must umount /mnt/n
e2fsck -fn /dev/drbd0 || fail "e2fsck after restarts"
must ctl secondary 0
must ctl down r0
kill -TERM $dpid; wait $dpid
trap - EXIT
step "node-restart ok"
