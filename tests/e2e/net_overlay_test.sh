#!/usr/bin/env bash
# E2E: the WireGuard overlay on a 3-node network-namespace cluster (scripts/netns-cluster.sh):
# pod to pod on one node and across nodes (ICMP and TCP), a peer-set change that leaves an
# unchanged peer's session alone, a node removed (its peer and route gone on the others, the
# others still talking), a crashed overlay restarted with the same key and its peers, leases
# freed on DEL, and `down` leaving nothing behind. Masquerading: nodes 1 and 2 the kubelet's way
# (skiff-net's one node-wide nftables rule, kept at one by a repeated `up`, gone with `down`),
# node 3 with skiff-bridge's per-pod ipMasq; both leave pod-to-pod traffic alone.
#
#   SKIFF_BIN=build/runtime/skiff tests/e2e/net_overlay_test.sh
#
# Exit 0 pass, 77 skip (reason printed as "SKIP: ..."), 1 fail. Needs root, wireguard-go,
# wireguard-tools (wg, an independent reader of the devices), iproute2, jq, python3.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces)"
for tool in wireguard-go wg ip jq python3; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (wireguard-go needs TUN)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
export SKIFF_NET="$build/cni/skiff-net" SKIFF_CNI_DIR="$build/cni"
[[ -x "$SKIFF_NET" && -x "$SKIFF_CNI_DIR/skiff-bridge" ]] ||
  skip "skiff-net or skiff-bridge not built under \`$build'"

export NC_NAME="sko$(($$ % 10000))" NC_ROOT="$(mktemp -d /tmp/skiff-e2e-net.XXXXXX)"
export NC_BRIDGE_MASQ=3  # node 3's pods masquerade per pod (skiff-bridge ipMasq)
# shellcheck source=scripts/netns-cluster.sh
source "$repo/scripts/netns-cluster.sh"
trap 'nc_down >/dev/null 2>&1; rm -rf "$NC_ROOT"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
check() {  # check DESCRIPTION CMD...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
# ICMP: up to 5 tries of 2 s (the first packet may wait for a handshake on a loaded machine).
ping_ok() {
  local _
  for _ in 1 2 3 4 5; do nc_exec "$1" ping -c 1 -W 2 "$2" && return 0; done
  return 1
}
# TCP: a python3 listener in pod $1, a client in pod $2 sends a line and reads it back.
tcp_ok() {
  local server=$1 client=$2 ip=$3 port=$4 got
  nc_exec "$server" timeout 10 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); c, _ = s.accept(); c.sendall(c.recv(100))' \
    "$port" &
  local pid=$!
  got="$(nc_exec "$client" timeout 10 python3 -c '
import socket, sys, time
for _ in range(100):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); break
    except ConnectionRefusedError:
        time.sleep(0.05)
s.sendall(b"hello over the overlay"); print(s.recv(100).decode())' "$ip" "$port")"
  wait "$pid"
  [[ "$got" == "hello over the overlay" ]]
}
wg_peers() { nc_exec "$1" wg show "$(_nc_wg "$1")" peers | sort; }
handshake_of() {  # node, peer key -> unix time of the latest handshake (wg's own reading)
  nc_exec "$1" wg show "$(_nc_wg "$1")" latest-handshakes | awk -v k="$2" '$1 == k {print $2}'
}

start=$(date +%s)
nc_up 3 || { echo "FAIL: cluster up"; exit 1; }
pass "3-node cluster up (underlay, nodes, overlay meshed)"

p1a=$(nc_pod_add 1 a) && p1b=$(nc_pod_add 1 b) && p2a=$(nc_pod_add 2 a) && p3a=$(nc_pod_add 3 a) ||
  { echo "FAIL: pod ADD"; exit 1; }
echo "pods: 1/a=$p1a 1/b=$p1b 2/a=$p2a 3/a=$p3a"

check "same node: 1/a -> 1/b (ICMP)" ping_ok 1/a "$p1b"
check "cross node: 1/a -> 2/a (ICMP)" ping_ok 1/a "$p2a"
check "cross node: 1/a -> 3/a (ICMP)" ping_ok 1/a "$p3a"
check "cross node: 2/a -> 3/a (ICMP)" ping_ok 2/a "$p3a"
check "cross node: 3/a -> 1/b (ICMP)" ping_ok 3/a "$p1b"
check "node 1 itself -> pod 2/a (from its pod-CIDR address on the device)" ping_ok 1 "$p2a"
check "cross node: 2/a -> 1/a (TCP)" tcp_ok 1/a 2/a "$p1a" 7001
check "cross node: 1/b -> 3/a (TCP)" tcp_ok 3/a 1/b "$p3a" 7002
check "same node: 1/b -> 1/a (TCP)" tcp_ok 1/a 1/b "$p1a" 7003

