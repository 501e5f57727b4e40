# timeout: 1200
# Scripted failover of a two-node service (issue 9). Nodes a (10.0.0.1, minor 0) and
# b (10.0.0.2, minor 1), each in its own network namespace with its own udrbd daemon and
# udrbd-failover agent; a client c (10.0.0.3) in a third. Resource r0 has fencing
# resource-and-stonith; the fence-peer handler is scripts/fence-peer, asking the peer
# "over the replication link" (ping, then the peer's control socket) and, when the peer
# does not answer, a simulated STONITH (kill -9 of everything in the peer's namespace).
# The service: ext4 on /dev/ublkbMINOR, a writer that fdatasyncs numbered records and logs
# each as acknowledged, busybox httpd serving the filesystem, the floating address
# 10.0.0.100 brought up last.
#
# ROUNDS (default 6; failover-20 runs 20, outside make test) node losses, alternating: the Primary's link is cut and all its
# processes are SIGKILLed at once; the survivor's agent must promote, mount and start the
# service; c must fetch every acknowledged record through the floating address. The time
# from the loss to c's first successful fetch is printed per round (target < 5 s with
# ping-int 1, ping-timeout 5, timeout 10). The lost node returns after a simulated reboot
# (its ublk device deleted), comes up Secondary and resyncs from the bitmap.
# Then a partition with both nodes alive: at most one Primary remains; the fence-peer
# decisions are logged. Both nodes' events2 streams go to one ordered log, with a DEAD line
# per kill; no point of it may show two live Primaries. Metrics are scraped and checked.
. /udrbd/lib.sh
RATE="--c-plan-ahead=0 --resync-rate=200M --fencing=resource-and-stonith"
. /udrbd/scenarios/repl-common.inc
. /udrbd/scenarios/failover.svc
NETOPTS="--ping-int=1 --ping-timeout=5 --connect-int=1 --timeout=10"
UDRBD_ARGS="--metrics-listen 127.0.0.1:9942"
: "${ROUNDS:=6}"
MB=128
VIP=10.0.0.100
EV=/tmp/events.log
FENCE_LOG=/tmp/fence.log
diag() {
  echo "--- diagnostics"
  on c wget -T 2 -O - "http://$VIP/records" 2>&1 | tail -n 3
  on c ip neigh; for n in a b; do alive $n && on $n ip -br addr; done
  echo "acked: $(acked)"; ps | grep -e httpd -e failover.svc -e udrbd | grep -v grep
}
trap 'diag; showlogs a b; for n in a b; do echo "--- agent $n"; tail -n 30 /tmp/$n/agent.log; done; echo "--- fence log"; tail -n 30 $FENCE_LOG' EXIT

peer_of() { [ "$1" = a ] && echo b || echo a; }

