# timeout: 300
# A diskless primary: the primary detaches its disk and keeps serving fio verify, reading
# and writing through its peer (P_DATA_REQUEST / P_DATA_REPLY); attached again while
# connected it negotiates (D_NEGOTIATING) and catches up from the peer's bitmap.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
MB=64
trap "showlogs a b" EXIT # on failure
unode a 10.0.0.1 0 $MB
unode b 10.0.0.2 1 $MB
uconnect a 10.0.0.2
uconnect b 10.0.0.1
waitfor 30 "connected" is "Connected Secondary/Secondary Inconsistent/Inconsistent" ustate a
must ds a primary 0 --force
waitfor 120 "in sync" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
bytes=$(devbytes a)

step "detach the primary's disk"
must ds a detach 0
waitfor 10 "a diskless" is "Connected Primary/Secondary Diskless/UpToDate" ustate a
waitfor 10 "b sees it" is "Connected Secondary/Primary UpToDate/Diskless" ustate b
step "fio verify on the diskless primary"
fio_verify /dev/ublkb0 32M
oos=$(oos_kib b)
echo "b: ${oos} KiB out of sync with the diskless peer"
[ "$oos" -gt 0 ] || fail "b does not mark what the diskless primary wrote"
ds a status r0 --verbose

step "attach again while connected: negotiate, resync from b"
$DRBDMETA --force 0 v08 /tmp/a/disk internal apply-al >/dev/null 2>&1 || fail "apply-al"
must ds a attach 0 /tmp/a/disk /tmp/a/disk internal $RATE
waitfor 60 "a UpToDate again" is "Connected Primary/Secondary UpToDate/UpToDate" ustate a
grep 'Began resync as SyncTarget' /tmp/a/udrbd.log | tail -n 1
grep -q 'Began resync as SyncTarget' /tmp/a/udrbd.log || fail "a did not resync from b"
dataeq /tmp/a/disk /tmp/b/disk "$bytes"
fio_verify /dev/ublkb0 16M
dataeq /tmp/a/disk /tmp/b/disk "$bytes"
trap - EXIT
step "repl-diskless ok"
