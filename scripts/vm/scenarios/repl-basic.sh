# timeout: 600
# Two udrbd nodes, each in its own network namespace, replicating with the DRBD 8.4
# protocol: initial full sync of 256 MiB; fio verify with protocol C on the primary and
# equal data areas; a link cut during writes, more writes, the link back: only the bitmap's
# blocks are resynced; protocols A, B and C keep the ack promise each makes (measured with
# a slowed network and a slowed peer disk); status of both nodes.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
MB=256
trap "showlogs a b" EXIT # on failure
step "two nodes"
unode a 10.0.0.1 0 $MB
unode b 10.0.0.2 1 $MB
uconnect a 10.0.0.2
uconnect b 10.0.0.1
waitfor 30 "a Connected" is "Connected Secondary/Secondary Inconsistent/Inconsistent" ustate a
waitfor 30 "b Connected" is "Connected Secondary/Secondary Inconsistent/Inconsistent" ustate b

step "initial full sync a -> b"
t0=$(elapsed_cs)
must ds a primary 0 --force
sleep 1
ds b status r0 --verbose
waitfor 300 "UpToDate on both" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
waitfor 30 "b UpToDate" is "Connected Secondary/Primary UpToDate/UpToDate" ustate b
t1=$(elapsed_cs)
echo "full sync of $MB MiB took $(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 ))s"
ds a status r0 --verbose --statistics
ds b status r0 --verbose --statistics
bytes=$(devbytes a)
dataeq /tmp/a/disk /tmp/b/disk "$bytes"

step "fio verify, protocol C"
fio_verify /dev/ublkb0 64M
dataeq /tmp/a/disk /tmp/b/disk "$bytes"
oos=$(oos_kib a)
[ "$oos" = 0 ] || { ds a status r0 --verbose --statistics; showlogs a b; fail "$oos KiB out of sync after protocol C writes"; }

step "link cut during writes, writes, link back: bitmap-based resync"
fio --name=w --filename=/dev/ublkb0 --rw=randwrite --bs=4k --ioengine=libaio --direct=1 --iodepth=8 \
  --size=16M --time_based --runtime=8 --eta=never --minimal > /tmp/fio-bg.out 2>&1 &
fpid=$!
sleep 2
linkdown b
lost() { ds a cstate 0 | grep -q -e WFConnection -e NetworkFailure -e Timeout -e Unconnected; }
waitfor 30 "a lost the peer" lost
wait $fpid || { cat /tmp/fio-bg.out; fail "fio during the link cut"; }
oos=$(oos_kib a)
echo "out of sync on a after writing without the peer: ${oos} KiB of $((bytes / 1024)) KiB"
[ -n "$oos" ] && [ "$oos" -gt 0 ] || fail "no out-of-sync blocks after writes without the peer"
[ "$oos" -lt $((bytes / 1024 / 2)) ] || fail "a full resync would follow (oos $oos)"
linkup b
waitfor 60 "reconnected and in sync" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
waitfor 30 "b in sync" is "Connected Secondary/Primary UpToDate/UpToDate" ustate b
grep -h 'Began resync' /tmp/a/udrbd.log /tmp/b/udrbd.log | tail -n 2
resynced=$(grep -h 'Began resync as SyncSource' /tmp/a/udrbd.log | tail -n 1 | sed -n 's/.*will sync \([0-9]*\) KB.*/\1/p')
echo "resynced ${resynced} KiB of $((bytes / 1024)) KiB"
[ -n "$resynced" ] && [ "$resynced" -lt $((bytes / 1024 / 2)) ] || fail "not a bitmap-based resync ($resynced KiB)"
dataeq /tmp/a/disk /tmp/b/disk "$bytes"

step "protocols A, B and C: when a write is acknowledged"
# b's link delays every packet b sends by 100 ms (round trip 100 ms) and b's disk writes
# by 400 ms (b's backing file served through dm-delay for these tests). A waits for
# neither, B for the round trip, C for the round trip and b's disk.
must ds a disconnect ipv4:10.0.0.1:$PORT ipv4:10.0.0.2:$PORT
must ds b down r0
kill -TERM $(cat /tmp/b/pid); wait $(cat /tmp/b/pid) 2>/dev/null
loopb=$(losetup -f) && must losetup "$loopb" /tmp/b/disk
sectors=$(blockdev --getsz "$loopb")
must dmsetup create bslow --table "0 $sectors delay $loopb 0 0 $loopb 0 400"
dmsetup mknodes bslow; test -b /dev/mapper/bslow || fail "no /dev/mapper/bslow"
$DRBDMETA --force 1 v08 /dev/mapper/bslow internal apply-al >/dev/null 2>&1 || fail "apply-al"
ustart b
must ds b new-resource r0
must ds b new-minor r0 1 0
must ds b attach 1 /dev/mapper/bslow /dev/mapper/bslow internal $RATE
netem b delay 100ms
for p in A B C; do
  must ds a connect r0 ipv4:10.0.0.1:$PORT ipv4:10.0.0.2:$PORT $NETOPTS --protocol=$p
  must ds b connect r0 ipv4:10.0.0.2:$PORT ipv4:10.0.0.1:$PORT $NETOPTS --protocol=$p
  waitfor 60 "protocol $p connected in sync" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
  # one write at a time, each after the peer finished the previous epoch (its barrier
  # waits for the slow disk), so that each write's latency is what its protocol waits for
  cs=0
  for i in 1 2 3 4 5; do
    sleep 1.5
    t0=$(elapsed_cs)
    must dd if=/dev/urandom of=/dev/ublkb0 bs=4k count=1 oflag=direct seek=$((1000 + i)) status=none
    t1=$(elapsed_cs)
    cs=$((cs + t1 - t0))
  done
  echo "protocol $p: 5 synchronous 4 KiB writes took ${cs}0 ms"
  case $p in
    A) [ $cs -lt 50 ] || fail "protocol A waited for the peer (${cs}0 ms for 5 writes)";;
    B) [ $cs -ge 50 ] && [ $cs -lt 200 ] || fail "protocol B: ${cs}0 ms for 5 writes is not one round trip (100 ms) each";;
    C) [ $cs -ge 250 ] || fail "protocol C did not wait for the peer's disk (${cs}0 ms for 5 writes)";;
  esac
  must ds a disconnect ipv4:10.0.0.1:$PORT ipv4:10.0.0.2:$PORT
  must ds b disconnect ipv4:10.0.0.2:$PORT ipv4:10.0.0.1:$PORT
done
netem b delay 0ms
must dmsetup suspend bslow
must dmsetup load bslow --table "0 $sectors delay $loopb 0 0 $loopb 0 0"
must dmsetup resume bslow

step "reconnect, compare, down"
uconnect a 10.0.0.2
uconnect b 10.0.0.1
waitfor 60 "in sync" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
waitfor 30 "b in sync" is "Connected Secondary/Primary UpToDate/UpToDate" ustate b
ds a status --verbose
must ds a secondary 0
must ds a down r0
must ds b down r0
dataeq /tmp/a/disk /tmp/b/disk "$bytes"
trap - EXIT
step "repl-basic ok"