# setup_node N ADDR PEER PEERADDR: the fence-peer configuration, the simulated STONITH and
# the agent's configuration of node N.
setup_node() {
  local n=$1 addr=$2 p=$3 paddr=$4 pm
  pm=$([ "$p" = a ] && echo 0 || echo 1)
  mkdir -p /tmp/$n /mnt/$n
  cat > /tmp/$n/helper <<EOT
#!/bin/sh
FENCE_PEER_CONF=/tmp/$n/fence-peer.conf exec /udrbd/bin/fence-peer "\$@"
EOT
  # "ssh" to the peer: unreachable (255) when it does not answer a ping within 0.3 s
  cat > /tmp/$n/peer-cmd <<EOT
#!/bin/sh
timeout 0.3 ping -c 1 -W 1 $paddr >/dev/null 2>&1 || { echo "$paddr does not answer"; exit 255; }
UDRBD_SOCKET=/tmp/$p/control.sock UDRBD_TRANSPORT=udrbd exec "\$@"
EOT
  # STONITH: "power off" the peer: everything in its namespace and its block device
  # (kill_node below); exit 0 once it is gone
  cat > /tmp/$n/stonith <<EOT
#!/bin/sh
. /udrbd/scenarios/failover.svc
poweroff $p $pm $VIP/24
echo "$p DEAD (STONITH by $n)" >> $EV
echo "$n" > /tmp/$p/shot-by
exit 0
EOT
  cat > /tmp/$n/fence-peer.conf <<EOT
PEER_CMD=/tmp/$n/peer-cmd
PEER_ROLE_CMD="drbdsetup role $pm"
PEER_DSTATE_CMD="drbdsetup dstate $pm"
PEER_OUTDATE_CMD="drbdsetup outdate $pm"
LOCAL_ROLE_CMD="env UDRBD_SOCKET=/tmp/$n/control.sock UDRBD_TRANSPORT=udrbd drbdsetup role $([ "$n" = a ] && echo 0 || echo 1)"
STONITH_CMD=/tmp/$n/stonith
STONITH_DELAY=0.5
FENCE_LOG=$FENCE_LOG
EOT
  chmod +x /tmp/$n/helper /tmp/$n/peer-cmd /tmp/$n/stonith
  cat > /tmp/$n/failover.toml <<EOT
node-name = "$n"
[programs]
drbdsetup = "drbdsetup"
[promoter.resources.r0]
runner = "shell"
start = [
  "start-stop-daemon -S -b -m -p /tmp/$n/writer.pid -x /bin/sh -- /udrbd/scenarios/failover.svc writer /mnt/$n $n",
  "start-stop-daemon -S -b -m -p /tmp/$n/httpd.pid -x /bin/busybox -- httpd -f -p 80 -h /mnt/$n",
]
stop = [
  "start-stop-daemon -K -o -p /tmp/$n/writer.pid",
  "start-stop-daemon -K -o -p /tmp/$n/httpd.pid",
]
fencing = "auto"
sleep-before-promote-factor = 0
promote-retry-interval = "1s"
timeout = "20s"
[promoter.resources.r0.filesystem]
device = "/dev/ublkb$([ "$n" = a ] && echo 0 || echo 1)"
mountpoint = "/mnt/$n"
fstype = "ext4"
[promoter.resources.r0.address]
ip = "$VIP/24"
interface = "eth0"
arp-count = 3
arp-interval = "100ms"
EOT
}