# Masquerading (except towards the cluster's pod CIDR): a pod on another node sees the client
# pod's own address; a node outside the pod network sees the client's node. Nodes 1 and 2: one
# rule of skiff-net's for the node's pod CIDR; node 3: skiff-bridge's ipMasq, a rule per pod.
seen_from() {  # seen_from SERVER CLIENT IP PORT -> the source address SERVER saw
  local server=$1 client=$2 ip=$3 port=$4 out=$NC_ROOT/seen-$4
  nc_exec "$server" timeout 10 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); c, a = s.accept()
open(sys.argv[2], "w").write(a[0])' "$port" "$out" &
  local pid=$!
  nc_exec "$client" timeout 10 python3 -c '
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close(); break
    except ConnectionRefusedError:
        time.sleep(0.05)' "$ip" "$port"
  wait "$pid"
  cat "$out" 2>/dev/null
}
seen=$(seen_from 2/a 1/a "$p2a" 7010)
check "across the overlay the pod's own address arrives (saw $seen, want $p1a)" [ "$seen" = "$p1a" ]
seen=$(seen_from 2 1/a "10.$NC_UNDERLAY.0.2" 7011)
check "towards the underlay the pod is masqueraded (saw $seen, want 10.$NC_UNDERLAY.0.1)" \
  [ "$seen" = "10.$NC_UNDERLAY.0.1" ]
seen=$(seen_from 2/a 3/a "$p2a" 7012)
check "bridge ipMasq (node 3): across the overlay the pod's own address (saw $seen, want $p3a)" \
  [ "$seen" = "$p3a" ]
seen=$(seen_from 2 3/a "10.$NC_UNDERLAY.0.2" 7013)
check "bridge ipMasq (node 3): towards the underlay masqueraded (saw $seen, want 10.$NC_UNDERLAY.0.3)" \
  [ "$seen" = "10.$NC_UNDERLAY.0.3" ]
node_table() { echo "skiff-net-$(_nc_wg "$1")"; }
masq_rules() {  # node I -> its node-wide masquerade rules, one a line
  nc_exec "$1" nft list table inet "$(node_table "$1")" 2>/dev/null | grep masquerade
}
rules=$(masq_rules 1)
check "node 1: one node-wide rule, pod CIDR beyond the cluster CIDR ($rules)" \
  [ "$(grep -c "ip saddr 10.$NC_POD_NET.1.0/24 ip daddr != { 10.$NC_POD_NET.0.0/16, 224.0.0.0/4 } masquerade" <<<"$rules")" = 1 -a "$(wc -l <<<"$rules")" = 1 ]
check "node 1: no per-pod masquerade table" bash -c "! ip netns exec $(_nc_node 1) nft list tables | grep -q 'skiff-$NC_NAME\$'"
check "node 3: its pod's rule in the bridge's table" \
  grep -q "comment \"a/eth0\"" <<<"$(nc_exec 3 nft list table inet "skiff-$NC_NAME" 2>&1)"
check "node 3: no node-wide rule" bash -c "! ip netns exec $(_nc_node 3) nft list tables | grep -q 'skiff-net-'"
out=$(_nc_net 1 up 2>&1)
check "up again keeps the cluster CIDR ($out)" grep -q "masquerading 10.$NC_POD_NET.1.0/24 beyond 10.$NC_POD_NET.0.0/16" <<<"$out"
check "up again: still one node-wide rule" [ "$(masq_rules 1 | wc -l)" = 1 ]
msg=$(_nc_net 1 up --cluster-cidr 10.999.0.0/16 2>&1)
check "a bad --cluster-cidr is refused naming it ($msg)" grep -q -- "--cluster-cidr: \`10.999.0.0/16\` is not a CIDR" <<<"$msg"
msg=$(_nc_net 1 up --cluster-cidr fd00::/8 2>&1)
check "a cluster CIDR of another family is refused ($msg)" grep -q "not the same address family" <<<"$msg"
check "after refusals: still one node-wide rule" [ "$(masq_rules 1 | wc -l)" = 1 ]

# The overlay's MTU everywhere: WireGuard device, node bridge, pod interface.
mtu=$(_nc_mtu)
check "MTU $mtu on the WireGuard device" [ "$(nc_exec 1 cat /sys/class/net/"$(_nc_wg 1)"/mtu)" = "$mtu" ]
check "MTU $mtu in the pod" [ "$(nc_exec 1/a cat /sys/class/net/eth0/mtu)" = "$mtu" ]
check "MTU $mtu on the node bridge" [ "$(nc_exec 1 cat /sys/class/net/skbr0/mtu)" = "$mtu" ]
check "node key file is 0600" [ "$(stat -c %a "$(_nc_state 1)/wireguard/private.key")" = 600 ]

