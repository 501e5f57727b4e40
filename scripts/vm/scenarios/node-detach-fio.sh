# timeout: 400
# The seed scenario for real: fio 4 KiB randwrite QD64 on /dev/drbd0 with
# al-extents 7 while "detach" runs. A StandAlone Primary may not drop its
# only UpToDate disk (the kernel answers SS_NO_UP_TO_DATE_DISK, and so do
# we), so the detach that goes through is "detach --force": it must return,
# and the disk must reach Diskless, within 1 s with 64 writers parked in an
# activity log of 7 extents; nothing hangs. Then attach/detach cycles under
# fio.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap showlog EXIT
mkdisk 256
startd
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 $N/disk $N/disk internal al-extents=7
must ctl primary 0 --force
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0

fiojob() {
  fio --name=seed --filename=/dev/drbd0 --direct=1 --ioengine=libaio --rw=randwrite \
    --bs=4k --iodepth=64 --size=256m --time_based --runtime="$1" --eta=never \
    --continue_on_error=all --output=$N/fio.out >/dev/null 2>&1 &
  fpid=$!
}

step "detach under fio 4k randwrite QD64, al-extents 7"
fiojob 12
sleep 4
ctl state 0
expect SS_NO_UP_TO_DATE_DISK ctl detach 0
ctl detach 0 --force --wait > $N/detach.out || { cat $N/detach.out; fail "detach --force"; }
cat $N/detach.out
ms=$(sed -n 's/^diskless after \([0-9]*\) ms/\1/p' $N/detach.out)
ctl state 0
[ $ms -le 1000 ] || fail "detach took ${ms} ms (> 1 s)"
wait $fpid
grep -E 'WRITE:|err=' $N/fio.out | head -n 3

step "attach/detach cycles under fio"
cycles=${NODE_CYCLES:-20}
/usr/sbin/drbdmeta --force 0 v08 $N/disk internal apply-al >/dev/null 2>&1 || fail apply-al
fiojob 600
i=0; worst=0
while [ $i -lt $cycles ]; do
  must ctl attach 0 $N/disk $N/disk internal al-extents=7
  sleep 0.3
  ctl detach 0 --force --wait > $N/detach.out || { cat $N/detach.out; fail "detach --force cycle $i"; }
  ms=$(sed -n 's/^diskless after \([0-9]*\) ms/\1/p' $N/detach.out)
  [ $ms -gt $worst ] && worst=$ms
  /usr/sbin/drbdmeta --force 0 v08 $N/disk internal apply-al >/dev/null 2>&1 || fail "apply-al cycle $i"
  i=$((i + 1))
done
kill $fpid; wait $fpid
echo "$cycles cycles, slowest detach ${worst} ms"
kill -0 $dpid || fail "udrbd died"
must ctl down r0
kill -TERM $dpid; wait $dpid
trap - EXIT
step "node-detach-fio ok"
