# timeout: 60
# The guest boots the Debian 13 kernel with the real ublk and drbd modules.
. /udrbd/lib.sh
step "kernel $(uname -r)"
[ -c /dev/ublk-control ] || fail "/dev/ublk-control missing"
ls -l /dev/ublk-control
[ -f /proc/drbd ] || fail "/proc/drbd missing"
cat /proc/drbd
grep -q '^version: 8.4' /proc/drbd || fail "drbd is not 8.4"
grep -q '^ublk_drv ' /proc/modules || fail "ublk_drv not loaded"
drbdadm --version 2>/dev/null | grep DRBDADM_VERSION= || fail "drbdadm does not run"
fio --version || fail "fio does not run"
for m in loop dm_mod dm_flakey dm_delay veth sch_netem nlmon; do
  grep -q "^$m " /proc/modules || fail "module $m not loaded"
done
step "boot ok"
