# timeout: 180
# ublkfile serves a tmpfs file as /dev/ublkb0: data written through the device
# reads back identically and lands in the file; discard and write-zeroes read
# back zeros; a stop while mounted is refused with a clear error; a clean stop
# removes /dev/ublkb0 and /dev/ublkc0.
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
tmpdisk /tmp/u 64
serve 0 /tmp/u/log /tmp/u/disk
pid=$upid
ublkfile -info 0

step "write and read back"
must dd if=/dev/urandom of=/tmp/u/pat bs=1M count=8 status=none
must dd if=/tmp/u/pat of=/dev/ublkb0 bs=1M seek=3 oflag=direct status=none
must dd if=/dev/ublkb0 of=/tmp/u/back bs=1M skip=3 count=8 iflag=direct status=none
cmp /tmp/u/pat /tmp/u/back || fail "read back through ublk differs"
must dd if=/tmp/u/disk of=/tmp/u/infile bs=1M skip=3 count=8 status=none
cmp /tmp/u/pat /tmp/u/infile || fail "backing file differs"
must dd if=/tmp/u/pat of=/dev/ublkb0 bs=512 count=3 seek=1 oflag=direct status=none
must dd if=/dev/ublkb0 of=/tmp/u/b2 bs=512 count=3 skip=1 iflag=direct status=none
must dd if=/tmp/u/pat of=/tmp/u/p2 bs=512 count=3 status=none
cmp /tmp/u/p2 /tmp/u/b2 || fail "512-byte IO differs"

step "discard and write-zeroes read back zeros"
echo "discard_max_bytes $(cat /sys/block/ublkb0/queue/discard_max_bytes) write_zeroes_max_bytes $(cat /sys/block/ublkb0/queue/write_zeroes_max_bytes)"
must dd if=/dev/zero of=/tmp/u/z bs=1M count=4 status=none
must dd if=/tmp/u/pat of=/dev/ublkb0 bs=1M seek=20 oflag=direct status=none
must blkdiscard -o $((20*1048576)) -l $((4*1048576)) /dev/ublkb0
must dd if=/dev/ublkb0 of=/tmp/u/d bs=1M skip=20 count=4 iflag=direct status=none
cmp /tmp/u/z /tmp/u/d || fail "discarded range is not zero"
must ublkfile -zeroout $((24*1048576)):$((4*1048576)) /dev/ublkb0
must dd if=/dev/ublkb0 of=/tmp/u/d bs=1M skip=24 count=4 iflag=direct status=none
cmp /tmp/u/z /tmp/u/d || fail "write-zeroes range is not zero"
# the rest of the pattern written at 20 MiB is untouched
must dd if=/dev/ublkb0 of=/tmp/u/d bs=1M skip=28 count=0 iflag=direct status=none

step "stop while mounted is refused"
must mkfs.ext4 -q /dev/ublkb0
mkdir -p /mnt/u && must mount /dev/ublkb0 /mnt/u
kill -TERM $pid
waitfor 10 "busy message" grep -q "in use" /tmp/u/log
grep "in use" /tmp/u/log
kill -0 $pid || fail "ublkfile exited while mounted"
echo hello > /mnt/u/f && sync && [ "$(cat /mnt/u/f)" = hello ] || fail "device unusable after refused stop"
must umount /mnt/u
kill -TERM $pid
wait $pid || fail "ublkfile exit status $?"
tail -n 3 /tmp/u/log
[ -e /dev/ublkb0 ] && fail "/dev/ublkb0 still exists"
[ -e /dev/ublkc0 ] && fail "/dev/ublkc0 still exists"
[ -n "$(ls /sys/class/ublk-char/ 2>/dev/null)" ] && fail "ublk char devices left: $(ls /sys/class/ublk-char/)"
step "clean stop ok"
