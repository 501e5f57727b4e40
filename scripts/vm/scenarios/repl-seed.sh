# timeout: 900
# The seed scenario ("drbd: fix potential deadlock on detach") on a replicated primary,
# udrbd and the kernel's drbd.ko side by side in one boot: fio 4 KiB randwrite QD64 on the
# primary of a connected pair with the smallest activity log drbdsetup allows
# (al-extents 67), and a plain "drbdsetup detach" of the primary's disk meanwhile. The
# detach returns within 1 s; the primary goes on Diskless, serving fio through its peer,
# and fio sees no error (as with the kernel); then SEED_CYCLES (default 20; 200 in
# repl-seed-200) attach/detach cycles under fio finish without a hang. Both the kernel's
# and udrbd's detach times are printed.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
MB=256
cycles=${SEED_CYCLES:-20}
RATE="--c-plan-ahead=0 --resync-rate=400M --al-extents=67"
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
trap 'showlogs u0 u1' EXIT # on failure
step "kernel pair (minors 0 and 1, loopback)"
for i in 0 1; do
  must truncate -s ${MB}M /tmp/k$i.img
  must losetup /dev/loop$i /tmp/k$i.img
  $DRBDMETA --force $i v08 /dev/loop$i internal create-md >/dev/null 2>&1 || fail "create-md k$i"
  must $K new-resource k$i
  must $K new-minor k$i $i 0
  must $K attach $i /dev/loop$i /dev/loop$i internal $RATE
done
must $K connect k0 ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --protocol=C
must $K connect k1 ipv4:127.0.0.1:7790 ipv4:127.0.0.1:7789 --protocol=C
step "udrbd pair (minors 10 and 11, loopback)"
for n in u0 u1; do
  mkdir -p /tmp/$n
  m=10; [ $n = u1 ] && m=11
  echo $m > /tmp/$n/minor
  must truncate -s ${MB}M /tmp/$n/disk
  $DRBDMETA --force $m v08 /tmp/$n/disk internal create-md >/dev/null 2>&1 || fail "create-md $n"
  udrbd --socket /tmp/$n/control.sock --state-dir /tmp/$n/state --dev-dir /tmp/$n/dev --usermode-helper /bin/true 2>>/tmp/$n/udrbd.log &
  waitfor 20 "udrbd $n" test -S /tmp/$n/control.sock
  must ds $n new-resource r0
  must ds $n new-minor r0 $m 0
  must ds $n attach $m /tmp/$n/disk /tmp/$n/disk internal $RATE
done
must ds u0 connect r0 ipv4:127.0.0.1:7801 ipv4:127.0.0.1:7802 --protocol=C
must ds u1 connect r0 ipv4:127.0.0.1:7802 ipv4:127.0.0.1:7801 --protocol=C
kconn() { [ "$($K cstate 0)" = Connected ]; }
uconn() { [ "$(ds u0 cstate 10)" = Connected ]; }
waitfor 30 "kernel pair connected" kconn
waitfor 30 "udrbd pair connected" uconn
must $K primary 0 --force
must ds u0 primary 10 --force
ksync() { [ "$($K dstate 0)" = UpToDate/UpToDate ]; }
usync() { [ "$(ds u0 dstate 10)" = UpToDate/UpToDate ]; }
waitfor 300 "kernel pair in sync" ksync
waitfor 300 "udrbd pair in sync" usync

# the two sides, as "name dev drbdsetup minor disk"
sides="kernel:/dev/drbd0:k:0:/dev/loop0 udrbd:/dev/ublkb10:u0:10:/tmp/u0/disk"
dsx() { local w=$1; shift; if [ "$w" = k ]; then $K "$@"; else ds "$w" "$@"; fi; }
fiojob() {
  fio --name=seed --filename="$1" --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=64 \
    --size=200m --time_based --runtime="$2" --eta=never --output=/tmp/fio-$3.out >/dev/null 2>&1 &
  fpid=$!
}
# timed_detach WHO MINOR: a plain detach, its wall time in ms in $ms
timed_detach() {
  local t0 t1
  t0=$(elapsed_cs)
  dsx "$1" detach "$2" > /tmp/detach.out 2>&1 || { cat /tmp/detach.out; fail "detach $1 $2"; }
  t1=$(elapsed_cs)
  ms=$(( (t1 - t0) * 10 ))
}
for s in $sides; do
  name=${s%%:*}; rest=${s#*:}; dev=${rest%%:*}; rest=${rest#*:}; who=${rest%%:*}; rest=${rest#*:}
  minor=${rest%%:*}; disk=${rest#*:}
  step "$name: detach the primary's disk under fio 4k randwrite QD64, al-extents 67"
  fiojob "$dev" 10 "$name"
  sleep 3
  timed_detach $who $minor
  echo "$name: detach returned after ${ms} ms: $(dsx $who dstate $minor)"
  [ "$(dsx $who dstate $minor)" = Diskless/UpToDate ] || fail "$name: not Diskless after detach"
  [ $ms -le 1000 ] || fail "$name: detach took ${ms} ms (> 1 s)"
  eval "detach_$name=$ms"
  wait $fpid || { cat /tmp/fio-$name.out; fail "$name: fio failed while the primary went diskless"; }
  grep -E 'WRITE:|err=' /tmp/fio-$name.out | head -n 2
  grep -q 'err= *0' /tmp/fio-$name.out || fail "$name: the application saw IO errors"

  step "$name: $cycles attach/detach cycles under fio"
  fiojob "$dev" 900 "$name-cycles"
  i=0; worst=0
  while [ $i -lt $cycles ]; do
    $DRBDMETA --force $minor v08 "$disk" internal apply-al >/dev/null 2>&1 || fail "$name: apply-al cycle $i"
    dsx $who attach $minor "$disk" "$disk" internal $RATE > /tmp/attach.out 2>&1 || { cat /tmp/attach.out; fail "$name: attach cycle $i"; }
    sleep 0.3
    timed_detach $who $minor
    [ $ms -gt $worst ] && worst=$ms
    i=$((i + 1))
  done
  kill -0 $fpid || { cat /tmp/fio-$name-cycles.out; fail "$name: fio stopped during the cycles"; }
  kill $fpid; wait $fpid
  echo "$name: $cycles cycles, slowest detach ${worst} ms"
  [ $worst -le 1000 ] || fail "$name: a detach took ${worst} ms"
  eval "worst_$name=$worst"
done
echo "SEED detach under load: kernel ${detach_kernel} ms (worst of $cycles cycles ${worst_kernel} ms), udrbd ${detach_udrbd} ms (worst ${worst_udrbd} ms)"
must $K down k0
must $K down k1
must ds u0 down r0
must ds u1 down r0
trap - EXIT
step "repl-seed ok"
