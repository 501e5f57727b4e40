# manual
# timeout: 420
# `make demo` on a host without ublk: the same scripts/demo.sh, in the VM
# (make passes scripts/ as UDRBD_VM_EXTRA, so it is /udrbd/extra/demo.sh).
. /udrbd/lib.sh
[ -x /udrbd/extra/demo.sh ] || fail "demo.sh not in /udrbd/extra (run via make demo)"
echo "UDRBD-DEMO-BEGIN"
DEMO_DIR=/tmp/demo sh /udrbd/extra/demo.sh || fail "demo failed"
echo "UDRBD-DEMO-END"
