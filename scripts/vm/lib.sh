# Shell helpers for VM scenarios (busybox sh). Source with: . /udrbd/lib.sh
set -u

# fail MSG: print and exit non-zero.
fail() { echo "FAIL: $*"; exit 1; }
# step MSG: a visible progress line.
step() { echo "== $*"; }
# must CMD...: run, fail with its output when it fails.
must() { "$@" || fail "command failed ($?): $*"; }

# mkhost NAME ADDR/PREFIX: a network namespace joined to the initial namespace's bridge
# "vbr0" by a veth pair; the host side is NAME-br, the namespace side eth0.
mkhost() {
  local name=$1 addr=$2
  if ! ip link show vbr0 >/dev/null 2>&1; then
    ip link add vbr0 type bridge && ip link set vbr0 up
  fi
  ip netns add "$name"
  ip link add "$name-br" type veth peer name eth0 netns "$name"
  ip link set "$name-br" master vbr0 up
  ip -n "$name" link set lo up
  ip -n "$name" addr add "$addr" dev eth0
  ip -n "$name" link set eth0 up
}
# on NAME CMD...: run a command inside host NAME.
on() { local n=$1; shift; ip netns exec "$n" "$@"; }
# cut NAME / heal NAME: take a host's link down / up.
cut() { ip link set "$1-br" down; }
heal() { ip link set "$1-br" up; }
# netem NAME ARGS...: shape host NAME's outgoing traffic (e.g. delay 10ms loss 1%).
netem() { local n=$1; shift; ip netns exec "$n" tc qdisc replace dev eth0 root netem "$@"; }
# hostaddr ADDR/PREFIX: give the initial namespace (where kernel DRBD lives) an address on vbr0.
hostaddr() {
  if ! ip link show vbr0 >/dev/null 2>&1; then ip link add vbr0 type bridge && ip link set vbr0 up; fi
  ip addr add "$1" dev vbr0
}
