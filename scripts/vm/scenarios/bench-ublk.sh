# manual
# timeout: 1500
# Benchmark, one boot: 4 KiB QD32 randread/randwrite IOPS and 1 MiB QD32
# sequential read/write MB/s through ublkfile (1 queue) and through the kernel
# loop device on the same tmpfs-backed file, and the ublk/loop ratios.
# fio: libaio, direct=1, 1 job. The guest is TCG on a host shared with other
# work, so throughput drifts by several times within minutes: every test
# alternates ublk and loop for BENCH_ROUNDS rounds of BENCH_RUNTIME seconds,
# the ratio is the median of the per-round ratios (each ublk run against the
# loop run right next to it), and IOPS/MB/s are means.
# BENCH_VARIANTS="name:ublkfile-args ..." compares several ublkfile setups
# (default "ublkfile:"); commas in the args stand for spaces, and args starting
# with @PROGRAM run PROGRAM instead of ublkfile (an older build, for an A/B). BENCH_TESTS
# picks tests (default "randread:4k randwrite:4k read:1m write:1m").
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
rt=${BENCH_RUNTIME:-3}
rounds=${BENCH_ROUNDS:-11}
variants=${BENCH_VARIANTS:-ublkfile:}
tmpdisk /tmp/b 512 dense
id=7
devs=""
for v in $variants; do
  name=${v%%:*}; args=$(echo "${v#*:}" | tr ',' ' ')
  bin=ublkfile
  case $args in @*) bin=${args%% *}; bin=${bin#@}; args=${args#@$bin}; esac
  UBLKFILE=$bin serve $id /tmp/b/log $args /tmp/b/disk
  devs="$devs $name=/dev/ublkb$id"
  id=$((id + 1))
done
loopdev=$(losetup -f) || fail "no free loop device"
must losetup "$loopdev" /tmp/b/disk
devs="$devs loop=$loopdev"
echo "devices:$devs (loop direct io: $(cat /sys/block/${loopdev#/dev/}/loop/dio 2>/dev/null))"

# run DEV RW BS QD -> prints "iops MBps"
run() {
  local out
  out=$(fio --name=b --filename="$1" --direct=1 --ioengine=libaio --rw="$2" --bs="$3" \
    --iodepth="$4" --numjobs=1 --time_based --runtime="$rt" --ramp_time=1 --size=448m \
    --randrepeat=0 --norandommap --minimal --eta=never 2>&1) || fail "fio $1 $2: $out"
  # terse v3: fields 7/8 read KB/s and IOPS, 48/49 write KB/s and IOPS
  echo "$out" | awk -F';' '{ printf "%d %.1f\n", $8 + $49, ($7 + $48) / 1024 }'
}
: > /tmp/b/res
tests=${BENCH_TESTS:-randread:4k randwrite:4k read:1m write:1m}
for t in $tests; do
  set -- $(echo $t | tr ':' ' ') 32
  r=1
  while [ $r -le $rounds ]; do
    for nd in $devs; do
      echo "$1-$2 ${nd%%=*} $r $(run ${nd#*=} $1 $2 $3)" | tee -a /tmp/b/res
    done
    r=$((r + 1))
  done
done
echo
echo "BENCH ublk vs kernel loop: 1 queue, QD32, fio libaio direct, tmpfs file, TCG guest (cpu $(cpucopyflags)); mean of $rounds x ${rt}s"
awk '
  function median(arr, m,   i, j, t) {
    for (i = 2; i <= m; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
    return (m % 2) ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2
  }
  { k = $1 SUBSEP $2; io[k] += $4; mb[k] += $5; n[k]++; v[$1, $2, $3] = $4; if ($3 > nr) nr = $3
    if (!($1 in st)) { st[$1] = 1; tests[++nt] = $1 }
    if (!($2 in sd)) { sd[$2] = 1; if ($2 != "loop") devs[++ndv] = $2 } }
  END {
    printf "%-14s %-10s %10s %10s %10s %10s %7s %15s\n", "test", "variant", "IOPS", "loop IOPS", "MB/s", "loop MB/s", "ratio", "ratio min-max"
    for (i = 1; i <= nt; i++) for (j = 1; j <= ndv; j++) {
      t = tests[i]; d = devs[j]; a = t SUBSEP d; l = t SUBSEP "loop"
      m = 0; lo = 1e9; hi = 0
      for (r = 1; r <= nr; r++) if (v[t, "loop", r] > 0 && ((t, d, r) in v)) {
        x = v[t, d, r] / v[t, "loop", r]; rr[++m] = x; if (x < lo) lo = x; if (x > hi) hi = x }
      printf "%-14s %-10s %10d %10d %10.1f %10.1f %6.2fx %7.2f-%.2f\n", t, d, io[a] / n[a], io[l] / n[l], mb[a] / n[a], mb[l] / n[l], median(rr, m), lo, hi
    }
  }' /tmp/b/res
must losetup -d "$loopdev"
for p in $(pidof ublkfile); do kill -TERM $p; done
waitfor 30 "ublkfile exit" sh -c '! pidof ublkfile'
step "bench done"