# watch N: append node N's events2 stream to the shared ordered log, prefixed with N.
watch() {
  (ds "$1" events2 --timestamps r0 2>/dev/null | while IFS= read -r l; do echo "$1 $l"; done >> $EV) &
  echo $! > /tmp/$1/watch.pid
}
agent() {
  /usr/sbin/ip netns exec "$1" env UDRBD_SOCKET=/tmp/$1/control.sock UDRBD_TRANSPORT=udrbd \
    udrbd-failover --config /tmp/$1/failover.toml --log-level info >> /tmp/$1/agent.log 2>&1 &
  echo $! > /tmp/$1/agent.pid
}
alive() { [ -n "$(ip netns pids "$1")" ]; }
role() { ds "$1" role "$(minor_of "$1")" | cut -d/ -f1; }
acked() { wc -l < /tmp/acked.log 2>/dev/null || echo 0; }
# fetch FILE: c fetches the records through the floating address.
fetch() { on c wget -q -T 1 -O "$1" "http://$VIP/records"; }
# missing GOT ACKED: acknowledged numbers that are not among the fetched records.
missing() { awk 'NR == FNR { have[$1] = 1; next } !($1 in have) { m++ } END { print m + 0 }' "$1" "$2"; }
ext4_errors() { dmesg | grep -c "EXT4-fs error (device ublkb$1)"; }
synced_pair() {
  [ "$(ds "$1" cstate "$(minor_of "$1")")" = Connected ] &&
    [ "$(ds "$1" dstate "$(minor_of "$1")")" = UpToDate/UpToDate ] &&
    [ "$(ds "$2" dstate "$(minor_of "$2")")" = UpToDate/UpToDate ]
}
# returned N WHAT: since its revival node N resynced as SyncTarget from the bitmap, not in
# full, and saw no split brain.
returned() {
  local since line
  since=$(tail -n +"$(($(cat /tmp/$1/log.mark) + 1))" /tmp/$1/udrbd.log)
  line=$(echo "$since" | grep -o 'Began resync as SyncTarget.*' | tail -n 1)
  [ -n "$line" ] || fail "$2: $1 did not resync as SyncTarget"
  echo "$since" | grep -q 'Writing the whole bitmap' && fail "$2: $1 needed a full sync"
  echo "$since" | grep -q 'Split-Brain' && fail "$2: split brain on $1's return"
  echo "$2: $1 returned as $(role $1): $line"
}
# breakdown S T0 LINE ALINE: where the failover's time went, from S's daemon log (from
# line LINE on) and agent log (from ALINE on), against the loss at T0 (wall clock, ms of
# the day): until S's daemon noticed, until the service ran (SVC), and of that drbdsetup
# primary (with the fence-peer handler) and the mount.
ms_of() { sed -n 's/^time=[0-9-]*T\([0-9:.]*\)Z.*/\1/p' | tail -n 1 | awk -F: '{ printf "%d\n", ($1 * 3600 + $2 * 60 + $3) * 1000 }'; }
took_ms() { grep "do=\"run $1" /tmp/$2/agent.log | grep 'took=' | tail -n 1 | sed -n 's/.* took=\([0-9.]*\)\(m*s\).*/\1 \2/p' | awk '{ printf "%d\n", $2 == "ms" ? $1 : $1 * 1000 }'; }
breakdown() {
  local lost up
  lost=$(tail -n +"$3" /tmp/$1/udrbd.log | grep -E 'from=Secondary/Connected/.* to=Secondary/' | head -n 1 | ms_of)
  # the client may get through before the agent's gratuitous ARP rounds end and it logs
  # "service is up": wait for this round's line
  local i=0
  while ! tail -n +"$4" /tmp/$1/agent.log | grep -q 'service is up'; do
    i=$((i + 1)); [ $i -gt 100 ] && break
    sleep 0.1
  done
  up=$(tail -n +"$4" /tmp/$1/agent.log | grep 'service is up' | ms_of)
  [ -n "$lost" ] && [ -n "$up" ] || { echo "no breakdown"; return 1; }
  SVC=$((up - $2))
  echo "service running on $1 after $SVC ms: $1 noticed the loss after $((lost - $2)) ms, primary (with fence-peer) $(took_ms drbdsetup $1) ms, mount $(took_ms mount $1) ms"
}
# calibrate: OFF = wall clock (ms of the day, as the logs have it) minus uptime (ms),
# taken the moment `date +%s` turns over
calibrate() {
  local s0 s1 up
  s0=$(date +%s)
  while s1=$(date +%s); [ "$s1" = "$s0" ]; do :; done
  up=$(elapsed_cs)
  OFF=$(((s1 % 86400) * 1000 - up * 10))
}
service_on() { [ "$(role "$1")" = Primary ] && fetch /tmp/probe; }

# kill_node N: node loss: the link cut and every process killed at once.
kill_node() {
  linkdown "$1"
  poweroff "$1" "$(minor_of "$1")" $VIP/24 || fail "node $1 does not die"
  wait "$(cat /tmp/$1/watch.pid)" 2>/dev/null
  echo "$1 DEAD (node loss)" >> $EV
}
# revive N: the node comes back after a reboot: its old block device is gone, the link is
# back, the daemon restarts from its state dir, then the agent.
revive() {
  local n=$1
  [ -e /dev/ublkc"$(minor_of $n)" ] && fail "node $n's old block device survived its death"
  rm -f /tmp/$n/writer.pid /tmp/$n/httpd.pid /tmp/$n/shot-by
  wc -l < /tmp/$n/udrbd.log > /tmp/$n/log.mark
  linkup "$n"
  USERMODE_HELPER=/tmp/$n/helper ustart "$n"
  watch "$n"
  agent "$n"
}

