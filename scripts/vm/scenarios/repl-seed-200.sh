# manual
# timeout: 1500
# repl-seed with 200 attach/detach cycles under fio for each side.
SEED_CYCLES=200
. /udrbd/scenarios/repl-seed.sh
