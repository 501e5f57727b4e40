# timeout: 420
# udrbd (network namespace a, 10.0.0.1) paired with the kernel's drbd.ko 8.4.11 (the
# initial namespace, 10.0.0.9), configured with drbd-utils' drbdsetup-84, in both
# directions: connect with and without cram-hmac; full sync udrbd -> kernel and kernel ->
# udrbd; protocols A, B and C with fio verify on either primary; disconnect, write,
# reconnect with the kernel's compressed bitmaps; online verify both ways (0 out of sync,
# then exactly the blocks changed behind DRBD's back); a split brain made on purpose is
# detected on both sides. Every step compares the two sides' status; the kernel log must
# show no protocol error and neither side a ping-ack timeout.
. /udrbd/lib.sh
. /udrbd/scenarios/repl-common.inc
MB=64
trap 'showlogs a; dmesg | grep -i drbd | tail -n 40' EXIT # on failure
knode 10.0.0.9 $MB
unode a 10.0.0.1 1 $MB
U=1 # udrbd's minor (the kernel's is 0)
SECRET="--cram-hmac-alg=sha1 --shared-secret=Zaph0d --verify-alg=crc32c"

# agree: both sides' view of the connection mirror each other: cstate, roles, disks.
swap() { echo "$1" | awk -F/ '{print $2 "/" $1}'; }
agree() {
  local kc kr kd uc ur ud
  kc=$($K cstate 0); kr=$($K role 0); kd=$($K dstate 0)
  uc=$(ds a cstate $U); ur=$(ds a role $U); ud=$(ds a dstate $U)
  [ "$kr" = "$(swap "$ur")" ] && [ "$kd" = "$(swap "$ud")" ] && [ "$kc" = "$uc" ]
}
settled() { [ "$($K cstate 0)" = Connected ] && [ "$(ds a cstate $U)" = Connected ] && agree; }
# synced ROLE_K/ROLE_U: connected, both UpToDate, the roles as given (kernel's first).
synced() { settled && [ "$($K dstate 0)" = UpToDate/UpToDate ] && [ "$($K role 0)" = "$1" ]; }
show() { echo "kernel: $($K cstate 0) $($K role 0) $($K dstate 0) | udrbd: $(ds a cstate $U) $(ds a role $U) $(ds a dstate $U)"; }
bytes=$((MB * 1024 * 1024 - 1024 * 1024)) # the data area, well inside both devices
compare() { dataeq /tmp/k.img /tmp/a/disk "$bytes"; }
kdown_conn() { $K disconnect ipv4:10.0.0.9:$PORT ipv4:10.0.0.1:$PORT; }
udown_conn() { ds a disconnect ipv4:10.0.0.1:$PORT ipv4:10.0.0.9:$PORT; }
reconnect() { kconnect 10.0.0.1 "$@"; uconnect a 10.0.0.9 "$@"; }

step "connect with cram-hmac"
reconnect $SECRET
waitfor 30 "Connected" settled
show
grep -q 'Peer authenticated using 20 bytes HMAC' /tmp/a/udrbd.log || fail "udrbd did not authenticate the kernel"
dmesg | grep -q 'Peer authenticated using 20 bytes HMAC' || fail "the kernel did not authenticate udrbd"

step "full sync udrbd -> kernel"
must ds a primary $U --force
waitfor 120 "in sync, udrbd primary" synced Secondary/Primary
show
compare

step "protocol C: fio verify on the udrbd primary"
fio_verify /dev/ublkb1 32M
compare

step "protocol C: fio verify on the kernel primary"
must ds a secondary $U
must $K primary 0
waitfor 10 "roles swapped" synced Primary/Secondary
fio_verify /dev/drbd0 32M
compare

step "full sync kernel -> udrbd (invalidate on udrbd)"
must ds a invalidate $U
waitfor 120 "in sync after invalidate" synced Primary/Secondary
grep -q 'Began resync as SyncTarget (will sync 6[0-9]* KB' /tmp/a/udrbd.log || fail "no full resync as SyncTarget"
compare

for p in A B; do
  step "protocol $p, no cram-hmac: fio verify on both primaries"
  kdown_conn; udown_conn
  reconnect --protocol=$p --verify-alg=crc32c
  waitfor 30 "protocol $p connected" synced Primary/Secondary
  fio_verify /dev/drbd0 16M
  must $K secondary 0
  must ds a primary $U
  waitfor 10 "roles swapped" synced Secondary/Primary
  fio_verify /dev/ublkb1 16M
  must ds a secondary $U
  must $K primary 0
  waitfor 10 "roles swapped back" synced Primary/Secondary
  compare
done

step "disconnect, write on the kernel primary, reconnect: bitmap resync kernel -> udrbd"
kdown_conn; udown_conn
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=300 seek=1000 oflag=direct status=none
reconnect --verify-alg=crc32c
waitfor 60 "resynced" synced Primary/Secondary
grep 'Began resync as SyncTarget' /tmp/a/udrbd.log | tail -n 1
grep 'Began resync as SyncTarget' /tmp/a/udrbd.log | tail -n 1 | grep -q 'will sync 1200 KB' || fail "not a 300-block bitmap resync"
compare

