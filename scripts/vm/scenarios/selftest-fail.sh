# manual
# timeout: 30
# Harness self-test: a failing scenario must turn into a non-zero exit.
. /udrbd/lib.sh
fail "failing on purpose"
