# timeout: 300
# A network cut during protocol C writes. The primary writes numbered records (one 4 KiB
# block each, O_DIRECT) and logs each one as acknowledged together with the connection
# state seen right after; the link to the secondary is cut in the middle. Writes stall
# until the ping timeout declares the peer gone, then go on locally. Every acknowledged
# record is on the primary's disk, and every record acknowledged while Connected is on
# the secondary's disk (protocol C acknowledges only what the peer wrote). After the link
# is back, the resync brings the secondary level.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
MB=64
trap "showlogs a b" EXIT # on failure
unode a 10.0.0.1 0 $MB
unode b 10.0.0.2 1 $MB
uconnect a 10.0.0.2 --protocol=C
uconnect b 10.0.0.1 --protocol=C
waitfor 30 "connected" is "Connected Secondary/Secondary Inconsistent/Inconsistent" ustate a
must ds a primary 0 --force
waitfor 120 "in sync" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a

rec() { printf 'record-%08d.' "$1"; }
# writer N: records 1..N to /dev/ublkb0, block i holding record i; logs "i cstate ms"
writer() {
  local i=1 t0 t1
  : > /tmp/acked
  while [ $i -le "$1" ]; do
    t0=$(elapsed_cs)
    rec $i | dd of=/dev/ublkb0 bs=4096 seek=$i conv=sync oflag=direct status=none 2>/dev/null || { echo "write $i failed" >> /tmp/acked.err; return 1; }
    t1=$(elapsed_cs)
    echo "$i $(ds a cstate 0) $(( (t1 - t0) * 10 ))" >> /tmp/acked
    i=$((i + 1))
  done
}
step "writer with a link cut after a few records"
writer 300 &
wpid=$!
waitfor 60 "50 records written" sh -c '[ $(wc -l < /tmp/acked) -ge 50 ]'
linkdown b
t_cut=$(elapsed_cs)
wait $wpid || { cat /tmp/acked.err 2>/dev/null; fail "the writer failed"; }
t_end=$(elapsed_cs)
cat /proc/uptime >/dev/null
n=$(wc -l < /tmp/acked)
conn=$(grep -c ' Connected ' /tmp/acked)
stall=$(awk 'BEGIN{m=0} {if ($3 > m) m = $3} END{print m}' /tmp/acked)
echo "records acknowledged: $n; while Connected: $conn; longest write: ${stall} ms; $(( (t_end - t_cut) / 100 ))s from the cut to the last record"
[ "$n" = 300 ] || fail "only $n of 300 records acknowledged"
[ "$conn" -ge 50 ] && [ "$conn" -lt 300 ] || fail "records acknowledged while Connected: $conn"
ustate a
case $(ds a cstate 0) in WFConnection|Unconnected|NetworkFailure|Timeout) ;; *) fail "a is $(ds a cstate 0) after the cut";; esac

check() {
  local disk=$1 i want got
  shift
  for i in "$@"; do
    want=$(rec "$i")
    got=$(dd if="$disk" bs=4096 skip="$i" count=1 status=none | head -c ${#want})
    [ "$got" = "$want" ] || fail "record $i missing on $disk (found '$got')"
  done
}
step "every acknowledged record is on the primary"
check /tmp/a/disk $(awk '{print $1}' /tmp/acked)
step "every record acknowledged while Connected is on the secondary"
check /tmp/b/disk $(awk '$2 == "Connected" {print $1}' /tmp/acked)

step "link back: the resync brings b level"
linkup b
waitfor 60 "in sync again" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
check /tmp/b/disk $(awk '{print $1}' /tmp/acked)
dataeq /tmp/a/disk /tmp/b/disk $(devbytes a)
trap - EXIT
step "repl-netcut ok"
