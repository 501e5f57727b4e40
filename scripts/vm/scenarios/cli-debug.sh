# timeout: 120
# manual
# Debug helper for the CLI: runs a few commands of ours against kernel drbd, tracing messages.
. /udrbd/lib.sh
echo /bin/true > /sys/module/drbd/parameters/usermode_helper
export UDRBD_TRANSPORT=kernel UDRBD_DEBUG=1
S=/udrbd/bin/drbdsetup
timeout 10 strace -f -e trace=sendmsg,recvmsg,sendto,recvfrom,write -s 200 -xx /usr/lib/drbd/drbdsetup-84 new-resource r0 2>&1 | grep -v SIGURG; echo rc=$?
timeout 10 strace -f -e trace=sendmsg,recvmsg,sendto,recvfrom,write -s 200 -xx $S new-resource r1 2>&1 | grep -v SIGURG; echo rc=$?
