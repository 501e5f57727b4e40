# timeout: 400
# Stock drbdadm (drbd-utils 9.22, DRBD_DRIVER_VERSION_OVERRIDE=8.4.11, so it runs its
# drbdadm-84) manages a one-volume resource of /etc/drbd.conf against udrbd, with
# udrbd's drbdsetup first in PATH as drbdsetup-84 (and as drbdsetup), drbd-utils' own
# drbdmeta as drbdmeta (udrbd's lacks write-dev-uuid, which create-md runs):
# create-md, up, primary --force, secondary, detach, attach, adjust, down; after each
# step our drbdsetup checks the state udrbd reports.
# The peer (fake-peer, 127.0.0.2) never answers: "up" leaves the connection waiting
# (WFConnection), and "adjust" must find that connection as configured and leave it
# alone (it compares drbdsetup show with drbd.conf).
. /udrbd/lib.sh
N=/tmp/n
export UDRBD_SOCKET=$N/control.sock
export DRBD_DRIVER_VERSION_OVERRIDE=8.4.11
mkdir -p $N /tmp/admbin /var/lib/drbd /run/drbd /var/run/drbd
# what drbdadm-84 runs by name (it execvp()s "drbdsetup-84" and "drbdmeta" via PATH)
ln -sf /udrbd/bin/drbdsetup /tmp/admbin/drbdsetup-84
ln -sf /udrbd/bin/drbdsetup /tmp/admbin/drbdsetup
DRBDMETA=/usr/sbin/drbdmeta
[ -x $DRBDMETA ] || DRBDMETA=/sbin/drbdmeta
ln -sf $DRBDMETA /tmp/admbin/drbdmeta
export PATH=/tmp/admbin:$PATH
ADM=$(command -v drbdadm) || fail "no drbdadm"
echo "drbdadm: $ADM; drbdadm-84: $(PATH=$PATH:/lib/drbd:/usr/lib/drbd command -v drbdadm-84)"
echo "drbdsetup-84 -> $(readlink -f $(command -v drbdsetup-84)); drbdmeta -> $(readlink -f $(command -v drbdmeta))"
host=$(uname -n)
echo "host name: $host"

truncate -s 64M $N/disk.img || fail truncate
LOOP=$(losetup -f) && losetup $LOOP $N/disk.img || fail losetup
cat > /etc/drbd.conf <<CONF
global { usage-count no; }
resource r0 {
  on $host {
    device /dev/drbd0;
    disk $LOOP;
    address 127.0.0.1:7789;
    meta-disk internal;
  }
  on fake-peer {
    device /dev/drbd0;
    disk /dev/sdz;
    address 127.0.0.2:7789;
    meta-disk internal;
  }
}
CONF
cat /etc/drbd.conf

udrbd --state-dir $N/state --log-level info 2>>$N/udrbd.log &
dpid=$!
trap 'echo "--- udrbd log"; tail -n 40 $N/udrbd.log' EXIT
waitfor 20 "udrbd socket" test -S $UDRBD_SOCKET

# adm ARGS...: drbdadm with its output (in $N/adm.out) and exit code ($rc) shown
adm() { echo "\$ drbdadm $*"; drbdadm "$@" > $N/adm.out 2>&1; rc=$?; cat $N/adm.out; echo "=> exit $rc"; }
# adm_ok ARGS...: drbdadm must succeed
adm_ok() { adm "$@"; [ $rc -eq 0 ] || fail "drbdadm $* failed"; }
# waiting: the connection is configured and looking for the peer
waiting() { case $(drbdsetup cstate 0) in WFConnection|Unconnected) return 0;; esac; return 1; }
# st: "ROLE DISK" of r0/volume 0 as udrbd reports it through our drbdsetup status
st() {
  drbdsetup status r0 --verbose --color=never 2>&1 | awk '
    /^r0 role:/ { split($2, a, ":"); r = a[2] }
    /volume:0 / { for (i = 1; i <= NF; i++) if ($i ~ /^disk:/) { split($i, b, ":"); d = b[2] } }
    END { print r, d }'
}
expect_state() { got=$(st); echo "state: $got"; [ "$got" = "$1" ] || fail "expected state '$1', got '$got'"; }

