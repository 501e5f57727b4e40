#!/bin/sh
# udrbd demo: one node end to end. Starts udrbd on a 256 MiB sparse file in
# a demo directory, creates DRBD 8.4 meta-data, new-resource, new-minor,
# attach, primary --force, mkfs.ext4, mount, writes a file, prints the
# status, and tears everything down. Needs root and /dev/ublk-control
# (`make demo` runs it in the test VM otherwise). udrbd, drbdmeta and
# drbdsetup are taken from PATH (make demo puts the repo's bin/ first).
set -eu
say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; "$@"; }

[ -e /dev/ublk-control ] || { echo "demo: no /dev/ublk-control (modprobe ublk_drv, or run make demo)"; exit 1; }
dir=${DEMO_DIR:-$(mktemp -d /tmp/udrbd-demo.XXXXXX)}
mkdir -p "$dir"
export UDRBD_SOCKET="$dir/control.sock" UDRBD_TRANSPORT=udrbd
dpid=
cleanup() {
  set +e
  grep -q " $dir/mnt " /proc/mounts && umount "$dir/mnt"
  if [ -n "$dpid" ]; then
    drbdsetup down r0 >/dev/null 2>&1
    kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
  fi
}
trap cleanup EXIT

echo "demo directory: $dir"
run truncate -s 256M "$dir/disk"
say drbdmeta --force 0 v08 "$dir/disk" internal create-md
yes yes | drbdmeta --force 0 v08 "$dir/disk" internal create-md
say udrbd --state-dir "$dir/state" '&'
udrbd --state-dir "$dir/state" 2>"$dir/udrbd.log" &
dpid=$!
i=0; while [ ! -S "$UDRBD_SOCKET" ]; do i=$((i+1)); [ $i -gt 100 ] && { cat "$dir/udrbd.log"; exit 1; }; sleep 0.1; done
run udrbd --version

ds=drbdsetup
run $ds new-resource r0
run $ds new-minor r0 0 0
run $ds attach 0 "$dir/disk" "$dir/disk" internal
run $ds primary 0 --force
i=0; while [ ! -b /dev/ublkb0 ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done
run ls -l /dev/drbd0 /dev/drbd/by-res/r0/0
run mkfs.ext4 -q -F /dev/drbd0
mkdir -p "$dir/mnt"
run mount /dev/drbd0 "$dir/mnt"
say "echo 'hello from udrbd' > $dir/mnt/hello"
echo 'hello from udrbd' > "$dir/mnt/hello"
run cat "$dir/mnt/hello"
run df -h "$dir/mnt"
run drbdsetup status r0 --verbose
run umount "$dir/mnt"
run $ds secondary 0
run $ds detach 0
run $ds down r0
kill -TERM "$dpid"; wait "$dpid" || true
dpid=
echo
echo "demo done (daemon log: $dir/udrbd.log)"
