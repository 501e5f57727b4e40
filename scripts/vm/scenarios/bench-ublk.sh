# manual
# timeout: 900
# Benchmark, one boot: 4 KiB QD32 randread/randwrite IOPS and 1 MiB sequential
# read/write MB/s for ublkfile (1 queue) and the kernel loop device on the same
# tmpfs-backed file, and the ublk/loop ratios. fio: libaio, direct=1, 1 job.
# BENCH_RUNTIME (seconds per fio run, default 15) and BENCH_UBLK_ARGS tune it.
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
rt=${BENCH_RUNTIME:-15}
tmpdisk /tmp/b 512
serve 7 /tmp/b/log ${BENCH_UBLK_ARGS:-} /tmp/b/disk
loopdev=$(losetup -f) || fail "no free loop device"
must losetup "$loopdev" /tmp/b/disk
echo "loop: $loopdev (direct io: $(cat /sys/block/$(basename $loopdev)/loop/dio 2>/dev/null))"

# run DEV NAME RW BS QD -> prints "NAME iops MBps"
run() {
  local out
  out=$(fio --name="$2" --filename="$1" --direct=1 --ioengine=libaio --rw="$3" --bs="$4" \
    --iodepth="$5" --numjobs=1 --time_based --runtime="$rt" --ramp_time=2 --size=448m \
    --randrepeat=0 --norandommap --minimal --eta=never 2>&1) || fail "fio $2: $out"
  # terse v3: field 7/8 read KB/s, IOPS; 48/49 write KB/s, IOPS
  echo "$out" | awk -F';' -v n="$2" '{ printf "%s %d %.1f\n", n, $8 + $49, ($7 + $48) / 1024 }'
}
: > /tmp/b/res
for t in "randread 4k 32" "randwrite 4k 32" "read 1m 32" "write 1m 32"; do
  set -- $t
  for dev in ublk loop; do
    case $dev in ublk) d=/dev/ublkb7 ;; loop) d=$loopdev ;; esac
    r=$(run $d "$dev-$1-$2" $1 $2 $3)
    echo "$r" | tee -a /tmp/b/res
  done
done
echo
echo "BENCH ublk vs loop (1 queue, QD32, ${rt}s each; tmpfs file; TCG guest)"
awk '
  { split($1, p, "-"); key = p[2] "-" p[3]; if (p[1] == "ublk") { ui[key] = $2; um[key] = $3 } else { li[key] = $2; lm[key] = $3 }; if (!(key in seen)) { order[++n] = key; seen[key] = 1 } }
  END {
    printf "%-14s %12s %12s %12s %12s %8s\n", "test", "ublk IOPS", "loop IOPS", "ublk MB/s", "loop MB/s", "ratio"
    for (i = 1; i <= n; i++) { k = order[i]; r = (li[k] > 0) ? ui[k] / li[k] : 0
      printf "%-14s %12d %12d %12.1f %12.1f %7.2fx\n", k, ui[k], li[k], um[k], lm[k], r }
  }' /tmp/b/res
must losetup -d "$loopdev"
kill -TERM $upid; wait $upid || fail "ublkfile exit status $?"
step "bench done"