step "two nodes, fencing resource-and-stonith, the fence-peer handler as usermode helper"
setup_node a 10.0.0.1 b 10.0.0.2
setup_node b 10.0.0.2 a 10.0.0.1
USERMODE_HELPER=/tmp/a/helper unode a 10.0.0.1 0 $MB
USERMODE_HELPER=/tmp/b/helper unode b 10.0.0.2 1 $MB
mkhost c 10.0.0.3/24
uconnect a 10.0.0.2
uconnect b 10.0.0.1
waitfor 30 "connected" is "Connected Secondary/Secondary Inconsistent/Inconsistent" ustate a
must ds a primary 0 --force
waitfor 120 "initial sync" synced_pair a b
must mkfs.ext4 -q /dev/ublkb0
: > /tmp/acked.log
: > $EV
: > $FENCE_LOG
watch a
watch b
step "the agents start: a's takes over the Primary, b's waits"
agent a
agent b
waitfor 60 "the service on a" service_on a
[ "$(role b)" = Secondary ] || fail "b is $(role b)"

step "metrics while replicating"
waitfor 30 "writes" sh -c "[ \$(wc -l < /tmp/acked.log) -gt 50 ]"
on a wget -q -O /tmp/metrics.a http://127.0.0.1:9942/metrics || fail "no metrics on a"
on b wget -q -O /tmp/metrics.b http://127.0.0.1:9942/metrics || fail "no metrics on b"
metric() { grep -q "$2" "$1" || { grep -v '^#' "$1" | head -n 60; fail "metrics $1: no line matching $2"; }; }
metric /tmp/metrics.a '^drbdreactor_up 1$'
metric /tmp/metrics.a '^drbd_version{.*kmod="8.4.11".*} 1$'
metric /tmp/metrics.a '^drbd_resource_role{.*drbd_resource_role="Primary".*name="r0".*} 1$'
metric /tmp/metrics.b '^drbd_resource_role{.*drbd_resource_role="Secondary".*name="r0".*} 1$'
metric /tmp/metrics.a '^drbd_connection_state{.*drbd_connection_state="Connected".*} 1$'
metric /tmp/metrics.a '^drbd_device_state{.*drbd_device_state="UpToDate".*minor="0".*} 1$'
metric /tmp/metrics.a '^drbd_peerdevice_outofsync_bytes{.*} 0$'
metric /tmp/metrics.a '^drbd_device_written_bytes_total{.*minor="0".*} [1-9]'
metric /tmp/metrics.b '^drbd_peerdevice_received_bytes{.*} [1-9]'
metric /tmp/metrics.a '^udrbd_network_write_duration_seconds_count{.*} [1-9]'
metric /tmp/metrics.a '^udrbd_application_write_duration_seconds_bucket{.*le="+Inf".*} [1-9]'
echo "metrics ok: $(grep -c '^drbd' /tmp/metrics.a) drbd series on a"

P=a
S=b
total=0
worst=0
stotal=0
sworst=0
scount=0
calibrate
r=1
while [ $r -le "$ROUNDS" ]; do
  step "round $r: node loss of $P (Primary), $S takes over"
  base=$(acked)
  waitfor 30 "load on $P" sh -c "[ \$(wc -l < /tmp/acked.log) -gt $((base + 30)) ]"
  errs=$(ext4_errors "$(minor_of $S)")
  from=$(($(wc -l < /tmp/$S/udrbd.log) + 1))
  afrom=$(($(wc -l < /tmp/$S/agent.log) + 1))
  t0=$(elapsed_cs)
  kill_node $P
  cp /tmp/acked.log /tmp/acked.snap
  i=0
  while ! fetch /tmp/got 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && fail "round $r: the service did not come back at $VIP within 60 s"
    sleep 0.1
  done
  t1=$(elapsed_cs)
  ms=$(((t1 - t0) * 10))
  total=$((total + ms))
  [ $ms -gt $worst ] && worst=$ms
  SVC=
  breakdown $S $((t0 * 10 + OFF)) $from $afrom > /tmp/breakdown || true
  echo "round $r: failover $P -> $S: $(cat /tmp/breakdown); client c reached $VIP after $ms ms"
  if [ -n "$SVC" ]; then
    stotal=$((stotal + SVC))
    scount=$((scount + 1))
    [ $SVC -gt $sworst ] && sworst=$SVC
  fi
  [ "$(role $S)" = Primary ] || fail "round $r: $S is $(role $S)"
  lost=$(missing /tmp/got /tmp/acked.snap)
  [ "$lost" = 0 ] || fail "round $r: $lost of $(wc -l < /tmp/acked.snap) acknowledged records are not on $S"
  [ "$(ext4_errors "$(minor_of $S)")" = "$errs" ] || { dmesg | tail -n 20; fail "round $r: ext4 errors on $S"; }
  echo "round $r: all $(wc -l < /tmp/acked.snap) acknowledged records on $S"
  revive $P
  waitfor 120 "$P back as Secondary, in sync" synced_pair $S $P
  [ "$(role $P)" = Secondary ] || fail "round $r: $P came back $(role $P)"
  returned $P "round $r"
  tmp=$P; P=$S; S=$tmp
  r=$((r + 1))
