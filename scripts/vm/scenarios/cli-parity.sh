# timeout: 600
# Output parity of our drbdsetup with drbd-utils' drbdsetup-84: the same command sequence
# runs twice against the kernel's drbd.ko (8.4.11), once with stock
# /usr/lib/drbd/drbdsetup-84 and once with ours (UDRBD_TRANSPORT=kernel), each from freshly
# created meta-data; stdout, stderr and exit code of every command must be equal. Only
# what must differ is normalised: data generation UUIDs (random) and events2 timestamps.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
STOCK=/usr/lib/drbd/drbdsetup-84
[ -x $STOCK ] || STOCK=/lib/drbd/drbdsetup-84
[ -x $STOCK ] || fail "no stock drbdsetup-84"
DRBDMETA=/usr/sbin/drbdmeta
[ -x $DRBDMETA ] || DRBDMETA=/sbin/drbdmeta
[ -x $DRBDMETA ] || DRBDMETA=drbdmeta
# ours runs under the same name, so usage texts (which print it) compare equal
mkdir -p /tmp/ours
ln -sf /udrbd/bin/drbdsetup /tmp/ours/drbdsetup-84
export UDRBD_TRANSPORT=kernel

n=0
out=
# run ARGS...: one command of the sequence, its results kept as $out/NNN.{cmd,out,err,rc}
run() {
  n=$((n + 1))
  f=$(printf '%s/%03d' "$out" $n)
  echo "$*" > "$f.cmd"
  timeout 20 "$S" "$@" > "$f.out" 2> "$f.err"
  echo $? > "$f.rc"
}
norm() { sed -e 's/[0-9A-F]\{16\}/<UUID>/g' -e 's/^[0-9-]*T[0-9:.]*[+-][0-9:]* /<TS> /' -e 's/^[0-9]* \([A-Z#?]\)/<SEQ> \1/' "$1"; }
CMDS="primary secondary attach disk-options detach connect net-options disconnect resize resource-options
new-current-uuid invalidate invalidate-remote pause-sync resume-sync suspend-io resume-io outdate verify down
state role sh-status cstate dstate show-gi get-gi show status check-resize events events2 wait-connect wait-sync
new-resource new-minor del-minor del-resource"

