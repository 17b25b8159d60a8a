#!/usr/bin/env bash
# VM lane: the WireGuard overlay with the kernel backend, in one qemu guest (scripts/vm/run.sh)
# whose Debian kernel has the wireguard module: skiff-net must pick the kernel backend by itself
# (generic netlink family "wireguard" present) and say so; the device must be a kernel wireguard
# link (not a TUN); on a 3-node netns cluster (scripts/netns-cluster.sh) pods reach each other
# across nodes (ICMP and TCP) with real handshakes; a changed peer set is applied without touching
# the unchanged peer; a removed node's peer and route go; `down` then `up` keeps the node's key and
# the mesh works again; `down` of the cluster leaves nothing. (tests/e2e/net_overlay_test.sh is
# written around wireguard-go's supervisor and host timings; this is its kernel-backend lane.)
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/net_overlay_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

if [[ ${1-} != --in-guest ]]; then
  for t in cni/skiff-net cni/skiff-bridge cni/skiff-ipam runtime/skiff; do
    [[ -x $bin/$t ]] || { echo "SKIP: $bin/$t is not built"; exit 77; }
  done
  cd "$src" && exec scripts/vm/run.sh --timeout 840 -- bash "$src/tests/vm/net_overlay_test.sh" --in-guest
fi

echo "guest kernel: $(uname -r); cgroup mode: $(stat -fc %T /sys/fs/cgroup)"
export SKIFF_NET="$bin/cni/skiff-net" SKIFF_CNI_DIR="$bin/cni" SKIFF_BIN="$bin/runtime/skiff"
export NC_NAME=skvm NC_ROOT=/tmp/skiff-vm-net
# shellcheck source=scripts/netns-cluster.sh
source "$src/scripts/netns-cluster.sh"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

nc_up 3 || { echo "FAIL: netns cluster did not come up"; exit 1; }
backend=$(_nc_net 1 show --format json | jq -r .backend)
echo "skiff-net backend: $backend"
[[ $backend == kernel ]] && pass "skiff-net auto-selected the kernel backend" ||
  fail "skiff-net picked '$backend', want kernel (the wireguard module is loaded)"
link=$(nc_exec 1 ip -d link show "$(_nc_wg 1)")
grep -qw wireguard <<<"$link" && pass "the overlay device is a kernel wireguard link" ||
  fail "the overlay device is not a kernel wireguard link: $link"

a=$(nc_pod_add 1 a) && b=$(nc_pod_add 2 b) && c=$(nc_pod_add 3 c) || fail "pod add"
# Up to 3 tries of 5 s: under emulation on a loaded host the first packet may wait long for a
# handshake.
ping_ok() {
  local _
  for _ in 1 2 3; do nc_exec "$1" ping -c 1 -W 5 "$2" >/dev/null && return 0; done
  return 1
}
for pair in "1/a $b" "2/b $c" "3/c $a"; do
  set -- $pair
  ping_ok "$1" "$2" && pass "ICMP $1 -> $2 across nodes" || fail "no ICMP $1 -> $2"
done
# TCP: a listener in pod 2/b (it says when it listens: python starts slowly under emulation).
ready=$NC_ROOT/tcp-ready
nc_exec 2/b timeout 60 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(1); open(sys.argv[1], "w").close()
c, _ = s.accept(); c.sendall(c.recv(100))' "$ready" &
server=$!
for _ in $(seq 600); do [[ -e $ready ]] && break; sleep 0.1; done
got=$(nc_exec 1/a timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7000), timeout=20)
s.sendall(b"over kernel wireguard"); print(s.recv(100).decode())' "$b")
wait "$server"
[[ $got == "over kernel wireguard" ]] && pass "TCP 1/a -> 2/b across nodes" || fail "TCP 1/a -> 2/b: '$got'"
for i in 2 3; do
  hs=$(nc_exec 1 wg show "$(_nc_wg 1)" latest-handshakes | awk -v k="$(_nc_net "$i" pubkey)" '$1 == k {print $2}')
  [[ -n $hs && $hs != 0 ]] && pass "node 1 has a real handshake with node $i" || fail "no handshake 1-$i"
done

# A changed peer set (node 3's keepalive) leaves node 2's session alone.
key2=$(_nc_net 2 pubkey) key3=$(_nc_net 3 pubkey)
hs2=$(nc_exec 1 wg show "$(_nc_wg 1)" latest-handshakes | awk -v k="$key2" '$1 == k {print $2}')
_nc_peers 1 | jq --arg k "$key3" '.peers |= map(if .publicKey == $k then . + {persistentKeepalive: 25} else . end)' |
  _nc_net 1 peers apply - >"$NC_ROOT/apply.out" 2>&1 || fail "peers apply: $(cat "$NC_ROOT/apply.out")"
grep -q "0 added, 1 updated, 0 removed, 1 unchanged" "$NC_ROOT/apply.out" && pass "diff-only apply: $(head -1 "$NC_ROOT/apply.out")" ||
  fail "apply did not diff: $(cat "$NC_ROOT/apply.out")"
[[ $(nc_exec 1 wg show "$(_nc_wg 1)" latest-handshakes | awk -v k="$key2" '$1 == k {print $2}') == "$hs2" ]] &&
  pass "the unchanged peer kept its session" || fail "the unchanged peer was touched"
grep -q "$key3	25" <<<"$(nc_exec 1 wg show "$(_nc_wg 1)" persistent-keepalive)" &&
  pass "keepalive set in the kernel" || fail "keepalive not set"

# Node 3 leaves: its peer and route go from node 1; 1 and 2 still talk.
nc_node_rm 3 >/dev/null 2>&1 || fail "node-rm 3"
! nc_exec 1 wg show "$(_nc_wg 1)" peers | grep -q "$key3" && pass "node 3's peer gone from node 1" ||
  fail "node 3's peer still on node 1"
! nc_exec 1 ip route show "10.$NC_POD_NET.3.0/24" | grep -q . && pass "route to node 3's pods gone" ||
  fail "route to node 3's pods left"
ping_ok 1/a "$b" && pass "ICMP 1/a -> 2/b after node 3 left" || fail "1/a -> 2/b broken by node-rm"

# down + up keeps the node's key; after re-meshing the pods talk again.
key1=$(_nc_net 1 pubkey)
_nc_net 1 down >/dev/null || fail "down node 1"
! nc_exec 1 ip link show "$(_nc_wg 1)" >/dev/null 2>&1 && pass "down removed the kernel device" ||
  fail "device left after down"
_nc_net 1 up --pod-cidr "10.$NC_POD_NET.1.0/24" --listen-port "$NC_PORT" >/dev/null || fail "up node 1 again"
[[ $(_nc_net 1 pubkey) == "$key1" ]] && pass "node 1 came back with the same key" || fail "key changed"
nc_mesh >/dev/null || fail "re-mesh"
ping_ok 1/a "$b" && pass "ICMP 1/a -> 2/b after the restart" || fail "1/a -> 2/b after restart"

nc_down >/dev/null 2>&1
ip netns list | grep -q "^$NC_NAME" && fail "netns left after down: $(ip netns list)"
ip link show type wireguard | grep -q . && fail "wireguard device left: $(ip link show type wireguard)"
((failures == 0)) || { echo "FAIL: $failures check(s)"; exit 1; }
echo "ok: overlay on kernel WireGuard ($(uname -r))"
