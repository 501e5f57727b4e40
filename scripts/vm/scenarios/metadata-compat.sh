# timeout: 600
# Format and CLI parity of udrbd's drbdmeta (/udrbd/bin/drbdmeta) with
# drbd-utils 9.22's (/usr/sbin/drbdmeta) and with the kernel's drbd.ko 8.4:
# (a) our create-md, read by their dump-md, byte-equal images;
# (b) their create-md, read by our dump-md/get-gi/show-gi;
# (c) the kernel attaches a disk made by our create-md, is made primary,
#     written, and downed; both tools read what the kernel wrote (clean and
#     crash-time copies) identically, apply-al gives byte-equal images, and
#     the kernel attaches the disk again after our apply-al;
# (d) bad input: same exit codes and messages.
# Output comparison normalises only the dump time line and the dump-md
# "flags" line: drbd-utils 9.22 prints 0x00000000 there (a bug fixed in
# drbd-utils 9.33, commit 725d989e); ours prints the real flags, which must
# equal the flags get-gi shows.
. /udrbd/lib.sh
export PATH=$PATH:/usr/lib/drbd
S=drbdsetup-84
THEIRS=/usr/sbin/drbdmeta
OURS=/udrbd/bin/drbdmeta
[ -x $THEIRS ] || fail "no drbd-utils drbdmeta"
[ -x $OURS ] || fail "no udrbd drbdmeta (make build)"
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
W=/tmp/mc
mkdir -p $W
cd $W
npass=0

# norm FILE: drop the time line of a dump header; record and neutralise the flags line.
norm() {
  sed -E -e 's/^# [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [-+][0-9]{4} \[[0-9]+\]$/# TIME/' \
    -e 's/^    flags 0x[0-9A-F]{8};$/    flags X;/' "$1"
}
# runone WHO ARGS...: run drbdmeta WHO (theirs|ours) into $W/WHO.{out,err,rc};
# stdin is not a terminal, so confirmations are refused unless --force.
runone() {
  local who=$1 bin; shift
  if [ $who = theirs ]; then bin=$THEIRS; else bin=$OURS; fi
  # both are called as "drbdmeta" so that dump headers and messages agree
  ln -sf $bin $W/$who-bin/drbdmeta
  $W/$who-bin/drbdmeta "$@" < /dev/null > $W/$who.out 2> $W/$who.err
  echo $? > $W/$who.rc
}
mkdir -p $W/theirs-bin $W/ours-bin
# same DESC ARGS...: run both on the same (unchanged) meta-data; outputs and rc equal.
same() {
  local desc=$1; shift
  runone theirs "$@"
  runone ours "$@"
  compare "$desc"
}
compare() {
  local desc=$1 rc
  rc=$(cat $W/ours.rc)
  [ "$(cat $W/theirs.rc)" = "$rc" ] || { cat $W/theirs.err $W/ours.err; fail "$desc: exit code theirs $(cat $W/theirs.rc), ours $rc"; }
  norm $W/theirs.out > $W/t.n; norm $W/ours.out > $W/o.n
  diff -u $W/t.n $W/o.n || fail "$desc: stdout differs"
  diff -u $W/theirs.err $W/ours.err || fail "$desc: stderr differs"
  if grep -q '^    flags 0x' $W/theirs.out; then
    grep -q '^    flags 0x00000000;$' $W/theirs.out || fail "$desc: drbd-utils printed real flags?"
  fi
  npass=$((npass + 1))
  echo "ok ($rc): $desc"
}
# flags_match ARGS...: our dump-md flags line equals the flags get-gi decodes.
flags_match() {
  local f g
  f=$($OURS "$@" dump-md --force 2>/dev/null | sed -n 's/^    flags 0x\([0-9A-F]*\);$/\1/p')
  g=$($OURS "$@" get-gi 2>/dev/null | cut -d: -f5-)
  [ -n "$f" ] || fail "no flags line from our dump-md $*"
  v=$((0x$f))
  want="$((v & 1)):$(((v >> 4) & 1)):$(((v >> 1) & 1)):$(((v >> 2) & 1)):$(((v >> 3) & 1)):$(((v >> 5) & 1)):$(((v >> 6) & 1))"
  [ "$g" = "$want" ] || fail "dump-md flags 0x$f but get-gi says $g"
  echo "flags 0x$f agree with get-gi $g"
}
md_area() { # md_area FILE: sha of the last 1 MiB (superblock, AL, bitmap of an 80 MiB disk)
  tail -c 1048576 "$1" | sha256sum | cut -d' ' -f1
}