sequence() {
  must truncate -s 64M /tmp/disk0.img
  must losetup /dev/loop0 /tmp/disk0.img
  must $DRBDMETA --force 0 v08 /dev/loop0 internal create-md > /dev/null 2>&1
  run status
  run show
  run status r0
  run new-resource r0
  run new-resource r0
  run new-resource r1 --on-no-data-accessible=suspend-io
  run new-minor r0 0 0
  run new-minor r0 0 0
  run new-minor r0 1 0
  run show
  run show r0
  run show 0
  run status
  run status r0 --verbose
  run status --verbose --statistics
  run role 0
  run cstate 0
  run dstate 0
  run 0 dstate
  run sh-status 0
  run sh-status
  run get-gi 0
  run show-gi 0
  run primary 0
  run detach 0
  run attach 0 /dev/nonexistent /dev/nonexistent internal
  run attach 0 /tmp/disk0.img /tmp/disk0.img internal
  run attach 0 /dev/loop0 /dev/loop0 internal --resync-rate=10M --al-extents=257 --c-plan-ahead=0 --on-io-error=detach --disk-flushes=no
  run attach 0 /dev/loop0 /dev/loop0 internal
  run show
  run show 0 --show-defaults
  run status
  run status --verbose
  run status --verbose --statistics
  run status --statistics
  run status --color=always --verbose
  run status --color=never
  run status --color=sometimes
  run state 0
  mkdir -p /var/lib/drbd
  run check-resize 0
  run check-resize 0
  n=$((n + 1)); f=$(printf '%s/%03d' "$out" $n); echo "(the .lkbd file check-resize wrote)" > "$f.cmd"
  cat /var/lib/drbd/drbd-minor-0.lkbd > "$f.out" 2> "$f.err"; echo $? > "$f.rc"
  rm -f /var/lib/drbd/drbd-minor-0.lkbd
  run events2 --now --timestamps
  run pause-sync 0
  run resume-sync 0
  run verify 0 --start=0
  run invalidate-remote 0
  run role 0
  run cstate 0
  run dstate 0
  run sh-status r0
  run get-gi 0
  run show-gi 0
  run events2 --now
  run events2 r0 --now --statistics
  run events2 all --now
  run disk-options 0 --on-io-error=pass_on --fencing=resource-only --resync-after=-1 --c-max-rate=100M
  run show 0
  run disk-options 0 --set-defaults --al-extents=1237
  run show 0
  run resource-options r0 --on-no-data-accessible=suspend-io --cpu-mask=1
  run show r0
  run resource-options r0 --set-defaults
  run primary 0
  run primary 0 --force
  run role 0
  run dstate 0
  run status r0 --verbose
  run suspend-io 0
  run status r0 --verbose
  run events2 --now
  run resume-io 0
  # the event streams while state changes happen (stopped after the changes)
  n=$((n + 1)); f=$(printf '%s/%03d' "$out" $n); echo "events2 --timestamps --statistics (stream)" > "$f.cmd"
  "$S" events2 --timestamps --statistics > "$f.out" 2> "$f.err" & ev2=$!
  n=$((n + 1)); g=$(printf '%s/%03d' "$out" $n); echo "events all (stream)" > "$g.cmd"
  "$S" events all > "$g.out" 2> "$g.err" & ev1=$!
  sleep 1
  "$S" suspend-io 0; "$S" resume-io 0; "$S" new-minor r0 5 1; "$S" del-minor 5
  sleep 1
  kill $ev2 $ev1; wait $ev2; echo $? > "$f.rc"; wait $ev1; echo $? > "$g.rc"
  run new-current-uuid 0
  run new-current-uuid 0 --clear-bitmap
  run secondary 0
  run wait-connect 0 --wfc-timeout=2
  run wait-sync 0 --wfc-timeout=2 --degr-wfc-timeout=1
  run outdate 0
  run dstate 0
  run get-gi 0
  run invalidate 0
  run dstate 0
  run resize 0
  run primary 0 --overwrite-data-of-peer
  run secondary 0
  run connect r0 ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --protocol=C --ping-int=5 --cram-hmac-alg=sha1 --shared-secret=x
  run show r0
  run status r0 --verbose
  run cstate 0
  run events2 --now
  run net-options 127.0.0.1:7789 127.0.0.1:7790 --max-buffers=4096
  run show r0
  run disconnect ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790
  run detach 0
  run detach 0
  run detach 0 --force
  # option and argument errors
  run attach 0 --foo
  run attach 0 --c-
  run primary 0 --forc
  run primary 0 --force=maybe
  run disk-options 0 --resync-rate=abc
  run disk-options 0 --resync-rate=1X
  run disk-options 0 --resync-rate=
  run disk-options 0 --on-io-error=bad
  run disk-options 0 --al-extents
  run status --verbose=3
  run status r0 -v
  run role /dev/foo
  run role 99
  run role
  run secondary 0 extra args
  run attach 0 /dev/loop0
  run connect r0 ipv4:127.0.0.1:7789
  run bogus-command 0
  run help
  for c in $CMDS; do run help $c; run xml-help $c; run $c --help; done
  run del-minor 0
  run del-resource r0
  run del-minor 1
  run del-resource r0
  run down r1
  run down r1
  run status r1
  run show
  must losetup -d /dev/loop0

  # a connected pair: r0 (minor 0) and r1 (minor 1) on loopback, in the same kernel
  for i in 0 1; do
    must truncate -s 32M /tmp/disk$i.img
    must losetup /dev/loop$i /tmp/disk$i.img
    must $DRBDMETA --force $i v08 /dev/loop$i internal create-md > /dev/null 2>&1
  done
  run new-resource r0
  run new-resource r1
  run new-minor r0 0 0
  run new-minor r1 1 0
  run attach 0 /dev/loop0 /dev/loop0 internal --c-plan-ahead=0 --resync-rate=400M
  run attach 1 /dev/loop1 /dev/loop1 internal --c-plan-ahead=0 --resync-rate=400M
  run connect r0 ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --protocol=C
  run connect r1 ipv4:127.0.0.1:7790 ipv4:127.0.0.1:7789 --protocol=C
  run wait-connect 0 --wfc-timeout=30
  run wait-connect 1 --wfc-timeout=30
  waitfor 30 "r0 Connected" is Connected $S 0 cstate
  waitfor 30 "r1 Connected" is Connected $S 1 cstate
  run cstate 0
  run dstate 0
  run role 1
  run status
  run status r0 --verbose
  run show
  run sh-status 0
  run primary 0
  run primary 0 --force
  waitfor 120 "r0 UpToDate/UpToDate" is UpToDate/UpToDate $S 0 dstate
  waitfor 120 "r1 UpToDate/UpToDate" is UpToDate/UpToDate $S 1 dstate
  run wait-sync 1 --wfc-timeout=10
  run role 0
  run role 1
  run dstate 1
  run status
  run status --verbose
  run events2 --now
  run sh-status
  run primary 1
  run secondary 0
  run disconnect ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790
  run disconnect 127.0.0.1:7789 127.0.0.1:7790
  run status --verbose
  run cstate 1
  run down r0
  run down r1
  run status
  for i in 0 1; do must losetup -d /dev/loop$i; done
}

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
bad=0
for f in /tmp/out/stock/*.cmd; do
  b=${f%.cmd}; i=${b##*/}
  for x in out err rc; do
    cmp -s "$b.$x" "/tmp/out/ours/$i.$x" && continue
    if ! norm "$b.$x" > /tmp/a || ! norm "/tmp/out/ours/$i.$x" > /tmp/b || ! cmp -s /tmp/a /tmp/b; then
      echo "--- DIFF $i $x: drbdsetup-84 $(cat "$f")"
      diff /tmp/a /tmp/b | head -n 30
      bad=$((bad + 1))
    fi
  done
done
total=$(ls /tmp/out/stock/*.cmd | wc -l)
echo "compared $total commands (stdout, stderr, exit code each); $bad differences"
[ $bad -eq 0 ] || fail "$bad differences"
step "cli-parity ok"
