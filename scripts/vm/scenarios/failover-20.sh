# manual
# timeout: 1500
# The failover scenario with 20 node losses in a row, alternating nodes, under load (issue
# 9's soak): make vm-test SCENARIO=failover-20. make test runs failover with 6.
ROUNDS=20
. /udrbd/scenarios/failover.sh