step "disconnect, write on the udrbd primary, reconnect: bitmap resync udrbd -> kernel"
must $K secondary 0
must ds a primary $U
waitfor 10 "udrbd primary" synced Secondary/Primary
kdown_conn; udown_conn
must dd if=/dev/urandom of=/dev/ublkb1 bs=4k count=200 seek=3000 oflag=direct status=none
reconnect --verify-alg=crc32c
waitfor 60 "resynced" synced Secondary/Primary
dmesg | grep 'Began resync as SyncTarget' | tail -n 1
dmesg | grep 'Began resync as SyncTarget' | tail -n 1 | grep -q 'will sync 800 KB' || fail "not a 200-block bitmap resync on the kernel"
dmesg | grep -q 'receive bitmap stats' || fail "no bitmap exchange seen by the kernel"
compare

step "data-integrity-alg sha1, csums-alg crc32c: checksum-based resyncs, fio verify both ways"
ALGS="--data-integrity-alg=sha1 --csums-alg=crc32c --verify-alg=crc32c"
kdown_conn; udown_conn
must dd if=/dev/urandom of=/dev/ublkb1 bs=4k count=50 seek=5000 oflag=direct status=none
reconnect $ALGS
waitfor 60 "resynced with csums (kernel target)" synced Secondary/Primary
dmesg | grep -q 'had equal checksums' || fail "the kernel did not resync with checksums"
fio_verify /dev/ublkb1 16M
compare
must ds a secondary $U
must $K primary 0
waitfor 10 "roles swapped" synced Primary/Secondary
kdown_conn; udown_conn
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=50 seek=6000 oflag=direct status=none
reconnect $ALGS
waitfor 60 "resynced with csums (udrbd target)" synced Primary/Secondary
fio_verify /dev/drbd0 16M
compare
grep -q 'Digest integrity check FAILED' /tmp/a/udrbd.log && fail "udrbd saw bad digests"
must $K secondary 0
must ds a primary $U
waitfor 10 "roles back" synced Secondary/Primary
kdown_conn; udown_conn
reconnect --verify-alg=crc32c
waitfor 30 "reconnected" synced Secondary/Primary

step "online verify started on udrbd, then on the kernel: nothing out of sync"
must ds a verify $U
waitfor 60 "verify done (udrbd)" synced Secondary/Primary
grep -q 'Online verify done' /tmp/a/udrbd.log || fail "udrbd's verify did not finish"
grep -q 'Online verify found' /tmp/a/udrbd.log && fail "udrbd's verify found blocks out of sync"
must $K verify 0
sleep 1
waitfor 60 "verify done (kernel)" synced Secondary/Primary
dmesg | grep -q 'Online verify done' || fail "the kernel's verify did not finish"
dmesg | grep -q 'Online verify found' && fail "the kernel's verify found blocks out of sync"

step "online verify finds exactly the blocks changed behind DRBD's back"
must dd if=/dev/urandom of=/tmp/k.img bs=4k count=5 seek=2000 conv=notrunc status=none
sync; echo 3 > /proc/sys/vm/drop_caches
must ds a verify $U
waitfor 60 "verify done" synced Secondary/Primary
grep 'Online verify found' /tmp/a/udrbd.log | tail -n 1
grep 'Online verify found' /tmp/a/udrbd.log | tail -n 1 | grep -q 'found 5 4k block' || fail "udrbd's verify did not find exactly 5 blocks"
dmesg | grep 'Online verify found' | tail -n 1 | grep -q 'found 5 4k block' || fail "the kernel did not record the same 5 blocks"
[ "$(oos_kib a)" = 20 ] || fail "udrbd marks $(oos_kib a) KiB out of sync, want 20"
# resync them: disconnect and connect again
kdown_conn; udown_conn
reconnect --verify-alg=crc32c
waitfor 60 "resynced" synced Secondary/Primary
compare

step "split brain made on purpose is detected on both sides"
kdown_conn; udown_conn
must $K primary 0
must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=10 seek=100 oflag=direct status=none
must dd if=/dev/urandom of=/dev/ublkb1 bs=4k count=10 seek=200 oflag=direct status=none
reconnect
standalone() { [ "$($K cstate 0)" = StandAlone ] && [ "$(ds a cstate $U)" = StandAlone ]; }
waitfor 30 "both StandAlone after the split brain" standalone
grep -q 'Split-Brain detected but unresolved, dropping connection!' /tmp/a/udrbd.log || fail "udrbd did not report the split brain"
dmesg | grep -q 'Split-Brain detected but unresolved, dropping connection!' || fail "the kernel did not report the split brain"
show
step "resolve: udrbd discards its data"
must ds a secondary $U
kconnect 10.0.0.1
uconnect a 10.0.0.9 --discard-my-data
waitfor 60 "resolved" synced Primary/Secondary
compare

step "the kernel logged no protocol error"
if dmesg | grep 'drbd' | grep -i -e 'protocol error' -e 'magic' -e 'Unexpected' -e 'Invalid'; then fail "kernel protocol errors"; fi
step "neither side timed out waiting for a ping ack (udrbd never stalled for ping-int)"
if dmesg | grep 'PingAck did not arrive'; then fail "the kernel timed out waiting for udrbd's ping ack"; fi
if grep 'PingAck did not arrive' /tmp/a/udrbd.log; then fail "udrbd timed out waiting for the kernel's ping ack"; fi
must $K down r0
must ds a down r0
trap - EXIT
step "interop-kernel ok"
