# manual
# timeout: 300
# udrbd driven by our drbdsetup (the CLI branch; pass its binary with
# UDRBD_VM_EXTRA=DIR holding drbdsetup, else bin/drbdsetup is used):
# new-resource, new-minor, attach, primary --force, status --verbose,
# show, events2 --now, sh-status, dstate/role, secondary, detach, down,
# and the exit codes of the refusals.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap showlog EXIT
DS=drbdsetup; [ -x /udrbd/extra/drbdsetup ] && DS=/udrbd/extra/drbdsetup
ds() { echo "\$ drbdsetup $*"; $DS "$@"; rc=$?; echo "=> exit $rc"; return $rc; }
mkdisk 256
# drbdsetup-84 insists on block devices: a loop device over the file.
LOOP=$(losetup -f) && losetup $LOOP $N/disk || fail losetup
startd
ds new-resource r0 || fail new-resource
ds new-minor r0 0 0 || fail new-minor
ds attach 0 $LOOP $LOOP internal || fail attach
ds primary 0; [ $rc -eq 17 ] || echo "NOTE: primary without UpToDate data exit $rc (drbdsetup-84: 17)"
ds primary 0 --force || fail "primary --force"
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
ds status r0 --verbose
ds status r0 --verbose --statistics
ds show r0
ds events2 --now r0
ds sh-status 0
ds role 0
ds dstate 0
ds cstate 0
must mkfs.ext4 -q -F /dev/drbd0
mkdir -p /mnt/n && must mount /dev/drbd0 /mnt/n
ds secondary 0; echo "secondary while mounted: exit $rc"
must umount /mnt/n
ds secondary 0 || fail secondary
ds detach 0 || fail detach
ds status r0 --verbose
ds down r0 || fail down
ds status r0
kill -TERM $dpid; wait $dpid
trap - EXIT
step "node-cli done"
