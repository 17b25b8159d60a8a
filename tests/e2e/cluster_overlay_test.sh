#!/usr/bin/env bash
# The overlay driven by the cluster: skiff-master (--cluster-cidr) in an underlay network
# namespace and two nodes (a network namespace each, only an underlay address) whose
# `skiff-kubelet --overlay` take the Node's spec.podCIDR, bring WireGuard up through skiff-net,
# publish their key and endpoint as Node annotations, write the pods' CNI network and mesh with
# each other from the Node objects. Pods on the two nodes get addresses from their node's pod
# CIDR and reach each other across the overlay; a node deleted from the API disappears from the
# other's peers. Exit 77 (skip) without root, kubectl, wireguard-go or the binaries.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces, pods)"
for tool in wireguard-go wg ip jq kubectl nsenter; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (wireguard-go needs TUN)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
master="$build/master/skiff-master" kubelet="$build/kubelet/skiff-kubelet"
skiff="$build/runtime/skiff" skiffpod="$build/kubelet/skiff-pod" net="$build/cni/skiff-net"
for b in "$master" "$kubelet" "$skiff" "$skiffpod" "$net" "$build/cni/skiff-bridge"; do
  [[ -x "$b" ]] || skip "\`$b' not built"
done

work="$(mktemp -d /tmp/skiff-e2e-overlay.XXXXXX)"
name="sko$(($$ % 10000))"
ul="$name-ul" underlay=252 port=6443
declare -A kpid=()
node_ns() { echo "$name-n$1"; }
innode() {  # network namespace only (`ip netns exec` would remount /sys without cgroups)
  local i=$1
  shift
  nsenter --net="/run/netns/$(node_ns "$i")" "$@"
}
roots() {
  local d="$work/n$1"
  echo --state-root "$d/state" --run-root "$d/run" --log-root "$d/log" --image-root "$d/images" \
    --snapshot-root "$d/snapshots" --cni-conf-dir "$d/net.d" --cni-cache-dir "$d/cni-cache" \
    --cni-data-dir "$d/cni-data"
}
pod_cmd() {
  local i=$1 d="$work/n$1"
  shift
  innode "$i" "$skiffpod" --state-root "$d/state" --run-root "$d/run" --log-root "$d/log" \
    --image-root "$d/images" --snapshot-root "$d/snapshots" --cni-conf-dir "$d/net.d" \
    --cni-cache-dir "$d/cni-cache" --cni-data-dir "$d/cni-data" "$@"
}
wgnet() {  # wgnet I ARGS...: skiff-net on node I's overlay state
  local i=$1
  shift
  innode "$i" "$net" --state-dir "$work/n$i/kubelet/wireguard" --ifname "${name}wg$i" "$@"
}
cleanup() {
  local i p
  for i in "${!kpid[@]}"; do kill -9 "${kpid[$i]}" 2>/dev/null; done
  for i in 1 2; do
    [[ -d "$work/n$i/state" ]] || continue
    for p in $(pod_cmd "$i" ls -o json 2>/dev/null | jq -r '.[].name'); do
      pod_cmd "$i" rm -f "$p" >/dev/null 2>&1
    done
    wgnet "$i" down >/dev/null 2>&1
    ip netns del "$(node_ns "$i")" 2>/dev/null
  done
  [[ -n ${mpid:-} ]] && kill -9 "$mpid" 2>/dev/null
  { wait; } 2>/dev/null
  ip netns del "$ul" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
k() { ip netns exec "$ul" kubectl --kubeconfig "$work/admin.kubeconfig" --request-timeout=20s "$@"; }
wait_for() {
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}

# --- underlay: a bridge in its own netns, the master on it, two nodes with only eth0 ---
ip netns add "$ul" || skip "cannot create network namespaces"
ip -n "$ul" link set lo up
ip -n "$ul" link add ul0 type bridge && ip -n "$ul" link set ul0 up
ip -n "$ul" addr add "10.$underlay.0.254/24" dev ul0
for i in 1 2; do
  ip netns add "$(node_ns "$i")"
  ip link add eth0 netns "$(node_ns "$i")" type veth peer name "n$i" netns "$ul"
  ip -n "$ul" link set "n$i" master ul0 up
  ip -n "$(node_ns "$i")" link set lo up
  ip -n "$(node_ns "$i")" addr add "10.$underlay.0.$i/24" dev eth0
  ip -n "$(node_ns "$i")" link set eth0 up
  ip -n "$(node_ns "$i")" route add default via "10.$underlay.0.254" dev eth0 onlink
  innode "$i" sysctl -qw net.ipv4.ip_forward=1
done
ip netns exec "$ul" "$master" --data-dir "$work/master" --listen "10.$underlay.0.254:$port" \
  --cluster-cidr 10.246.0.0/16 --node-monitor-grace-period 10m >"$work/master.log" 2>&1 &
mpid=$!
wait_for 20 test -s "$work/master/server-url" || { cat "$work/master.log"; fail "master up"; exit 1; }
"$master" kubeconfig --data-dir "$work/master" >"$work/admin.kubeconfig"
join_cmd=$(ip netns exec "$ul" "$master" token create --data-dir "$work/master" --ttl 1h)
token=$(sed -E 's/.*--token ([^ ]+).*/\1/' <<<"$join_cmd")
hash=$(sed -E 's/.*--ca-cert-hash ([^ ]+).*/\1/' <<<"$join_cmd")
"$repo/scripts/fixtures/make-busybox-bundle.sh" "$work/bb" --rootfs-only --oci-layout "$work/bb-oci" \
  >/dev/null 2>&1 || skip "cannot build the busybox fixture image"
for i in 1 2; do
  "$skiff" image import --image-root "$work/n$i/images" "$work/bb-oci" busybox >/dev/null ||
    fail "import busybox into node $i"
  # shellcheck disable=SC2046
  nsenter --net="/run/netns/$(node_ns "$i")" "$kubelet" join "https://10.$underlay.0.254:$port" \
    --token "$token" --ca-cert-hash "$hash" --run --node-name "node$i" \
    --data-dir "$work/n$i/kubelet" $(roots "$i") --overlay --cluster-cidr 10.246.0.0/16 \
    --wireguard-ifname "${name}wg$i" >>"$work/kubelet$i.log" 2>&1 &
  kpid[$i]=$!
done

annotated() {
  [[ -n "$(k get node "$1" -o jsonpath='{.metadata.annotations.skiff\.dev/wireguard-public-key}')" ]]
}
if wait_for 40 annotated node1 && wait_for 40 annotated node2; then
  pass "both nodes publish their WireGuard key and endpoint"
else
  fail "overlay annotations"
  cat "$work/kubelet1.log" "$work/kubelet2.log"
  exit 1
fi
cidr1=$(k get node node1 -o jsonpath='{.spec.podCIDR}')
cidr2=$(k get node node2 -o jsonpath='{.spec.podCIDR}')
[[ "$(k get node node1 -o jsonpath='{.metadata.annotations.skiff\.dev/wireguard-endpoint}')" == \
  "10.$underlay.0.1:51820" ]] && pass "node1's endpoint is its underlay address" ||
  fail "node1 endpoint"
peer_of() { wgnet "$1" show --format json | jq -e --arg c "$2" '[.. | strings] | index($c)'; }
wait_for 20 peer_of 1 "$cidr2" && wait_for 20 peer_of 2 "$cidr1" &&
  pass "each node has the other as its peer ($cidr1 <-> $cidr2)" || {
  fail "peers"
  wgnet 1 show
}
jq -e --arg c "$cidr1" '.plugins[0].ipam.ranges[0][0].subnet == $c' \
  "$work/n1/net.d/10-skiff.conflist" >/dev/null && pass "node1's pod network is its pod CIDR" ||
  fail "node1 conflist"

for i in 1 2; do
  cat <<YAML | k apply --validate=false -f - >/dev/null || fail "apply ping$i"
apiVersion: v1
kind: Pod
metadata: {name: ping$i}
spec:
  nodeSelector: {kubernetes.io/hostname: node$i}
  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: busybox, imagePullPolicy: Never,
     command: [sh, -c, "trap 'exit 0' TERM; sleep 600 & wait"]}
