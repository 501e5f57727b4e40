#!/bin/sh
# udrbd demo: a replicated two-node service that survives losing its primary.
#
# Two udrbd daemons (node a and node b, each with its own control socket, state dir and
# 256 MiB sparse backing file with DRBD 8.4 meta-data) serve resource r0 and replicate it
# over loopback with the DRBD 8.4 protocol (C), fencing resource-and-stonith. Node a
# becomes primary, the initial sync runs, an ext4 filesystem is made on a's device. Then
# each node runs the failover agent (bin/udrbd-failover): a's mounts the filesystem and
# starts the service, a writer that appends numbered records, fsyncs each and logs it as
# acknowledged. Node a is lost (everything of it killed with SIGKILL, its block device
# gone as with a dead machine): b's agent promotes b through the fence-peer handler
# (scripts/fence-peer; the "STONITH" here confirms that a's processes are gone), mounts b's
# copy and starts the service there; every acknowledged record is on it. Node a comes back
# (its daemon restarted from its state dir, as after a reboot): it is Secondary and
# resyncs from the bitmap. The status is printed at each step, and everything is torn
# down. Needs root and /dev/ublk-control (`make demo` runs it in the test VM otherwise).
# udrbd, udrbd-failover, drbdmeta, drbdsetup and ublkfile come from PATH (make demo puts
# the repo's bin/ first); the fence-peer handler from this script's directory.
set -eu
say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; "$@"; }
step() { printf '\n### %s\n' "$*"; }

