# timeout: 900
# User recovery: ublkfile -recovery serves /dev/ublkb3; it is SIGKILLed while
# fio writes with verify, restarted with -recover, and fio finishes with no IO
# and no verify error. Then with ext4 mounted: kill, keep writing, recover,
# every file reads back and fsck is clean. Without -recovery a killed server's
# device is removed.
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
tmpdisk /tmp/u 320
serve 3 /tmp/u/log -recovery /tmp/u/disk
pid=$upid
ublkfile -info 3

step "SIGKILL during fio verify"
fio --name=verify --filename=/dev/ublkb3 --direct=1 --ioengine=libaio \
  --rw=randwrite --bsrange=4k-128k --iodepth=16 --size=300m \
  --verify=crc32c --do_verify=1 --verify_fatal=1 --eta=never --output=/tmp/u/fio.out &
fpid=$!
kills=0
for round in 1 2 3 4; do
  sleep 2
  kill -0 $fpid 2>/dev/null || break
  kills=$((kills + 1))
  step "round $round: kill -9 $pid"
  kill -9 $pid
  wait $pid 2>/dev/null
  sleep 1
  ublkfile -info 3
  ublkfile -id 3 -recover /tmp/u/disk 2>>/tmp/u/log &
  pid=$!
  waitlive 3 /tmp/u/log
  grep serving /tmp/u/log | tail -n1
done
wait $fpid
rc=$?
grep -E 'WRITE:|READ:|err=' /tmp/u/fio.out
[ $rc -eq 0 ] || { cat /tmp/u/fio.out; fail "fio failed across server kills (rc $rc)"; }
[ $kills -ge 2 ] || fail "only $kills kills landed while fio ran; make the fio job longer"
grep -q 'err= 0' /tmp/u/fio.out || fail "fio reported an error"

step "SIGKILL with ext4 mounted"
must mkfs.ext4 -q -F /dev/ublkb3
mkdir -p /mnt/u && must mount /dev/ublkb3 /mnt/u
must dd if=/dev/urandom of=/tmp/u/src bs=1M count=2 status=none
i=0; while [ $i -lt 100 ]; do dd if=/tmp/u/src of=/mnt/u/a$i bs=4k count=$((i % 50 + 1)) status=none; i=$((i+1)); done
sync
kill -9 $pid; wait $pid 2>/dev/null
# IO issued while no server runs: it must wait, not fail.
( i=0; while [ $i -lt 100 ]; do dd if=/tmp/u/src of=/mnt/u/b$i bs=4k count=$((i % 30 + 1)) status=none || exit 1; i=$((i+1)); done; sync ) &
wpid=$!
sleep 2
ublkfile -info 3
grep -q ublkb3 /proc/mounts || fail "filesystem unmounted after server kill"
ublkfile -id 3 -recover /tmp/u/disk 2>>/tmp/u/log &
pid=$!
wait $wpid || fail "writes during the outage failed"
(cd /mnt/u && md5sum a* b*) > /tmp/u/sums
must umount /mnt/u
echo 3 > /proc/sys/vm/drop_caches
must mount /dev/ublkb3 /mnt/u
(cd /mnt/u && md5sum -c -s /tmp/u/sums) || fail "files differ after recovery"
i=0; while [ $i -lt 100 ]; do cmp -n $(( (i % 30 + 1) * 4096 )) /tmp/u/src /mnt/u/b$i || fail "b$i wrong"; i=$((i+1)); done
must umount /mnt/u
e2fsck -fn /dev/ublkb3 || fail "e2fsck after recovery"
kill -TERM $pid; wait $pid || fail "ublkfile exit status $?"
[ -e /dev/ublkb3 ] && fail "/dev/ublkb3 left behind"

step "no recovery: a killed server's device goes away"
serve 4 /tmp/u/log /tmp/u/disk
kill -9 $upid; wait $upid 2>/dev/null
waitfor 20 "/dev/ublkb4 removed" sh -c '! test -e /dev/ublkb4'
ublkfile -info 4
must ublkfile -delete 4
waitfor 10 "/dev/ublkc4 removed" sh -c '! test -e /dev/ublkc4'
step "recovery ok"
