# timeout: 600
# mkfs.ext4 and mkfs.xfs on /dev/ublkb1 served by the file target: mount, write
# 1000 files of mixed sizes, remount, read them all back (md5), umount, fsck clean.
. /udrbd/lib.sh
. /udrbd/scenarios/ublk-common.inc
tmpdisk /tmp/u 512
serve 1 /tmp/u/log /tmp/u/disk
pid=$upid
must dd if=/dev/urandom of=/tmp/u/src bs=1M count=3 status=none
mkdir -p /mnt/u
need_xfs
for fs in ext4 xfs; do
  step "$fs: mkfs"
  case $fs in
    ext4) must mkfs.ext4 -q -F /dev/ublkb1 ;;
    xfs) must mkfs.xfs -q -f /dev/ublkb1 ;;
  esac
  must mount -t $fs /dev/ublkb1 /mnt/u
  step "$fs: write 1000 files"
  i=0
  while [ $i -lt 1000 ]; do
    d=/mnt/u/d$((i % 10)); [ -d $d ] || mkdir $d
    kb=$(( (i * 7919) % 97 + 1 ))
    [ $((i % 50)) -eq 0 ] && kb=$((1024 + i % 1000))
    [ $((i % 7)) -eq 0 ] && kb=0
    dd if=/tmp/u/src of=$d/f$i bs=1k count=$kb skip=$((i % 1000)) status=none 2>/dev/null || fail "write f$i"
    [ $((i % 3)) -eq 0 ] && printf 'tail%d' $i >> $d/f$i
    i=$((i + 1))
  done
  (cd /mnt/u && find . -type f | sort | xargs md5sum) > /tmp/u/sums
  [ "$(wc -l < /tmp/u/sums)" -eq 1000 ] || fail "expected 1000 files, got $(wc -l < /tmp/u/sums)"
  du -sh /mnt/u
  must umount /mnt/u
  echo 3 > /proc/sys/vm/drop_caches
  step "$fs: remount and verify"
  must mount -t $fs /dev/ublkb1 /mnt/u
  (cd /mnt/u && md5sum -c -s /tmp/u/sums) || fail "$fs: md5 mismatch after remount"
  must umount /mnt/u
  step "$fs: fsck"
  case $fs in
    ext4) e2fsck -fn /dev/ublkb1 || fail "e2fsck found problems" ;;
    xfs) xfs_repair -n /dev/ublkb1 >/tmp/u/xr 2>&1 || { cat /tmp/u/xr; fail "xfs_repair -n found problems"; } ;;
  esac
done
kill -TERM $pid
wait $pid || fail "ublkfile exit status $?"
[ -e /dev/ublkb1 ] && fail "/dev/ublkb1 left behind"
step "fs ok"