[ -e /dev/ublk-control ] || { echo "demo: no /dev/ublk-control (modprobe ublk_drv, or run make demo)"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/fence-peer" ] || { echo "demo: $here/fence-peer missing"; exit 1; }
dir=${DEMO_DIR:-$(mktemp -d /tmp/udrbd-demo.XXXXXX)}
mkdir -p "$dir/a" "$dir/b" "$dir/mnt-a" "$dir/mnt-b"
export UDRBD_TRANSPORT=udrbd
cleanup() {
  set +e
  for n in a b; do
    [ -f "$dir/$n/agent.pid" ] && kill -TERM "$(cat "$dir/$n/agent.pid")" 2>/dev/null
  done
  sleep 2
  for n in a b; do
    grep -q " $dir/mnt-$n " /proc/mounts && umount "$dir/mnt-$n"
    [ -S "$dir/$n/control.sock" ] && on $n drbdsetup down r0 >/dev/null 2>&1
    [ -f "$dir/$n/pid" ] && kill -TERM "$(cat "$dir/$n/pid")" 2>/dev/null
  done
  wait 2>/dev/null
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
minor_of() { [ "$1" = a ] && echo 0 || echo 1; }
role() { on "$1" drbdsetup role "$(minor_of "$1")" | cut -d/ -f1; }
mounted() { grep -q " $dir/mnt-$1 " /proc/mounts; }
acked() { wc -l < "$dir/acked" 2>/dev/null || echo 0; }
ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# udrbd NODE: start node NODE's daemon (again: it takes its configuration back from its
# state dir). The usermode helper runs scripts/fence-peer for fence-peer/unfence-peer.
udrbd_start() {
  n=$1
  say udrbd --socket "$dir/$n/control.sock" --state-dir "$dir/$n/state" --dev-dir "$dir/$n/dev" --usermode-helper "$dir/$n/helper" '&'
  udrbd --socket "$dir/$n/control.sock" --state-dir "$dir/$n/state" --dev-dir "$dir/$n/dev" \
    --usermode-helper "$dir/$n/helper" 2>>"$dir/$n/udrbd.log" &
  echo $! > "$dir/$n/pid"
  wait_until 10 test -S "$dir/$n/control.sock"
}
agent_start() {
  n=$1
  say udrbd-failover --config "$dir/$n/failover.toml" '&'
  UDRBD_SOCKET="$dir/$n/control.sock" udrbd-failover --config "$dir/$n/failover.toml" 2>>"$dir/$n/agent.log" &
  echo $! > "$dir/$n/agent.pid"
}

# The service: append numbered records, fsync each, log it as acknowledged.
cat > "$dir/writer" <<'EOF'
#!/bin/sh
f=$1/records n=$(tail -n 1 "$1/records" 2>/dev/null | cut -d' ' -f1 | tr -cd 0-9)
n=$((${n:-0} + 1))
while echo "$n $2 $(date +%T)" >> "$f" && sync -d "$f"; do echo "$n" >> "$3"; n=$((n + 1)); sleep 0.02; done
EOF
chmod +x "$dir/writer"

for n in a b; do
  p=b; [ $n = b ] && p=a
  # the fence-peer handler's view of the peer: "unreachable" once its daemon is gone; the
  # simulated STONITH succeeds once none of the peer's processes is left
  cat > "$dir/$n/helper" <<EOF
#!/bin/sh
FENCE_PEER_CONF=$dir/$n/fence-peer.conf exec $here/fence-peer "\$@"
EOF
  cat > "$dir/$n/peer-cmd" <<EOF
#!/bin/sh
kill -0 \$(cat $dir/$p/pid) 2>/dev/null || { echo "node $p is down"; exit 255; }
UDRBD_SOCKET=$dir/$p/control.sock UDRBD_TRANSPORT=udrbd exec "\$@"
EOF
  cat > "$dir/$n/stonith" <<EOF
#!/bin/sh
for f in pid agent.pid writer.pid; do [ -f $dir/$p/\$f ] && kill -9 \$(cat $dir/$p/\$f) 2>/dev/null; done
exit 0
EOF
  cat > "$dir/$n/fence-peer.conf" <<EOF
PEER_CMD=$dir/$n/peer-cmd
PEER_ROLE_CMD="drbdsetup role $(minor_of $p)"
PEER_DSTATE_CMD="drbdsetup dstate $(minor_of $p)"
PEER_OUTDATE_CMD="drbdsetup outdate $(minor_of $p)"
LOCAL_ROLE_CMD="env UDRBD_SOCKET=$dir/$n/control.sock drbdsetup role $(minor_of $n)"
STONITH_CMD=$dir/$n/stonith
STONITH_DELAY=0.5
FENCE_LOG=$dir/fence.log
EOF
  cat > "$dir/$n/failover.toml" <<EOF
node-name = "$n"
[promoter.resources.r0]
start = ['$dir/writer $dir/mnt-$n $n $dir/acked >/dev/null 2>&1 & echo \$! > $dir/$n/writer.pid']
stop = ['kill \$(cat $dir/$n/writer.pid)']
sleep-before-promote-factor = 0
promote-retry-interval = "1s"
[promoter.resources.r0.filesystem]
device = "/dev/ublkb$(minor_of $n)"
mountpoint = "$dir/mnt-$n"
fstype = "ext4"
EOF
  chmod +x "$dir/$n/helper" "$dir/$n/peer-cmd" "$dir/$n/stonith"
done

step "two nodes: meta-data, daemons, resource r0 (fencing resource-and-stonith)"
echo "demo directory: $dir"
port_a=7789 port_b=7790
for n in a b; do
  m=$(minor_of $n)
  run truncate -s 256M "$dir/$n/disk"
  say drbdmeta --force $m v08 "$dir/$n/disk" internal create-md
  yes yes | drbdmeta --force $m v08 "$dir/$n/disk" internal create-md
  udrbd_start $n
done
run udrbd --version
for n in a b; do
  m=$(minor_of $n) my=$port_a peer=$port_b
  [ $n = b ] && my=$port_b peer=$port_a
  echo; echo "# node $n"
  run on $n drbdsetup new-resource r0
  run on $n drbdsetup new-minor r0 $m 0
  run on $n drbdsetup attach $m "$dir/$n/disk" "$dir/$n/disk" internal --c-plan-ahead=0 --resync-rate=200M --fencing=resource-and-stonith
  run on $n drbdsetup connect r0 ipv4:127.0.0.1:$my ipv4:127.0.0.1:$peer --protocol=C --ping-int=1 --ping-timeout=5 --timeout=10
done
connected() { [ "$(on a drbdsetup cstate 0)" = Connected ]; }
wait_until 30 connected
run on a drbdsetup status r0

step "node a becomes primary: the initial sync a -> b"
run on a drbdsetup primary 0 --force
synced() { [ "$(on a drbdsetup dstate 0)" = UpToDate/UpToDate ] && [ "$(on b drbdsetup dstate 1)" = UpToDate/UpToDate ]; }
wait_until 300 synced
run on a drbdsetup status r0 --verbose
run mkfs.ext4 -q -F /dev/ublkb0

step "the failover agents start: a's takes over its Primary (mount, service), b's waits"
run cat "$dir/a/failover.toml"
agent_start a
agent_start b
service_a() { mounted a && [ "$(acked)" -gt 20 ]; }
wait_until 60 service_a
run on a drbdsetup status r0 --verbose --statistics
run on b drbdsetup status r0
say tail -n 3 "$dir/mnt-a/records"
tail -n 3 "$dir/mnt-a/records"

step "node loss: node a dies (SIGKILL of its daemon, agent and service; its block device goes with it)"
t0=$(ms)
say kill -9 "<udrbd a>" "<udrbd-failover a>" "<writer a>"
kill -9 "$(cat "$dir/a/pid")" "$(cat "$dir/a/agent.pid")" "$(cat "$dir/a/writer.pid")" 2>/dev/null || true
wait "$(cat "$dir/a/pid")" "$(cat "$dir/a/agent.pid")" 2>/dev/null || true
cp "$dir/acked" "$dir/acked.at-loss"
# the dead machine's block device and mount go with it (deleting the device fails the IO
# the dead daemon left queued; only then can the unmount finish)
say ublkfile -delete 0 '&' umount -l "$dir/mnt-a"
ublkfile -delete 0 &
del=$!
umount -l "$dir/mnt-a"
wait $del
rm -f "$dir/a/agent.pid" "$dir/a/control.sock"
service_b() { [ "$(role b)" = Primary ] && mounted b && [ "$(acked)" -gt "$(wc -l < "$dir/acked.at-loss")" ]; }
wait_until 60 service_b
echo "the service runs on b $(($(ms) - t0)) ms after the loss"
run cat "$dir/fence.log"
run on b drbdsetup status r0 --verbose
lost=$(awk 'NR == FNR { have[$1] = 1; next } !($1 in have) { m++ } END { print m + 0 }' "$dir/mnt-b/records" "$dir/acked.at-loss")
echo "acknowledged before the loss: $(wc -l < "$dir/acked.at-loss") records; missing on b: $lost"
[ "$lost" = 0 ] || { echo "demo: acknowledged records lost"; exit 1; }

step "node a returns (as after a reboot): Secondary, resync from the bitmap"
echo "# a's bitmap: what its activity log says it may have written before it died (on this"
echo "# small disk mkfs touched every 4 MiB extent, so all of it), merged with b's bitmap of"
echo "# what b wrote since"
udrbd_start a
agent_start a
sleep 1
run on a drbdsetup status r0 --verbose --statistics
wait_until 120 synced
run on a drbdsetup status r0 --verbose
run on b drbdsetup status r0 --verbose
grep -h -e 'Began resync' -e 'Resync done' -e 'staying Secondary' "$dir/a/udrbd.log" | tail -n 3 | sed 's/^time=[^ ]* level=[A-Z]* //'
[ "$(role a)" = Secondary ] || { echo "demo: a came back $(role a)"; exit 1; }

step "tear down: the agents stop the service, unmount and demote"
for n in b a; do
  say kill -TERM "<udrbd-failover $n>"
  kill -TERM "$(cat "$dir/$n/agent.pid")"
  wait "$(cat "$dir/$n/agent.pid")" 2>/dev/null || true
  rm -f "$dir/$n/agent.pid"
done
run on b drbdsetup status r0
for n in a b; do run on $n drbdsetup down r0; done
for n in a b; do kill -TERM "$(cat "$dir/$n/pid")"; wait "$(cat "$dir/$n/pid")" 2>/dev/null || true; rm -f "$dir/$n/pid"; done
echo
echo "demo done: $(acked) records acknowledged, none lost (logs: $dir/a, $dir/b)"
