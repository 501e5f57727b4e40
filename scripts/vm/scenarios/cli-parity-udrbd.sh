# timeout: 900
# Output parity of udrbd with the kernel module: the cli-parity command sequence runs with
# stock drbdsetup-84 against the kernel's drbd.ko 8.4.11 and with our drbdsetup against
# the udrbd daemon, each from freshly created meta-data; stdout, stderr and exit code of
# every command must be equal. Only what must differ is normalised (cli-parity.inc norm:
# data generation UUIDs other than zero, events2 timestamps and sequence numbers); the few commands whose
# answer differs on purpose are listed in KNOWN below with the reason and left out.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
. /udrbd/scenarios/cli-parity.inc

rm -rf /tmp/out; mkdir -p /tmp/out/stock /tmp/out/udrbd
step "sequence with stock drbdsetup-84 against drbd.ko"
export UDRBD_TRANSPORT=kernel
S=$STOCK; out=/tmp/out/stock; n=0; sequence

step "sequence with ours against udrbd"
mkdir -p /tmp/u
udrbd --state-dir /tmp/u/state --dev-dir /tmp/u/dev --log-level info --usermode-helper /bin/true 2>>/tmp/u/udrbd.log &
upid=$!
trap 'echo "--- udrbd log"; grep -v level=DEBUG /tmp/u/udrbd.log | tail -n 40' EXIT
export UDRBD_SOCKET=/run/udrbd/control.sock UDRBD_TRANSPORT=udrbd
waitfor 20 "udrbd socket" test -S $UDRBD_SOCKET
S=/tmp/ours/drbdsetup-84; out=/tmp/out/udrbd; n=0; sequence

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
step "compare"
compare /tmp/out/stock /tmp/out/udrbd
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
kill -TERM $upid; wait $upid
[ $bad -eq 0 ] || fail "$bad differences"
trap - EXIT
step "cli-parity-udrbd ok"
