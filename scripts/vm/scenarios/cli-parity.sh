# timeout: 900
# Output parity of our drbdsetup and of the udrbd daemon with drbd-utils' drbdsetup-84 and
# the kernel's drbd.ko (8.4.11): one command sequence (cli-parity.inc) runs three times,
# each from freshly created meta-data:
#   stock  /usr/lib/drbd/drbdsetup-84 against drbd.ko (the reference),
#   ours   our drbdsetup against drbd.ko (UDRBD_TRANSPORT=kernel),
#   udrbd  our drbdsetup against the udrbd daemon (UDRBD_TRANSPORT=udrbd).
# stdout, stderr and exit code of every command must equal the reference's. Only what must
# differ is normalised (cli-parity.inc norm: data generation UUIDs other than zero, events2
# timestamps and sequence numbers); the few commands whose answer from udrbd differs on
# purpose are listed in KNOWN below with the reason and left out of that comparison.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
. /udrbd/scenarios/cli-parity.inc

rm -rf /tmp/out; mkdir -p /tmp/out/stock /tmp/out/ours /tmp/out/udrbd
export UDRBD_TRANSPORT=kernel
step "sequence with stock drbdsetup-84 against drbd.ko"
S=$STOCK; out=/tmp/out/stock; n=0; sequence
step "sequence with ours against drbd.ko"
S=/tmp/ours/drbdsetup-84; out=/tmp/out/ours; n=0; sequence

step "sequence with ours against udrbd"
mkdir -p /tmp/u
udrbd --state-dir /tmp/u/state --dev-dir /tmp/u/dev --log-level info --usermode-helper /bin/true 2>>/tmp/u/udrbd.log &
upid=$!
trap 'echo "--- udrbd log"; grep -v level=DEBUG /tmp/u/udrbd.log | tail -n 40' EXIT
export UDRBD_SOCKET=/run/udrbd/control.sock UDRBD_TRANSPORT=udrbd
waitfor 20 "udrbd socket" test -S $UDRBD_SOCKET
S=/tmp/ours/drbdsetup-84; out=/tmp/out/udrbd; n=0; sequence
kill -TERM $upid; wait $upid

step "stock outputs of the connected pair (for the record)"
for f in /tmp/out/stock/*.cmd; do
  case "$(cat $f)" in "status --verbose"|"status r0 --verbose"|"events2 --now"|"show"|"events2 --timestamps --statistics (stream)"|"events all (stream)")
    echo "\$ drbdsetup-84 $(cat $f)"; cat "${f%.cmd}.out";; esac
done

step "compare: ours against drbd.ko"
compare /tmp/out/stock /tmp/out/ours
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
bad_ours=$bad

step "compare: ours against udrbd"
# Commands whose answers differ on purpose (by their command line):
#   attach 0 /tmp/disk0.img ...: udrbd takes a regular file as backing device, the
#     kernel only block devices
KNOWN="attach 0 /tmp/disk0.img /tmp/disk0.img internal"
for f in /tmp/out/stock/*.cmd; do
  c=$(cat "$f")
  case " $KNOWN " in *" $c "*) ;; *) continue;; esac
  echo "(known difference, left out) $c"
  i=${f##*/}; i=${i%.cmd}
  for x in out err rc; do cp "/tmp/out/stock/$i.$x" "/tmp/out/udrbd/$i.$x"; done
done
compare /tmp/out/stock /tmp/out/udrbd
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
[ $bad_ours -eq 0 ] || fail "$bad_ours differences between ours and stock against drbd.ko"
[ $bad -eq 0 ] || fail "$bad differences between udrbd and drbd.ko"
trap - EXIT
step "cli-parity ok"
