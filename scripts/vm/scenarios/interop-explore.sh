# manual
# timeout: 300
# Exploration: udrbd (netns a) against kernel drbd.ko (initial namespace).
. /udrbd/lib.sh
export PATH=$PATH:/usr/lib/drbd
K=/usr/lib/drbd/drbdsetup-84
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
N=/tmp/n
mkdir -p $N
export UDRBD_SOCKET=$N/control.sock
hostaddr 10.0.0.9/24
mkhost a 10.0.0.1/24
must truncate -s 64M /tmp/k.img
must losetup /dev/loop0 /tmp/k.img
must drbdmeta --force 0 v08 /dev/loop0 internal create-md
must truncate -s 64M $N/disk
must drbdmeta --force 0 v08 $N/disk internal create-md
on a udrbd --state-dir $N/state --dev-dir $N/dev --log-level debug 2>$N/udrbd.log &
waitfor 20 "udrbd" test -S $N/control.sock
step "kernel side"
must $K new-resource r0
must $K new-minor r0 0 0
must $K attach 0 /dev/loop0 /dev/loop0 internal --c-plan-ahead=0 --resync-rate=100M
must $K connect r0 ipv4:10.0.0.9:7789 ipv4:10.0.0.1:7789 --protocol=C ${KOPTS:-}
step "udrbd side"
must drbdsetup new-resource r0
must drbdsetup new-minor r0 0 0
must drbdsetup attach 0 $N/disk $N/disk internal --c-plan-ahead=0 --resync-rate=100M
must drbdsetup connect r0 ipv4:10.0.0.1:7789 ipv4:10.0.0.9:7789 --protocol=C ${UOPTS:-}
sleep 3
echo "kernel: $($K 0 cstate) $($K 0 dstate)"; echo "udrbd: $(drbdsetup 0 cstate) $(drbdsetup 0 dstate)"
dmesg | grep -i drbd | tail -n 30
grep -v 'level=DEBUG' $N/udrbd.log | tail -n 40
waitfor 20 "kernel Connected" is Connected $K 0 cstate
step "kernel primary --force: full sync to udrbd"
must $K primary 0 --force
waitfor 60 "UpToDate" is UpToDate/UpToDate $K 0 dstate
cat /proc/drbd
drbdsetup status --verbose --statistics
step "write 32 MiB on the kernel primary"
must dd if=/dev/urandom of=/tmp/data bs=1M count=32 status=none
must dd if=/tmp/data of=/dev/drbd0 bs=1M oflag=direct status=none
sleep 1
bytes=$(blockdev --getsize64 /dev/drbd0)
a=$(sha /tmp/k.img "$bytes"); b=$(sha $N/disk "$bytes")
echo "kernel $a udrbd $b"
[ "$a" = "$b" ] || fail "data areas differ"
dmesg | grep -i drbd | tail -n 30
grep -v 'level=DEBUG' $N/udrbd.log | tail -n 30
step "interop-explore ok"