step "(a) our create-md, their dump-md"
for i in 0 1; do
  must truncate -s 80M /tmp/disk$i.img
  must losetup /dev/loop$i /tmp/disk$i.img
done
runone ours --force 0 v08 /dev/loop0 internal create-md
runone theirs --force 1 v08 /dev/loop1 internal create-md
# the minor is part of nothing written; compare output, rc and the images
compare "create-md on a zeroed loop device"
samefile /tmp/disk0.img /tmp/disk1.img || fail "create-md images differ"
echo "create-md images byte-equal"
# the last-known-device file each wrote for its minor
sed 's/loop0/loopN/' /var/lib/drbd/drbd-minor-0.lkbd > $W/lk.ours || fail "no lkbd file from ours"
sed 's/loop1/loopN/' /var/lib/drbd/drbd-minor-1.lkbd > $W/lk.theirs || fail "no lkbd file from drbd-utils"
cat /var/lib/drbd/drbd-minor-0.lkbd
cmp $W/lk.ours $W/lk.theirs || fail "last-known-device files differ"
same "dump-md of our create-md" 0 v08 /dev/loop0 internal dump-md
same "get-gi of our create-md" 0 v08 /dev/loop0 internal get-gi
same "show-gi of our create-md" 0 v08 /dev/loop0 internal show-gi
flags_match 0 v08 /dev/loop0 internal
# external (flexible) meta-data and AL striping
must truncate -s 16M /tmp/ext0.img
must truncate -s 16M /tmp/ext1.img
must losetup /dev/loop2 /tmp/ext0.img
must losetup /dev/loop3 /tmp/ext1.img
runone ours --force --al-stripes 2 --al-stripe-size-kB 64 2 v08 /dev/loop2 flex-external create-md
runone theirs --force --al-stripes 2 --al-stripe-size-kB 64 2 v08 /dev/loop3 flex-external create-md
compare "create-md flex-external, 2 AL stripes of 64k"
samefile /tmp/ext0.img /tmp/ext1.img || fail "flex-external images differ"
same "dump-md flex-external" 2 v08 /dev/loop2 flex-external dump-md

step "(b) their create-md, our dump-md/get-gi/show-gi"
must truncate -s 100M /tmp/disk5.img
must losetup /dev/loop5 /tmp/disk5.img
must $THEIRS --force 5 v08 /dev/loop5 internal create-md >/dev/null 2>&1
same "dump-md of drbd-utils' create-md" 5 v08 /dev/loop5 internal dump-md
same "get-gi of drbd-utils' create-md" 5 v08 /dev/loop5 internal get-gi
same "show-gi of drbd-utils' create-md" 5 v08 /dev/loop5 internal show-gi
same "outdate of an inconsistent disk" 5 v08 /dev/loop5 internal outdate
same "apply-al of a clean disk" 5 v08 /dev/loop5 internal apply-al
same "dstate" 5 v08 /dev/loop5 internal dstate
same "read-dev-uuid" 5 v08 /dev/loop5 internal read-dev-uuid
cp /tmp/disk5.img /tmp/disk5.bak
runone theirs 5 v08 /dev/loop5 internal invalidate
cp /tmp/disk5.img /tmp/disk5.t; cp /tmp/disk5.bak /tmp/disk5.img
runone ours 5 v08 /dev/loop5 internal invalidate
compare "invalidate"
samefile /tmp/disk5.img /tmp/disk5.t || fail "invalidate images differ"
runone theirs 5 v08 /dev/loop5 internal wipe-md
runone ours 5 v08 /dev/loop5 internal wipe-md
compare "wipe-md without --force (no tty)"
runone theirs --force 5 v08 /dev/loop5 internal wipe-md
cp /tmp/disk5.img /tmp/disk5.t; cp /tmp/disk5.bak /tmp/disk5.img
runone ours --force 5 v08 /dev/loop5 internal wipe-md
compare "wipe-md --force"
samefile /tmp/disk5.img /tmp/disk5.t || fail "wipe-md images differ"
same "wipe-md of wiped meta-data" --force 5 v08 /dev/loop5 internal wipe-md

