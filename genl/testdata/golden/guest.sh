# timeout: 400
# Guest half of genl/testdata/golden/capture: runs stock drbdsetup-84 against the
# kernel's drbd 8.4.11 under strace and prints each command's trace between
# GOLDEN-BEGIN/GOLDEN-END markers on the console. Not a test: it passes when all
# captures ran (the commands that are meant to fail are expected to fail).
. /udrbd/lib.sh
export PATH=$PATH:/usr/lib/drbd
S=drbdsetup-84
echo /bin/true > /sys/module/drbd/parameters/usermode_helper

# cap NAME CMD...: run CMD under strace, print the trace with markers.
cap() {
  name=$1; shift
  step "capture $name"
  strace -f -xx -s 65536 -e trace=$TRACE -e read=3 -e write=3 -o /tmp/$name.trace "$@" > /tmp/$name.out 2>&1
  rc=$?
  show $name $rc "$*"
}
# drbd-utils sends with write() and receives with recvmsg(); the netlink socket is fd 3.
TRACE=socket,bind,setsockopt,sendmsg,recvmsg,sendto,recvfrom,write
show() {
  echo "GOLDEN-BEGIN $1 rc=$2 cmd=$3"
  cat /tmp/$1.trace
  echo "GOLDEN-OUTPUT $1"
  cat /tmp/$1.out
  echo "GOLDEN-END $1"
}

# hand-made requests straight to the genetlink core (ACK, NACK and errno framing)
step "probes"
echo "GOLDEN-PROBES-BEGIN"
/udrbd/extra/probe || fail "probe failed"
echo "GOLDEN-PROBES-END"

for i in 0 1; do
  must truncate -s 80M /tmp/disk$i.img
  must losetup /dev/loop$i /tmp/disk$i.img
  must drbdmeta --force $i v08 /dev/loop$i internal create-md >/dev/null
done
# a disk without DRBD meta data, too small for internal meta data
must truncate -s 1M /tmp/small.img
must losetup /dev/loop2 /tmp/small.img

cap new-resource $S new-resource r0 --on-no-data-accessible=suspend-io
cap new-minor $S new-minor r0 0 0
cap new-minor-diskless $S new-minor r0 1 1
cap attach-missing $S attach 0 /dev/nonexistent /dev/nonexistent internal
cap attach-bad-md $S attach 0 /dev/loop2 /dev/loop2 internal
cap attach $S attach 0 /dev/loop0 /dev/loop0 internal --resync-rate=400M --c-plan-ahead=0 --al-extents=3389 --on-io-error=detach --disk-flushes=no
cap primary-nodisk $S primary 1
cap del-minor $S del-minor 1

# the peer: resource r1, minor 10, on the same host over loopback
must $S new-resource r1
must $S new-minor r1 10 0
must $S attach 10 /dev/loop1 /dev/loop1 internal --c-plan-ahead=0 --resync-rate=400M
cap connect $S connect r0 ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --protocol=C --shared-secret=geheim --max-buffers=8000 --ping-timeout=10 --allow-two-primaries=no
must $S connect r1 ipv4:127.0.0.1:7790 ipv4:127.0.0.1:7789 --protocol=C --shared-secret=geheim --max-buffers=8000 --ping-timeout=10
waitfor 60 "r0 Connected" is Connected $S 0 cstate
cap primary $S primary 0 --force
waitfor 120 "r0 UpToDate/UpToDate" is UpToDate/UpToDate $S 0 dstate
cap show $S show r0
cap status $S status r0 --verbose --statistics
cap events2 $S events2 all --now --statistics
# unprivileged (uid/gid 65534): status dumps are open, the shared secret is
# left out; state changes are refused
cap show-nonroot /udrbd/extra/runas $S show r0
# (drbdsetup's own per-minor lock file must be writable for it to get that far)
mkdir -p /var/lock && touch /var/lock/drbd-147-0 && chmod 666 /var/lock/drbd-147-0
cap primary-nonroot /udrbd/extra/runas $S primary 0
# a live events2 stream (the "events" multicast group) across the next changes
strace -f -xx -s 65536 -e trace=$TRACE -e read=3 -e write=3 -o /tmp/events2-live.trace \
  $S events2 all --statistics > /tmp/events2-live.out 2>&1 &
evpid=$!
waitfor 20 "events2 listening" grep -q "exists -" /tmp/events2-live.out
cap secondary $S secondary 0
cap disconnect $S disconnect ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790
cap detach $S detach 0
cap down $S down r0
must $S down r1
sleep 1
kill $(pidof drbdsetup-84)
wait $evpid
show events2-live $? "$S events2 all --statistics"
step "genl golden capture done"
