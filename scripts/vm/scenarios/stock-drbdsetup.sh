# timeout: 400
# The byte-level proof: drbd-utils' own drbdsetup-84, unmodified, drives udrbd through
# the LD_PRELOAD shim scripts/vm/nlshim (its netlink socket becomes a connection to
# udrbd's control socket). The same command list runs first against the kernel's
# drbd.ko (8.4.11), then against udrbd, each on /dev/loop0 over a fresh 64 MiB file with
# meta-data from drbd-utils' drbdmeta; stdout, stderr and exit code of every command must
# be equal. Normalised: data generation UUIDs (random) only.
# Needs out/nlshim/nlshim.so in /udrbd/extra (make vm-test builds it).
. /udrbd/lib.sh
SHIM=/udrbd/extra/nlshim.so
[ -f $SHIM ] || fail "no $SHIM (build it: make nlshim; it is passed in through out/nlshim)"
STOCK=/usr/lib/drbd/drbdsetup-84
[ -x $STOCK ] || STOCK=/lib/drbd/drbdsetup-84
[ -x $STOCK ] || fail "no stock drbdsetup-84"
DRBDMETA=/usr/sbin/drbdmeta
[ -x $DRBDMETA ] || DRBDMETA=/sbin/drbdmeta
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
N=/tmp/n
export UDRBD_SOCKET=$N/control.sock
mkdir -p $N

n=0
out=
# run ARGS...: one stock drbdsetup-84 command, results in $out/NNN.{cmd,out,err,rc}
run() {
  n=$((n + 1))
  f=$(printf '%s/%03d' "$out" $n)
  echo "$*" > "$f.cmd"
  if [ -n "$PRELOAD" ]; then
    LD_PRELOAD=$PRELOAD timeout 20 $STOCK "$@" > "$f.out" 2> "$f.err"
  else
    timeout 20 $STOCK "$@" > "$f.out" 2> "$f.err"
  fi
  echo $? > "$f.rc"
  echo "\$ drbdsetup-84 $* => exit $(cat $f.rc)"
}
# info ARGS...: the same, but kept apart (info-NNN) and compared for information only
info() {
  local keep=$n save=$out
  ni=$((ni + 1)); n=$ni; out=$out/info; mkdir -p $out
  run "$@"
  out=$save; n=$keep
}
mkdisk() {
  rm -f $N/disk.img
  must truncate -s 64M $N/disk.img
  must losetup /dev/loop0 $N/disk.img
  $DRBDMETA --force 0 v08 /dev/loop0 internal create-md > $N/create-md.out 2>&1 || { cat $N/create-md.out; fail "drbdmeta create-md"; }
}
sequence() {
  run new-resource r0
  run new-minor r0 0 0
  run status r0 --verbose
  run attach 0 /dev/loop0 /dev/loop0 internal
  run show
  run show 0 --show-defaults
  run status r0 --verbose
  run primary 0
  run primary 0 --force
  $CHECK
  run show
  run show r0
  run status
  run status r0 --verbose
  run events2 --now
  run events2 r0 --now
  run role 0
  run dstate 0
  run cstate 0
  info status r0 --verbose --statistics
  info events2 --now --statistics
  run sh-status 0
  run get-gi 0
  run show-gi 0
  # a live events2 stream (the shim's multicast join) across secondary and detach
  if [ -n "$PRELOAD" ]; then LD_PRELOAD=$PRELOAD $STOCK events2 r0 > $out/live 2>&1 & else $STOCK events2 r0 > $out/live 2>&1 & fi
  lpid=$!
  # it has joined the events group once it printed the initial state
  waitfor 20 "events2 initial state" grep -q '^exists -' $out/live
  run secondary 0
  run status r0 --verbose
  run detach 0
  waitfor 20 "events2: detach seen" grep -q 'disk:Diskless' $out/live
  kill $lpid; wait $lpid
  n=$((n + 1)); f=$(printf '%s/%03d' "$out" $n)
  echo "events2 r0 (live, during secondary and detach)" > $f.cmd; mv $out/live $f.out; : > $f.err; echo 0 > $f.rc
  run events2 --now
  run status r0 --verbose
  run show
  run down r0
  run status
  run show
}

rm -rf /tmp/out; mkdir -p /tmp/out/kernel /tmp/out/udrbd
step "stock drbdsetup-84 against the kernel's drbd"
mkdisk
PRELOAD=; out=/tmp/out/kernel; n=0; ni=100; CHECK=:; sequence
must losetup -d /dev/loop0
grep -q '^ *0:' /proc/drbd && fail "kernel minor 0 left behind"

step "stock drbdsetup-84 with the shim against udrbd"
mkdisk
udrbd --state-dir $N/state --dev-dir $N/dev --log-level info --usermode-helper /bin/true 2>>$N/udrbd.log &
dpid=$!
trap 'echo "--- udrbd log"; tail -n 40 $N/udrbd.log' EXIT
waitfor 20 "udrbd socket" test -S $UDRBD_SOCKET
# the proof that the shim talks to udrbd, not to the kernel: after primary --force our
# CLI sees udrbd's minor 0 Primary, and the kernel has no minor at all
proof() {
  is Primary/Unknown drbdsetup role 0 || fail "udrbd's minor 0 is not Primary: $(drbdsetup role 0 2>&1)"
  grep -q '^ *0:' /proc/drbd && { cat /proc/drbd; fail "the shim's commands reached the kernel"; }
  echo "proof: udrbd's minor 0 is $(drbdsetup role 0); /proc/drbd has no minor"
}
PRELOAD=$SHIM; out=/tmp/out/udrbd; n=0; ni=100; CHECK=proof
sequence
# strace of one command: what drbdsetup-84 calls through the shim
LD_PRELOAD=$SHIM strace -f -e trace=socket,bind,getsockname,setsockopt,sendmsg,sendto,recvmsg,recvfrom,write,connect \
  $STOCK events2 --now 2>&1 >/dev/null | grep -v '^---\|^+++' | head -n 30
kill -TERM $dpid; wait $dpid
trap - EXIT
must losetup -d /dev/loop0

step "compare"
norm() { sed -e 's/[0-9A-F]\{16\}/<UUID>/g' "$1"; }
bad=0
for f in /tmp/out/kernel/*.cmd; do
  b=${f%.cmd}; i=${b##*/}
  for x in out err rc; do
    if ! norm "$b.$x" > /tmp/a || ! norm "/tmp/out/udrbd/$i.$x" > /tmp/b || ! cmp -s /tmp/a /tmp/b; then
      echo "--- DIFF $i $x: drbdsetup-84 $(cat "$f")"
      diff /tmp/a /tmp/b | head -n 30
      bad=$((bad + 1))
    fi
  done
done
total=$(ls /tmp/out/kernel/*.cmd | wc -l)
echo "--- for information only (not part of the verdict): --statistics output"
for f in /tmp/out/kernel/info/*.cmd; do
  b=${f%.cmd}; i=${b##*/}
  norm "$b.out" > /tmp/a; norm "/tmp/out/udrbd/info/$i.out" > /tmp/b
  cmp -s /tmp/a /tmp/b && echo "same: $(cat $f)" || { echo "differs: drbdsetup-84 $(cat $f)"; diff /tmp/a /tmp/b; }
done
for f in /tmp/out/udrbd/*.cmd; do
  b=${f%.cmd}
  echo "### drbdsetup-84 $(cat $f) (exit $(cat $b.rc))"; cat $b.out $b.err
done | head -n 400
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
[ $bad -eq 0 ] || fail "$bad differences"
step "stock-drbdsetup ok"