step "(c) the kernel attaches our create-md disk"
must $S new-resource r0
must $S new-minor r0 0 0
must $S attach 0 /dev/loop0 /dev/loop0 internal
# a clear bitmap, so that the AL replay below has bits left to add
must $S new-current-uuid --clear-bitmap 0
must $S primary 0 --force
waitfor 10 "UpToDate" is UpToDate/DUnknown $S 0 dstate
must dd if=/dev/urandom of=/tmp/data bs=1M count=24 status=none
must dd if=/tmp/data of=/dev/drbd0 bs=1M oflag=direct status=none
# writes scattered over more than 8 AL extents (4 MiB each) so the ring wraps
for off in 30 40 50 62 70; do
  must dd if=/dev/urandom of=/dev/drbd0 bs=4k count=3 seek=$((off * 256)) oflag=direct status=none
done
sync
sleep 6 # the kernel syncs a dirty superblock within 5 s
# Both tools ask "drbdsetup <minor> dstate" (from PATH) whether the minor is
# in use; in this guest plain drbdsetup is udrbd's, so point it at the
# kernel's drbdsetup-84 for these checks.
mkdir -p $W/ds
ln -sf "$(command -v drbdsetup-84)" $W/ds/drbdsetup
oldpath=$PATH
PATH=$W/ds:$PATH
same "create-md on an attached minor" --force 0 v08 /dev/loop0 internal create-md
same "apply-al on an attached minor" --force 0 v08 /dev/loop0 internal apply-al
same "get-gi of an attached minor: exclusive open fails (no tty)" 0 v08 /dev/loop0 internal get-gi
same "get-gi --force of an attached minor" --force 0 v08 /dev/loop0 internal get-gi
grep -q "Output might be stale" $W/ours.err || fail "no stale-output warning"
PATH=$oldpath
cat /proc/drbd
cp /tmp/disk0.img /tmp/crash.img # what a crash of the primary would leave
must $S secondary 0
must $S down r0
dmesg | grep -i drbd | tail -n 5
for img in disk0 crash; do
  losetup /dev/loop6 /tmp/$img.img || fail "losetup $img"
  same "$img: dump-md of kernel-written meta-data (unclean, not forced)" 0 v08 /dev/loop6 internal dump-md
  same "$img: dump-md --force" --force 0 v08 /dev/loop6 internal dump-md
  same "$img: get-gi" 0 v08 /dev/loop6 internal get-gi
  same "$img: show-gi" 0 v08 /dev/loop6 internal show-gi
  flags_match 0 v08 /dev/loop6 internal
  losetup -d /dev/loop6
  # apply-al on two copies, one by each tool
  cp /tmp/$img.img /tmp/t.img; cp /tmp/$img.img /tmp/o.img
  losetup /dev/loop6 /tmp/t.img; losetup /dev/loop7 /tmp/o.img
  runone theirs 0 v08 /dev/loop6 internal apply-al
  runone ours 0 v08 /dev/loop7 internal apply-al
  compare "$img: apply-al"
  cat $W/ours.err
  samefile /tmp/t.img /tmp/o.img || fail "$img: apply-al images differ"
  echo "$img: apply-al images byte-equal"
  same "$img: dump-md after apply-al" 0 v08 /dev/loop7 internal dump-md
  grep '^la-size-sect\|^# bits-set\|^device-uuid' $W/ours.out
  losetup -d /dev/loop6
  step "$img: the kernel attaches the disk after our apply-al"
  must $S new-resource r0
  must $S new-minor r0 0 0
  must $S attach 0 /dev/loop7 /dev/loop7 internal
  d=$($S 0 dstate)
  echo "dstate after attach: $d"
  case $d in UpToDate/*|Consistent/*) ;; *) fail "$img: dstate $d after attach";; esac
  must $S primary 0
  [ "$(datasum /dev/drbd0 $((24 * 1024 * 1024)))" = "$(datasum /tmp/data)" ] || fail "$img: data lost"
  echo "$img: the 24 MiB written before are there"
  must $S secondary 0
  must $S down r0
  losetup -d /dev/loop7
done

step "(e) internal meta-data after an offline grow of the backing device"
must truncate -s 80M /tmp/rs.img
must losetup /dev/loop4 /tmp/rs.img
must $OURS --force 4 v08 /dev/loop4 internal create-md >/dev/null 2>&1
must losetup -d /dev/loop4
must truncate -s 120M /tmp/rs.img
must losetup /dev/loop4 /tmp/rs.img
cat /var/lib/drbd/drbd-minor-4.lkbd
cp /tmp/rs.img /tmp/rs.bak; cp /var/lib/drbd/drbd-minor-4.lkbd $W/lk4.bak
same "dump-md finds meta-data at the last known position" 4 v08 /dev/loop4 internal dump-md
grep -q '### Device seems to have been resized!' $W/ours.out || fail "no resize notice"
same "get-gi after the grow" 4 v08 /dev/loop4 internal get-gi
runone theirs 4 v08 /dev/loop4 internal apply-al
cp /tmp/rs.img /tmp/rs.t; cp /var/lib/drbd/drbd-minor-4.lkbd $W/lk4.t
cp /tmp/rs.bak /tmp/rs.img; cp $W/lk4.bak /var/lib/drbd/drbd-minor-4.lkbd
runone ours 4 v08 /dev/loop4 internal apply-al
compare "apply-al moves the meta-data to the new end"
samefile /tmp/rs.img /tmp/rs.t || fail "moved images differ"
cmp /var/lib/drbd/drbd-minor-4.lkbd $W/lk4.t || fail "lkbd files differ after the move"
same "dump-md after the move" 4 v08 /dev/loop4 internal dump-md
cp /tmp/rs.bak /tmp/rs.img; cp $W/lk4.bak /var/lib/drbd/drbd-minor-4.lkbd
runone theirs --force 4 v08 /dev/loop4 internal create-md
cp /tmp/rs.img /tmp/rs.t
cp /tmp/rs.bak /tmp/rs.img; cp $W/lk4.bak /var/lib/drbd/drbd-minor-4.lkbd
runone ours --force 4 v08 /dev/loop4 internal create-md
compare "create-md --force after the grow re-creates"
samefile /tmp/rs.img /tmp/rs.t || fail "create-md after grow: images differ"
must losetup -d /dev/loop4

step "(d) bad input"
must truncate -s 60K /tmp/small.img
must losetup /dev/loop6 /tmp/small.img
same "missing device" --force 0 v08 /dev/nonexistent internal create-md
same "too-small device" --force 0 v08 /dev/loop6 internal create-md
same "too-small device, dump-md" 0 v08 /dev/loop6 internal dump-md
same "regular file without --force" 0 v08 /tmp/disk1.img internal get-gi
same "regular file with --force" --force 0 v08 /tmp/disk1.img internal get-gi
same "minor that is not a number" foo v08 /dev/loop1 internal get-gi
same "/dev/drbdN as minor" /dev/drbd9 v08 /dev/loop1 internal get-gi
same "bad index" 0 v08 /dev/loop1 256 get-gi
same "index without meta-data" 0 v08 /dev/loop1 0 get-gi
same "unknown format" 0 v07x /dev/loop1 internal get-gi
same "unknown command" 0 v08 /dev/loop1 internal frob
same "too few arguments" 0 v08 /dev/loop1
same "missing command" 0 v08 /dev/loop1 internal
same "unknown option" --frob 0 v08 /dev/loop1 internal get-gi
same "option needs an argument" 0 v08 /dev/loop1 internal create-md --al-stripes
same "stripes with get-gi" 0 v08 /dev/loop1 internal get-gi --al-stripes 2
same "AL too small" 0 v08 /dev/loop1 internal create-md --al-stripes 1 --al-stripe-size-kB 16
same "AL too large" 0 v08 /dev/loop1 internal create-md --al-stripes 2000
same "peer-max-bio-size too large" 0 v08 /dev/loop1 internal create-md --peer-max-bio-size 2M
same "node-id with dump-md" 0 v08 /dev/loop1 internal dump-md --node-id 1
same "dump-md without meta-data" 6 v08 /dev/loop3 internal dump-md
same "get-gi without meta-data" 6 v08 /dev/loop3 internal get-gi
same "create-md over meta-data without --force (no tty)" 1 v08 /dev/loop1 internal create-md
same "extra arguments" 1 v08 /dev/loop1 internal get-gi extra
step "metadata-compat ok: $npass comparisons"
