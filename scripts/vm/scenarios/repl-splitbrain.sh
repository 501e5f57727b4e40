# timeout: 420
# Split brain made on purpose: both nodes primary while disconnected, both written. On
# reconnect it is detected and never merged; each after-sb policy tried does what
# drbd.conf(5) says (disconnect, discard-least-changes, discard-zero-changes,
# discard-secondary); the manual recovery with connect --discard-my-data gives equal
# data areas, the survivor's.
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

cut() {
  must ds a disconnect ipv4:10.0.0.1:$PORT ipv4:10.0.0.2:$PORT
  must ds b disconnect ipv4:10.0.0.2:$PORT ipv4:10.0.0.1:$PORT
}
# split NA NB: a (primary) writes NA blocks at 100, b becomes primary and writes NB at 900
split() {
  cut
  [ "$1" -gt 0 ] && must dd if=/dev/urandom of=/dev/ublkb0 bs=4k count="$1" seek=100 oflag=direct status=none
  must ds b primary 1
  [ "$2" -gt 0 ] && must dd if=/dev/urandom of=/dev/ublkb1 bs=4k count="$2" seek=900 oflag=direct status=none
  sums_a=$(datasum /tmp/a/disk "$bytes"); sums_b=$(datasum /tmp/b/disk "$bytes")
  [ "$sums_a" != "$sums_b" ] || fail "no split: the data areas are equal"
}
both() { uconnect a 10.0.0.2 "$@"; uconnect b 10.0.0.1 "$@"; }
standalone() { [ "$(ds a cstate 0)" = StandAlone ] && [ "$(ds b cstate 1)" = StandAlone ]; }
synced() { [ "$(ds a dstate 0)" = UpToDate/UpToDate ] && [ "$(ds a cstate 0)" = Connected ] && [ "$(ds b cstate 1)" = Connected ]; }
# winner SUM: after the resync both data areas equal the winner's before the reconnect
winner() {
  local a b
  a=$(datasum /tmp/a/disk "$bytes"); b=$(datasum /tmp/b/disk "$bytes")
  [ "$a" = "$b" ] || fail "data areas differ after the resync"
  [ "$a" = "$1" ] || fail "the wrong side won"
}

step "after-sb defaults (disconnect): detected, both StandAlone, nothing merged"
split 20 10
must ds b secondary 1
must ds a secondary 0
both
waitfor 30 "both StandAlone" standalone
grep -q 'Split-Brain detected but unresolved, dropping connection!' /tmp/a/udrbd.log || fail "a did not report it"
grep -q 'Split-Brain detected but unresolved, dropping connection!' /tmp/b/udrbd.log || fail "b did not report it"
grep -q 'helper command: .* split-brain minor-0' /tmp/a/udrbd.log || fail "the split-brain handler did not run on a"
[ "$(datasum /tmp/a/disk "$bytes")" = "$sums_a" ] && [ "$(datasum /tmp/b/disk "$bytes")" = "$sums_b" ] || fail "data changed without a resync"
step "manual recovery: b discards its data"
uconnect a 10.0.0.2
uconnect b 10.0.0.1 --discard-my-data
waitfor 60 "resolved" synced
winner "$sums_a"
must ds a primary 0

step "after-sb-0pri discard-least-changes: b changed less and is discarded"
split 40 5
must ds b secondary 1
must ds a secondary 0
both --after-sb-0pri=discard-least-changes
waitfor 60 "resolved" synced
grep -q 'automatically solved' /tmp/a/udrbd.log || fail "not automatically solved"
winner "$sums_a"
must ds a primary 0

step "after-sb-0pri discard-zero-changes: b was primary but wrote nothing"
split 10 0
must ds b secondary 1
must ds a secondary 0
both --after-sb-0pri=discard-zero-changes
waitfor 60 "resolved" synced
winner "$sums_a"
must ds a primary 0

step "after-sb-1pri discard-secondary: a stays primary, b's changes go"
split 5 30
must ds b secondary 1
both --after-sb-0pri=discard-least-changes --after-sb-1pri=discard-secondary
waitfor 60 "resolved" synced
winner "$sums_a"
[ "$(ds a role 0)" = Primary/Secondary ] || fail "a is not primary"

must ds a down r0
must ds b down r0
trap - EXIT
step "repl-splitbrain ok"