YAML
done
running() { [[ "$(k get pod "$1" -o jsonpath='{.status.phase}')" == Running ]]; }
wait_for 60 running ping1 && wait_for 60 running ping2 || {
  fail "pods Running"
  tail -n 20 "$work/kubelet1.log" "$work/kubelet2.log"
}
ip1=$(k get pod ping1 -o jsonpath='{.status.podIP}')
ip2=$(k get pod ping2 -o jsonpath='{.status.podIP}')
in_cidr() { python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$@"; }
in_cidr "$ip1" "$cidr1" && in_cidr "$ip2" "$cidr2" &&
  pass "pod IPs come from their node's pod CIDR ($ip1, $ip2)" || fail "pod IPs $ip1 $ip2"
if wait_for 15 pod_cmd 1 exec ping1 -- ping -c 1 -W 1 "$ip2"; then
  pass "pod on node1 reaches the pod on node2 across the overlay"
else
  fail "pod-to-pod ping across nodes"
fi

# A node deleted from the API leaves the other's peer set.
kill -9 "${kpid[2]}"
k delete node node2 >/dev/null
wait_for 20 eval '! peer_of 1 "$cidr2"' && pass "node2 deleted: gone from node1's peers" ||
  fail "node1 still peers with node2"

if ((failures)); then
  for i in 1 2; do echo "--- kubelet$i log"; tail -20 "$work/kubelet$i.log"; done
  echo "$failures failure(s)"
  exit 1
fi
echo "all overlay checks passed"