done
echo "failover: $ROUNDS rounds; loss to service running on the survivor: average $((stotal / (scount > 0 ? scount : 1))) ms, worst $sworst ms ($scount rounds timed); loss to client c's first fetch through $VIP: average $((total / ROUNDS)) ms, worst $worst ms"

step "partition: $P (Primary) and $S both alive, the link cut"
base=$(acked)
waitfor 30 "load on $P" sh -c "[ \$(wc -l < /tmp/acked.log) -gt $((base + 30)) ]"
linkdown $P
waitfor 60 "one side fenced" sh -c "[ -e /tmp/a/shot-by ] || [ -e /tmp/b/shot-by ]"
sleep 3
linkup $P
if [ -e /tmp/$S/shot-by ]; then W=$P L=$S; else W=$S L=$P; fi
alive $W || fail "both nodes are dead"
alive $L && fail "$L was shot but lives"
echo "partition: $L was shot by $(cat /tmp/$L/shot-by); $W survives as $(role $W)"
[ "$(role $W)" = Primary ] || waitfor 30 "$W Primary" is Primary role $W
waitfor 30 "the service on $W" fetch /tmp/got
cp /tmp/acked.log /tmp/acked.snap
sleep 1
fetch /tmp/got || fail "fetch after the partition"
lost=$(missing /tmp/got /tmp/acked.snap)
[ "$lost" = 0 ] || fail "partition: $lost acknowledged records are not on $W"
grep "fence-peer r0" $FENCE_LOG | tail -n 8
grep -q "STONITH" $FENCE_LOG || fail "no fence-peer decision logged"
revive $L
waitfor 120 "$L back as Secondary, in sync" synced_pair $W $L
[ "$(role $L)" = Secondary ] || fail "$L came back $(role $L)"
returned $L partition

step "no split brain, never two Primaries"
grep -l "Split-Brain" /tmp/a/udrbd.log /tmp/b/udrbd.log && fail "split brain"
awk '
  / DEAD / { role[$1] = "dead"; next }
  / resource name:r0 / && match($0, /role:[A-Za-z]+/) { role[$1] = substr($0, RSTART + 5, RLENGTH - 5) }
  { n = 0; for (k in role) if (role[k] == "Primary") n++
    if (n > 1) { print "two Primaries at line " NR ": " $0; bad = 1 } }
  END { exit bad }' $EV || fail "double primary in the events2 logs"
echo "events2: $(grep -c 'role:Primary' $EV) promotions, $(grep -c ' DEAD ' $EV) kills, never two Primaries"

step "the agent stops the service; the data is whole"
got=$(acked)
kill -TERM "$(cat /tmp/$W/agent.pid)"
waitfor 60 "$W demoted" is Secondary role $W
must e2fsck -f -n /tmp/$W/disk >/tmp/e2fsck.out 2>&1 || { cat /tmp/e2fsck.out; fail "e2fsck"; }
tail -n 1 /tmp/e2fsck.out
dataeq /tmp/a/disk /tmp/b/disk $(((MB - 4) * 1024 * 1024))
echo "$got records acknowledged in all"
trap - EXIT
