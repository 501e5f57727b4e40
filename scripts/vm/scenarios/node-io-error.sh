# timeout: 300
# IO errors from a dm device under the backing disk: with on-io-error
# call-local-io-error a failed write takes the disk Failed -> Diskless and
# the local-io-error handler runs exactly once; with detach the same without
# the handler; with pass_on the disk goes Inconsistent and stays attached.
# Nothing hangs. The handlers run as the kernel runs them: udrbd calls stock
# drbdadm (its default usermode helper, /sbin/drbdadm) as "drbdadm
# local-io-error minor-0", and drbdadm runs the handler of /etc/drbd.conf.
. /udrbd/lib.sh
. /udrbd/scenarios/node-common.inc
trap 'showlog; dmsetup table nd' EXIT
mkdir -p $N
truncate -s 256M $N/disk
LOOP=$(losetup -f) && losetup $LOOP $N/disk || fail losetup
S=$(blockdev --getsz $LOOP)
must dmsetup create nd --table "0 $S linear $LOOP 0"
dmsetup mknodes nd; test -b /dev/mapper/nd || fail "no /dev/mapper/nd"
/usr/sbin/drbdmeta --force 0 v08 /dev/mapper/nd internal create-md > $N/cmd.out 2>&1 || { cat $N/cmd.out; fail create-md; }
host=$(uname -n)
cat > /etc/drbd.conf <<CONF
global { usage-count no; }
resource r0 {
  handlers { local-io-error "echo local-io-error \$DRBD_RESOURCE \$DRBD_MINOR \$DRBD_VOLUME >> $N/helper.log"; }
  on $host { device /dev/drbd0; disk /dev/mapper/nd; address 127.0.0.1:7789; meta-disk internal; }
  on fake-peer { device /dev/drbd0; disk /dev/sdz; address 127.0.0.2:7789; meta-disk internal; }
}
CONF
export DRBD_DRIVER_VERSION_OVERRIDE=8.4.11 # for drbdadm, which udrbd's helpers inherit
udrbd --state-dir $N/state 2>>$N/udrbd.log &
dpid=$!
waitfor 20 "udrbd socket" test -S $UDRBD_SOCKET
# errtable: the first 64 MiB of data fail, the rest (and the meta-data) work.
errtable() {
  dmsetup suspend nd && dmsetup load nd --table "0 131072 error
131072 $((S - 131072)) linear $LOOP 131072" && dmsetup resume nd || fail "dm error table"
}
oktable() {
  dmsetup suspend nd && dmsetup load nd --table "0 $S linear $LOOP 0" && dmsetup resume nd || fail "dm linear table"
}

step "on-io-error call-local-io-error"
must ctl new-resource r0
must ctl new-minor r0 0 0
must ctl attach 0 /dev/mapper/nd /dev/mapper/nd internal on-io-error=call-local-io-error
must ctl primary 0 --force
waitfor 20 /dev/ublkb0 test -b /dev/ublkb0
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=64 oflag=direct status=none
errtable
dd if=/dev/zero of=/dev/drbd0 bs=4k count=1 oflag=direct status=none && fail "write to a failing disk succeeded"
waitfor 10 Diskless sh -c 'udrbd ctl state 0 | grep -q Diskless'
ctl state 0
grep -E 'state change|helper' $N/udrbd.log | tail -n 4
waitfor 10 "helper ran" test -s $N/helper.log
sleep 1
cat $N/helper.log
[ "$(grep -c local-io-error $N/helper.log)" = 1 ] || fail "local-io-error helper ran $(grep -c local-io-error $N/helper.log) times"
grep -qx "local-io-error r0 0 0" $N/helper.log || fail "the handler did not get DRBD_RESOURCE, DRBD_MINOR, DRBD_VOLUME from drbdadm"
grep -q 'helper command: /sbin/drbdadm local-io-error minor-0 exit code 0' $N/udrbd.log || fail "no drbdadm helper call logged"
grep -q "Failed" $N/udrbd.log || fail "never went through Failed"

step "on-io-error detach"
oktable
/usr/sbin/drbdmeta --force 0 v08 /dev/mapper/nd internal apply-al >/dev/null 2>&1 || fail apply-al
must ctl attach 0 /dev/mapper/nd /dev/mapper/nd internal on-io-error=detach
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=64 oflag=direct status=none
errtable
dd if=/dev/zero of=/dev/drbd0 bs=4k count=1 oflag=direct status=none && fail "write to a failing disk succeeded"
waitfor 10 Diskless sh -c 'udrbd ctl state 0 | grep -q Diskless'
[ "$(grep -c local-io-error $N/helper.log)" = 1 ] || fail "on-io-error detach ran the local-io-error handler"
[ "$(grep -c 'to=Secondary/StandAlone/Failed\|to=Primary/StandAlone/Failed' $N/udrbd.log)" = 2 ] || fail "the second IO error did not go through Failed"

step "on-io-error pass_on"
oktable
/usr/sbin/drbdmeta --force 0 v08 /dev/mapper/nd internal apply-al >/dev/null 2>&1 || fail apply-al
must ctl attach 0 /dev/mapper/nd /dev/mapper/nd internal on-io-error=pass_on
ctl state 0
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=64 oflag=direct status=none
errtable
dd if=/dev/zero of=/dev/drbd0 bs=4k count=1 oflag=direct status=none && fail "write to a failing disk succeeded"
ctl state 0
[ "$(ctl state 0 | cut -d' ' -f3)" = Inconsistent ] || fail "pass_on: disk $(ctl state 0), want Inconsistent"
# An Inconsistent disk serves only blocks it knows to be in sync, and a device that was
# never synced has none (drbd_may_do_local_read; there is no peer to read from): the
# read fails as it does with the kernel's DRBD.
dd if=/dev/drbd0 of=/dev/null bs=4k skip=20000 count=16 iflag=direct status=none && fail "read of out-of-sync blocks of an Inconsistent disk succeeded"
[ "$(grep -c local-io-error $N/helper.log)" = 1 ] || fail "pass_on ran the helper"
oktable
must ctl secondary 0
must ctl detach 0
must ctl down r0
kill -TERM $dpid; wait $dpid
trap - EXIT
dmsetup remove nd; losetup -d $LOOP
step "node-io-error ok"