step "dry runs: what drbdadm-84 would execute"
adm_ok -d up r0
adm_ok -d down r0

step "create-md"
adm_ok create-md r0
grep -q "successfully created" $N/adm.out || fail "create-md: no success message"
$DRBDMETA 0 v08 $LOOP internal dump-md > $N/dump 2>&1 || { cat $N/dump; fail "dump-md after create-md"; }
grep -q '^version "v08";' $N/dump || fail "no v08 meta-data"

step "up"
adm_ok up r0
expect_state "Secondary Inconsistent"
waitfor 10 "WFConnection after up" waiting
[ -L /dev/drbd0 ] || fail "/dev/drbd0 missing after up"
drbdsetup show r0

step "primary --force"
adm_ok primary --force r0
expect_state "Primary UpToDate"
step "secondary"
adm_ok secondary r0
expect_state "Secondary UpToDate"
step "detach"
adm_ok detach r0
expect_state "Secondary Diskless"
step "attach (drbdmeta apply-al, drbdsetup-84 attach)"
adm_ok attach r0
expect_state "Secondary UpToDate"

step "adjust: nothing to change"
adm_ok -d adjust r0
[ "$(cat $N/adm.out)" = "" ] || { drbdsetup show r0; fail "adjust would change something"; }
adm_ok adjust r0
expect_state "Secondary UpToDate"
waiting || fail "adjust lost the connection"

step "adjust: a changed disk option (al-extents 1000) and a detached disk"
sed -i 's/^resource r0 {$/resource r0 {\n  disk { al-extents 1000; }/' /etc/drbd.conf
adm_ok detach r0
expect_state "Secondary Diskless"
adm_ok -d adjust r0
grep -q "^drbdsetup-84 attach 0 $LOOP $LOOP internal --al-extents=1000" $N/adm.out || fail "adjust does not plan the attach with al-extents"
grep -q "connect" $N/adm.out && fail "adjust would touch the connection"
adm_ok adjust r0
expect_state "Secondary UpToDate"
drbdsetup show r0 | tee $N/show | grep -q "al-extents[[:space:]]*1000;" || { cat $N/show; fail "al-extents not applied"; }
sed -i 's/al-extents 1000;/al-extents 1500;/' /etc/drbd.conf
adm_ok -d adjust r0
grep -q "^drbdsetup-84 disk-options 0 .*--al-extents=1500" $N/adm.out || fail "adjust does not plan disk-options"
adm_ok adjust r0
drbdsetup show r0 | grep -q "al-extents[[:space:]]*1500;" || fail "al-extents 1500 not applied"

step "adjust: from nothing (new-resource, new-minor, apply-al, attach)"
adm_ok down r0
adm_ok adjust r0
expect_state "Secondary UpToDate"
waitfor 10 "WFConnection after adjust" waiting

step "adjust: a changed net option (ping-timeout) and the connection gone"
sed -i 's/^resource r0 {$/resource r0 {\n  net { ping-timeout 7; }/' /etc/drbd.conf
adm_ok -d adjust r0
grep -q "net-options .*--ping-timeout=7" $N/adm.out || fail "adjust does not plan net-options"
adm_ok adjust r0
drbdsetup show r0 | grep -q "ping-timeout[[:space:]]*7" || { drbdsetup show r0; fail "ping-timeout not applied"; }
adm_ok disconnect r0
[ "$(drbdsetup cstate 0)" = StandAlone ] || fail "cstate after disconnect"
adm_ok -d adjust r0
grep -q "^drbdsetup-84 connect r0 " $N/adm.out || fail "adjust does not plan the connect"
adm_ok adjust r0
waitfor 10 "WFConnection after adjust" waiting

step "down"
adm_ok down r0
drbdsetup status r0 > $N/st 2>&1 && fail "r0 still there after down"
cat $N/st
[ -e /dev/drbd0 ] && fail "/dev/drbd0 left behind"
grep -q '^ *0:' /proc/drbd && fail "the kernel's drbd got a minor"
kill -TERM $dpid; wait $dpid
trap - EXIT
must losetup -d $LOOP
step "stock-drbdadm ok"
