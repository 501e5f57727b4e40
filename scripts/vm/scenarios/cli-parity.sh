# timeout: 600
# Output parity of our drbdsetup with drbd-utils' drbdsetup-84: the same command sequence
# runs twice against the kernel's drbd.ko (8.4.11), once with stock
# /usr/lib/drbd/drbdsetup-84 and once with ours (UDRBD_TRANSPORT=kernel), each from freshly
# created meta-data; stdout, stderr and exit code of every command must be equal. Only
# what must differ is normalised: data generation UUIDs (random) and events2 timestamps.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
. /udrbd/scenarios/cli-parity.inc
export UDRBD_TRANSPORT=kernel

rm -rf /tmp/out; mkdir -p /tmp/out/stock /tmp/out/ours
step "sequence with stock drbdsetup-84"
S=$STOCK; out=/tmp/out/stock; n=0; sequence
step "sequence with ours"
S=/tmp/ours/drbdsetup-84; out=/tmp/out/ours; n=0; sequence

step "stock outputs of the connected pair (for the record)"
for f in /tmp/out/stock/*.cmd; do
  case "$(cat $f)" in "status --verbose"|"status r0 --verbose"|"events2 --now"|"show"|"events2 --timestamps --statistics (stream)"|"events all (stream)")
    echo "\$ drbdsetup-84 $(cat $f)"; cat "${f%.cmd}.out";; esac
done
step "compare"
compare /tmp/out/stock /tmp/out/ours
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
[ $bad -eq 0 ] || fail "$bad differences"
step "cli-parity ok"