# A changed peer set on node 1 (keepalive for node 3's peer only): node 2's peer, unchanged, keeps
# its session — same handshake time, same endpoint, per wg(8).
key2=$(_nc_net 2 pubkey) key3=$(_nc_net 3 pubkey) key1=$(_nc_net 1 pubkey)
hs_before=$(handshake_of 1 "$key2")
ep_before=$(nc_exec 1 wg show "$(_nc_wg 1)" endpoints | awk -v k="$key2" '$1 == k {print $2}')
sleep 1.1  # a new handshake would carry a later second
out=$(_nc_peers 1 | jq --arg k "$key3" '.peers |= map(if .publicKey == $k then .persistentKeepalive = 25 else . end)' |
  _nc_net 1 peers apply -)
echo "apply: $out"
check "diff-only apply: 1 updated, 1 unchanged, 0 added/removed" \
  grep -q "0 added, 1 updated, 0 removed, 1 unchanged" <<<"$out"
check "keepalive set on node 3's peer" \
  grep -q "$key3	25" <<<"$(nc_exec 1 wg show "$(_nc_wg 1)" persistent-keepalive)"
check "unchanged peer keeps its handshake ($hs_before)" [ "$(handshake_of 1 "$key2")" = "$hs_before" ]
check "unchanged peer keeps its endpoint" [ "$(nc_exec 1 wg show "$(_nc_wg 1)" endpoints | awk -v k="$key2" '$1 == k {print $2}')" = "$ep_before" ]
check "handshake was real (not 0)" [ "${hs_before:-0}" -gt 0 ]
out=$(_nc_peers 1 | _nc_net 1 peers apply -)
check "re-applying the same set changes nothing but the keepalive back" grep -q "1 updated, 0 removed, 1 unchanged" <<<"$out"
out=$(_nc_peers 1 | _nc_net 1 peers apply -)
check "an identical set is a no-op" grep -q "0 added, 0 updated, 0 removed, 2 unchanged; routes: 0 added, 0 removed" <<<"$out"

# Bad peer sets change nothing.
dup="{\"peers\":[{\"publicKey\":\"$key2\",\"podCIDR\":\"10.$NC_POD_NET.2.0/24\"},{\"publicKey\":\"$key2\",\"podCIDR\":\"10.$NC_POD_NET.9.0/24\"}]}"
msg=$(_nc_net 1 peers apply - <<<"$dup" 2>&1)
check "duplicate peer keys refused ($msg)" grep -q "peers\[1\].publicKey: duplicate of peers\[0\]" <<<"$msg"
overlap="{\"peers\":[{\"publicKey\":\"$key2\",\"podCIDR\":\"10.$NC_POD_NET.0.0/16\"}]}"
msg=$(_nc_net 1 peers apply - <<<"$overlap" 2>&1)
check "pod CIDR overlapping this node's refused ($msg)" grep -q "overlaps this node's" <<<"$msg"
msg=$(_nc_net 1 peers apply - <<<'{"peers":[{"publicKey":"AAAA","podCIDR":"10.9.0.0/24"}]}' 2>&1)
check "badly encoded key refused ($msg)" grep -q "peers\[0\].publicKey" <<<"$msg"
check "after refusals node 1 still has exactly nodes 2 and 3" \
  [ "$(wg_peers 1 | tr '\n' ' ')" = "$(printf '%s\n' "$key2" "$key3" | sort | tr '\n' ' ')" ]

# `up` that fails half way (its UDP port is taken) leaves no device, process or socket behind.
# The holder says when it has the port (python starts slowly on a loaded machine) and keeps it
# until killed.
# (ip netns exec execs python, so $! is the holder itself.)
ip netns exec "$(_nc_node 1)" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", 51999))
open(sys.argv[1], "w").close(); time.sleep(60)' "$NC_ROOT/port-held" &
holder=$!
for _ in $(seq 300); do [[ -e $NC_ROOT/port-held ]] && break; sleep 0.05; done
check "port 51999 held for the failed-up check" [ -e "$NC_ROOT/port-held" ]
badif="${NC_NAME}bad"
msg=$(nc_exec 1 "$SKIFF_NET" --state-dir "$NC_ROOT/bad" --ifname "$badif" up --listen-port 51999 2>&1)
rc=$?
# Whatever happened, nothing of it may outlive the test.
left=$(nc_exec 1 "$SKIFF_NET" --state-dir "$NC_ROOT/bad" --ifname "$badif" down 2>&1)
check "failed up: down finds nothing ($left)" grep -q "was not up" <<<"$left"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check "up on a taken port fails ($msg)" [ "$rc" -ne 0 ]
check "failed up: no device left" bash -c "! ip netns exec $(_nc_node 1) ip link show $badif"
check "failed up: no socket left" [ ! -e "/var/run/wireguard/$badif.sock" ]
check "failed up: no supervisor left" [ ! -e "$NC_ROOT/bad/$badif.supervisor.pid" ]

