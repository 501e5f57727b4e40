#!/bin/sh
# udrbd demo: two replicated nodes on one host. Two udrbd daemons (node a and
# node b, each with its own control socket, state dir and 256 MiB sparse
# backing file with DRBD 8.4 meta-data) serve resource r0 and replicate it
# over loopback with the DRBD 8.4 protocol (C). Node a is made primary, the
# initial sync runs, an ext4 filesystem is made and mounted on a's device and
# a file written; then the roles switch, b mounts its copy and reads the file
# back. The status of both nodes is printed at each step, and everything is
# torn down. Needs root and /dev/ublk-control (`make demo` runs it in the test
# VM otherwise). udrbd, drbdmeta and drbdsetup are taken from PATH (make demo
# puts the repo's bin/ first).
set -eu
say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; "$@"; }

[ -e /dev/ublk-control ] || { echo "demo: no /dev/ublk-control (modprobe ublk_drv, or run make demo)"; exit 1; }
dir=${DEMO_DIR:-$(mktemp -d /tmp/udrbd-demo.XXXXXX)}
mkdir -p "$dir/a" "$dir/b" "$dir/mnt"
export UDRBD_TRANSPORT=udrbd
pids=
cleanup() {
  set +e
  grep -q " $dir/mnt " /proc/mounts && umount "$dir/mnt"
  for n in a b; do
    [ -S "$dir/$n/control.sock" ] && on $n drbdsetup down r0 >/dev/null 2>&1
  done
  for p in $pids; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
# on NODE CMD...: run CMD against node NODE's daemon
on() { n=$1; shift; UDRBD_SOCKET="$dir/$n/control.sock" "$@"; }
# wait_until SECONDS CMD...: poll until CMD succeeds
wait_until() {
  t=$1; shift; i=0
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt $((t * 10)) ] && { echo "demo: timed out: $*"; exit 1; }
    sleep 0.1
  done
}

echo "demo directory: $dir"
minor_a=0 minor_b=1 port_a=7789 port_b=7790
for n in a b; do
  run truncate -s 256M "$dir/$n/disk"
  m=$minor_a; [ $n = b ] && m=$minor_b
  say drbdmeta --force $m v08 "$dir/$n/disk" internal create-md
  yes yes | drbdmeta --force $m v08 "$dir/$n/disk" internal create-md
  # no drbd.conf here, so no handlers: the usermode helper is off (with drbd.conf,
  # udrbd's default runs them through drbdadm, as the kernel does)
  say udrbd --socket "$dir/$n/control.sock" --state-dir "$dir/$n/state" --dev-dir "$dir/$n/dev" --usermode-helper= '&'
  udrbd --socket "$dir/$n/control.sock" --state-dir "$dir/$n/state" --dev-dir "$dir/$n/dev" --usermode-helper= 2>"$dir/$n/udrbd.log" &
  pids="$pids $!"
  wait_until 10 test -S "$dir/$n/control.sock"
done
run udrbd --version

for n in a b; do
  m=$minor_a my=$port_a peer=$port_b
  [ $n = b ] && m=$minor_b my=$port_b peer=$port_a
  echo; echo "# node $n"
  run on $n drbdsetup new-resource r0
  run on $n drbdsetup new-minor r0 $m 0
  run on $n drbdsetup attach $m "$dir/$n/disk" "$dir/$n/disk" internal --c-plan-ahead=0 --resync-rate=200M
  run on $n drbdsetup connect r0 ipv4:127.0.0.1:$my ipv4:127.0.0.1:$peer --protocol=C
done
connected() { [ "$(on a drbdsetup cstate $minor_a)" = Connected ]; }
wait_until 30 connected
run on a drbdsetup status r0
run on b drbdsetup status r0

echo; echo "# node a becomes primary: the initial sync a -> b"
run on a drbdsetup primary $minor_a --force
sleep 1
run on b drbdsetup status r0 --verbose
synced() { [ "$(on a drbdsetup dstate $minor_a)" = UpToDate/UpToDate ]; }
wait_until 300 synced
run on a drbdsetup status r0 --verbose
run on b drbdsetup status r0 --verbose

echo; echo "# a filesystem on node a's device, replicated to b"
dev_a=/dev/ublkb$minor_a dev_b=/dev/ublkb$minor_b
run ls -l "$dir/a/dev/drbd$minor_a" "$dir/a/dev/drbd/by-res/r0/0"
run mkfs.ext4 -q -F $dev_a
run mount $dev_a "$dir/mnt"
say "echo 'hello from udrbd node a' > $dir/mnt/hello"
echo 'hello from udrbd node a' > "$dir/mnt/hello"
run sync
run df -h "$dir/mnt"
run on a drbdsetup status r0 --verbose --statistics
run umount "$dir/mnt"

echo; echo "# switch over: a secondary, b primary, b mounts its copy"
run on a drbdsetup secondary $minor_a
run on b drbdsetup primary $minor_b
run mount $dev_b "$dir/mnt"
run cat "$dir/mnt/hello"
run on a drbdsetup status r0
run on b drbdsetup status r0
run umount "$dir/mnt"

echo; echo "# tear down"
run on b drbdsetup secondary $minor_b
for n in a b; do run on $n drbdsetup down r0; done
for p in $pids; do kill -TERM "$p"; wait "$p" || true; done
pids=
echo
echo "demo done (daemon logs: $dir/a/udrbd.log, $dir/b/udrbd.log)"
