# timeout: 900
# fio --verify=crc32c random writes of mixed block sizes (4 KiB-1 MiB) at
# iodepth 1, 16 and 64 on /dev/ublkb2 with 1 and 2 queues: no verify error.
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
tmpdisk /tmp/u 256
for q in 1 2; do
  serve 2 /tmp/u/log -queues $q /tmp/u/disk
  pid=$upid
  for d in 1 16 64; do
    step "queues $q iodepth $d"
    fio --name=verify --filename=/dev/ublkb2 --direct=1 --ioengine=libaio \
      --rw=randwrite --bsrange=4k-1m --iodepth=$d --numjobs=2 --size=96m --offset_increment=112m \
      --verify=crc32c --do_verify=1 --verify_fatal=1 --random_generator=tausworthe64 \
      --randseed=$((q * 100 + d)) --group_reporting --eta=never --output=/tmp/u/fio.out
    rc=$?
    grep -E 'WRITE:|READ:|err=' /tmp/u/fio.out
    [ $rc -eq 0 ] || { cat /tmp/u/fio.out; fail "fio verify failed (queues $q iodepth $d)"; }
    grep -q 'err= 0' /tmp/u/fio.out || fail "fio reported an error"
  done
  kill -TERM $pid
  wait $pid || fail "ublkfile exit status $?"
done
step "fio verify ok"