# Node 3 leaves: its peer and route disappear from nodes 1 and 2; 1 and 2 keep talking.
nc_node_rm 3 || fail "node-rm 3"
for i in 1 2; do
  check "node $i: node 3's peer gone" bash -c "! grep -q '$key3' <<<'$(wg_peers $i)'"
  check "node $i: route to node 3's pod CIDR gone" \
    bash -c "! grep -q '10.$NC_POD_NET.3.0/24' <<<'$(nc_exec $i ip route)'"
done
check "node 3's namespaces gone" bash -c "! ip netns list | grep -q '^$(_nc_node 3)'"
check "after node 3 left: 1/a -> 2/a (ICMP)" ping_ok 1/a "$p2a"
check "after node 3 left: 2/a -> 1/b (TCP)" tcp_ok 1/b 2/a "$p1b" 7004

# Node 1's wireguard-go crashes: its supervisor restarts it and puts key and peers back.
wgdir="$(_nc_state 1)/wireguard"
old_pid=$(cat "$wgdir/$(_nc_wg 1).pid")
kill -9 "$old_pid"
back=0
for _ in $(seq 100); do
  new_pid=$(cat "$wgdir/$(_nc_wg 1).pid")
  [[ "$new_pid" != "$old_pid" ]] && ping_ok 1/a "$p2a" >/dev/null 2>&1 && { back=1; break; }
  sleep 0.1
done
check "supervisor restarted wireguard-go and restored the tunnel" [ "$back" = 1 ]
check "restarted device has the same key" [ "$(nc_exec 1 wg show "$(_nc_wg 1)" public-key)" = "$key1" ]
check "restarted device has node 2 as its peer" [ "$(wg_peers 1)" = "$key2" ]

# Supervisor and wireguard-go both gone (a reboot, say): `up` recreates the device with the same
# key and the saved peers.
kill -9 "$(cat "$wgdir/$(_nc_wg 1).supervisor.pid")" "$(cat "$wgdir/$(_nc_wg 1).pid")"
for _ in $(seq 100); do nc_exec 1 ip link show "$(_nc_wg 1)" >/dev/null 2>&1 || break; sleep 0.05; done
out=$(_nc_net 1 up)
echo "restart: $out"
check "restarted overlay recreated with its peer restored" grep -q "created, 1 peers restored" <<<"$out"
check "restarted overlay: still one node-wide rule" [ "$(masq_rules 1 | wc -l)" = 1 ]
check "restarted overlay keeps its key" [ "$(_nc_net 1 pubkey)" = "$key1" ]
check "node 2 still knows node 1 by that key" grep -q "$key1" <<<"$(wg_peers 2)"
check "after restart: 1/a -> 2/a (ICMP)" ping_ok 1/a "$p2a"
check "after restart: route to node 2's pods back" grep -q "10.$NC_POD_NET.2.0/24 dev $(_nc_wg 1)" <<<"$(nc_exec 1 ip route)"

# DEL frees the lease.
leases="$(_nc_state 1)/leases/$NC_NAME"
check "lease of 1/b held" [ -e "$leases/$p1b" ]
nc_pod_del 1 b || fail "pod-del 1 b"
check "lease of 1/b freed on DEL" [ ! -e "$leases/$p1b" ]
check "1/a's lease still there" [ -e "$leases/$p1a" ]

# skiff-net down takes its masquerade along (node 2; nc_down's own down finds nothing then).
out=$(_nc_net 2 down 2>&1)
check "node 2: skiff-net down ($out)" grep -q ": removed" <<<"$out"
check "node 2: no nftables table left after down" [ -z "$(nc_exec 2 nft list tables)" ]

# down removes everything: namespaces, devices, wireguard-go processes and sockets, state.
pids=$(cat "$(_nc_state 1)"/wireguard/*.pid "$(_nc_state 2)"/wireguard/*.pid 2>/dev/null)
nodes_before=$(nc_nodes | wc -l)
nc_down
check "no namespaces left" bash -c "! ip netns list | grep -q '^$NC_NAME-'"
check "no wireguard-go sockets left" bash -c "! ls /var/run/wireguard/ 2>/dev/null | grep -q '^${NC_NAME}wg'"
alive=0
for p in $pids; do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qE "wireguard-go|skiff-net" && alive=1
done
check "no wireguard-go or supervisor process left ($nodes_before nodes)" [ "$alive" = 0 ]
check "no state left" [ ! -e "$NC_ROOT/$NC_NAME" ]

echo "took $(($(date +%s) - start)) s"
if ((failures)); then
  echo "FAIL: $failures check(s) failed"
  exit 1
fi
echo "PASS"
