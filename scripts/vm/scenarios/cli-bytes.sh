# timeout: 400
# Our drbdsetup puts the same bytes on the netlink socket as drbd-utils' drbdsetup-84: for a
# sequence of commands against the kernel's drbd.ko, every drbd genl request (genlmsghdr,
# drbd_genlmsghdr and attributes; the nlmsghdr without its seq and pid) is compared. Stock
# requests are taken from strace (write(2) of the whole message), ours from UDRBD_DEBUG=1.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
STOCK=/usr/lib/drbd/drbdsetup-84
[ -x $STOCK ] || STOCK=/lib/drbd/drbdsetup-84
DRBDMETA=/usr/sbin/drbdmeta
[ -x $DRBDMETA ] || DRBDMETA=/sbin/drbdmeta
export UDRBD_TRANSPORT=kernel
mkdir -p /tmp/b

n=0
# req ARGS...: run stock under strace, then ours with tracing; keep both request lists.
req() {
  n=$((n + 1))
  f=$(printf '/tmp/b/%03d' $n)
  echo "$*" > $f.cmd
  # stock: the genl requests it writes (type != 0x10 nlctrl), payload after the 16-byte nlmsghdr
  strace -f -e trace=write -xx -s 65536 -o $f.strace $STOCK "$@" > /dev/null 2>&1
  echo $? > $f.stock.rc
  grep 'write(3, "' $f.strace | sed 's/.*write(3, "\(.*\)", [0-9]*) *= .*/\1/; s/\\x//g' |
    while read -r h; do
      t=$(echo "$h" | cut -c9-12)
      [ "$t" = "1000" ] && continue
      echo "$(echo "$h" | cut -c13-16) $(echo "$h" | cut -c33-)"
    done > $f.stock
  # ours: UDRBD_DEBUG prints the flags' two bytes and the payload
  UDRBD_DEBUG=1 timeout 20 /udrbd/bin/drbdsetup "$@" 2>&1 > /dev/null | grep '^udrbd-debug: send' |
    sed 's/^udrbd-debug: send flags \([^:]*\): /\1 /' > $f.ours
}

must truncate -s 64M /tmp/disk0.img
must losetup /dev/loop0 /tmp/disk0.img
must $DRBDMETA --force 0 v08 /dev/loop0 internal create-md > /dev/null 2>&1

# Each command runs twice (stock, then ours), so only commands that leave the state as they
# found it, or fail the second time in the same way, are listed; state changes come in pairs.
req new-resource r0 --on-no-data-accessible=suspend-io --cpu-mask=3
req new-minor r0 0 0
req status --verbose --statistics
req show
req show r0 --show-defaults
req role 0
req sh-status
req events2 --now --statistics
req attach 0 /dev/loop0 /dev/loop0 internal --resync-rate=10M --al-extents=257 --c-plan-ahead=0 --disk-flushes=no --on-io-error=pass_on --fencing=resource-only --size=32M
req disk-options 0 --set-defaults --c-max-rate=100M --resync-after=-1 --read-balancing=round-robin
req resource-options r0 --on-no-data-accessible=io-error
req primary 0 --force
req primary 0 --overwrite-data-of-peer=no
req new-current-uuid 0 --clear-bitmap
req suspend-io 0
req resume-io 0
req secondary 0
req resize 0 --assume-clean --size=30M
req connect r0 ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --protocol=B --cram-hmac-alg=sha1 --shared-secret=s3cr3t --after-sb-1pri=discard-secondary --max-buffers=8k --ping-timeout=7 --tentative=no
req net-options ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --set-defaults --ko-count=3 --allow-two-primaries
req disconnect ipv4:127.0.0.1:7789 ipv4:127.0.0.1:7790 --force
req wait-connect 0 --wfc-timeout=1
req get-gi 0
req detach 0 --force
req down r0
must losetup -d /dev/loop0

bad=0
for f in /tmp/b/*.cmd; do
  b=${f%.cmd}
  if [ ! -s $b.stock ]; then echo "no stock requests seen for: $(cat $f)"; bad=$((bad + 1)); continue; fi
  if cmp -s $b.stock $b.ours; then
    echo "same bytes ($(wc -l < $b.stock) requests): drbdsetup-84 $(cat $f)"
  else
    echo "--- DIFF: drbdsetup-84 $(cat $f)"; diff $b.stock $b.ours; bad=$((bad + 1))
  fi
done
[ $bad -eq 0 ] || fail "$bad commands differ in their requests"
step "cli-bytes ok"
