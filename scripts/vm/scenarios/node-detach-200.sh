# manual
# timeout: 1500
# node-detach-fio with 200 attach/detach cycles under fio (about 10 minutes
# under TCG).
NODE_CYCLES=200
. /udrbd/scenarios/node-detach-fio.sh
