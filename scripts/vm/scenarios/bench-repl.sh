# manual
# timeout: 1500
# Benchmark, one boot: protocol C replication, a udrbd pair against a kernel-DRBD pair in
# the same guest. Both pairs replicate over loopback (two udrbd daemons and two kernel
# resources, each pair on its own ports) onto 256 MiB tmpfs files (the kernel's through
# loop devices). fio on each primary: 4 KiB QD32 randwrite IOPS and 1 MiB QD32 sequential
# write MB/s, libaio, direct. The guest is TCG on a shared host, so every test
# alternates udrbd and kernel for BENCH_ROUNDS rounds of BENCH_RUNTIME seconds; the ratio
# is the median of the per-round ratios, IOPS and MB/s are means.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
rt=${BENCH_RUNTIME:-3}
rounds=${BENCH_ROUNDS:-5}
MB=256
RATE="--c-plan-ahead=0 --resync-rate=400M"
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
step "kernel pair (minors 0 and 1, loopback ports 7789/7790)"
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
step "udrbd pair (minors 10 and 11, loopback ports 7801/7802)"
for n in u0 u1; do
  mkdir -p /tmp/$n
  m=10; [ $n = u1 ] && m=11
  echo $m > /tmp/$n/minor
  must truncate -s ${MB}M /tmp/$n/disk
  $DRBDMETA --force $m v08 /tmp/$n/disk internal create-md >/dev/null 2>&1 || fail "create-md $n"
  udrbd --socket /tmp/$n/control.sock --state-dir /tmp/$n/state --dev-dir /tmp/$n/dev --usermode-helper /bin/true 2>>/tmp/$n/udrbd.log &
  echo $! > /tmp/$n/pid
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
# each daemon pins its threads to its connected resource's CPU (docs/admin-guide.md)
for n in u0 u1; do echo "udrbd $n threads on CPUs $(awk '/^Cpus_allowed_list/{print $2}' /proc/$(cat /tmp/$n/pid)/status)"; done
must $K primary 0 --force
must ds u0 primary 10 --force
ksync() { [ "$($K dstate 0)" = UpToDate/UpToDate ]; }
usync() { [ "$(ds u0 dstate 10)" = UpToDate/UpToDate ]; }
waitfor 300 "kernel pair in sync" ksync
waitfor 300 "udrbd pair in sync" usync
devs="udrbd=/dev/ublkb10 kernel=/dev/drbd0"

# run DEV RW BS -> prints "iops MBps"
run() {
  local out
  out=$(fio --name=b --filename="$1" --direct=1 --ioengine=libaio --rw="$2" --bs="$3" \
    --iodepth=32 --numjobs=1 --time_based --runtime="$rt" --ramp_time=1 --size=200m \
    --randrepeat=0 --norandommap --minimal --eta=never 2>&1) || fail "fio $1 $2: $out"
  echo "$out" | awk -F';' '{ printf "%d %.1f\n", $8 + $49, ($7 + $48) / 1024 }'
}
mkdir -p /tmp/bench
: > /tmp/bench/res
for t in ${BENCH_TESTS:-randwrite:4k write:1m}; do
  set -- $(echo $t | tr ':' ' ')
  r=1
  while [ $r -le $rounds ]; do
    for nd in $devs; do
      echo "$1-$2 ${nd%%=*} $r $(run ${nd#*=} $1 $2)" | tee -a /tmp/bench/res
    done
    r=$((r + 1))
  done
done
echo
echo "BENCH replication, protocol C: udrbd pair vs kernel-DRBD pair, QD32, fio libaio direct, tmpfs backing, TCG guest (cpu $(cpucopyflags)); mean of $rounds x ${rt}s"
awk '
  function median(arr, m,   i, j, t) {
    for (i = 2; i <= m; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
    return (m % 2) ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2
  }
  { k = $1 SUBSEP $2; io[k] += $4; mb[k] += $5; n[k]++; v[$1, $2, $3] = $4; if ($3 > nr) nr = $3
    if (!($1 in st)) { st[$1] = 1; tests[++nt] = $1 } }
  END {
    printf "%-14s %10s %12s %10s %12s %7s %15s\n", "test", "IOPS", "kernel IOPS", "MB/s", "kernel MB/s", "ratio", "ratio min-max"
    for (i = 1; i <= nt; i++) {
      t = tests[i]; a = t SUBSEP "udrbd"; l = t SUBSEP "kernel"
      m = 0; lo = 1e9; hi = 0
      for (r = 1; r <= nr; r++) if (v[t, "kernel", r] > 0 && ((t, "udrbd", r) in v)) {
        x = v[t, "udrbd", r] / v[t, "kernel", r]; rr[++m] = x; if (x < lo) lo = x; if (x > hi) hi = x }
      printf "%-14s %10d %12d %10.1f %12.1f %6.2fx %7.2f-%.2f\n", t, io[a] / n[a], io[l] / n[l], mb[a] / n[a], mb[l] / n[l], median(rr, m), lo, hi
    }
  }' /tmp/bench/res
must $K down k0
must $K down k1
must ds u0 down r0
must ds u1 down r0
step "bench done"
