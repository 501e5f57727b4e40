# manual
# timeout: 30
# Harness self-test: a guest that hangs must be killed at its timeout (run-scenarios
# expects this one to fail; scripts/vm/selftest checks that it does, cleanly).
echo "hanging on purpose"
sleep 1000
