# Shell helpers for VM scenarios (busybox sh). Source with: . /udrbd/lib.sh
set -u

# fail MSG: print and exit non-zero.
fail() { echo "FAIL: $*"; exit 1; }
# step MSG: a visible progress line, with the guest's uptime (where the time goes).
# (The shell's read, not cut: scenarios define functions named like commands.)
step() { local up _; read -r up _ < /proc/uptime; echo "== $* (at ${up}s)"; }
# must CMD...: run, fail with its output when it fails.
must() { "$@" || fail "command failed ($?): $*"; }

# iproute2's ip and tc, not busybox's applets of the same names (busybox sh runs its own
# applets before searching PATH, and they know nothing of netns, veth or netem).
ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }

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
# linkdown NAME / linkup NAME: cut a host off the network / join it again.
linkdown() { ip link set "$1-br" down; }
linkup() { ip link set "$1-br" up; }
# netem NAME ARGS...: shape host NAME's outgoing traffic (e.g. delay 10ms loss 1%).
netem() { local n=$1; shift; ip netns exec "$n" tc qdisc replace dev eth0 root netem "$@"; }
# hostaddr ADDR/PREFIX: give the initial namespace (where kernel DRBD lives) an address on vbr0.
hostaddr() {
  if ! ip link show vbr0 >/dev/null 2>&1; then ip link add vbr0 type bridge && ip link set vbr0 up; fi
  ip addr add "$1" dev vbr0
}
# waitfor SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds; fail after SECONDS.
waitfor() {
  local secs=$1 what=$2 i=0; shift 2
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -ge $((secs * 5)) ] && { cat /proc/drbd 2>/dev/null; dmesg | grep -i drbd | tail -n 25; fail "timed out after ${secs}s waiting for $what"; }
    sleep 0.2
  done
}
# is VALUE CMD...: CMD prints exactly VALUE.
is() { local want=$1; shift; [ "$("$@" 2>/dev/null)" = "$want" ]; }
# sumpair A B [BYTES]: prints "SUM_A SUM_B", the MD5s (by vmsum, both files at once) of
# A and B, of their first BYTES bytes when given; fails (status 1) on a read error or a
# file shorter than BYTES.
sumpair() {
  local out
  if [ $# -ge 3 ]; then out=$(vmsum -n "$3" "$1" "$2") || return 1; else out=$(vmsum "$1" "$2") || return 1; fi
  set -- $(echo "$out" | awk '{ print $1 }')
  [ $# -eq 2 ] && [ ${#1} -eq 32 ] && [ ${#2} -eq 32 ] || return 1
  echo "$1 $2"
}
# samefile A B: A and B have the same content (busybox cmp reads about 18 MB/s under
# TCG); status 2 when either cannot be read.
samefile() {
  local p
  p=$(sumpair "$1" "$2") || return 2
  [ "${p% *}" = "${p#* }" ]
}
# datasum FILE [BYTES]: a checksum (MD5, by vmsum) of FILE, of its first BYTES bytes when
# given; fails on a read error or a file shorter than BYTES.
datasum() {
  local out
  if [ $# -ge 2 ]; then out=$(vmsum -n "$2" "$1") || fail "datasum: cannot read $1"; else out=$(vmsum "$1") || fail "datasum: cannot read $1"; fi
  out=${out%% *}
  [ ${#out} -eq 32 ] || fail "datasum: no checksum for $1"
  echo "$out"
}
# cpucopyflags: the guest CPU's flags that decide how the kernel copies memory
# ("-erms -fsrm +avx2"): the benchmarks print them with their figures (docs/testing.md).
cpucopyflags() {
  local f out=
  for f in erms fsrm avx2; do
    if grep -qw "$f" /proc/cpuinfo; then out="$out +$f"; else out="$out -$f"; fi
  done
  echo "${out# }"
}
