#!/usr/bin/env bash
# A multi-node skiff network on one host, made of network namespaces: an underlay bridge in its
# own netns, N nodes (each a netns with a veth on the underlay, its own state roots, a node bridge
# through skiff-bridge, a WireGuard overlay through skiff-net with a per-node interface name), and
# pods (a netns each) attached with skiff-bridge. The cluster end-to-end tests reuse it.
#
#   scripts/netns-cluster.sh [--name NAME] up N         underlay + N nodes, overlay fully meshed
#   scripts/netns-cluster.sh [--name NAME] pod-add I POD    prints the pod's IP
#   scripts/netns-cluster.sh [--name NAME] pod-del I POD    CNI DEL (the lease is freed)
#   scripts/netns-cluster.sh [--name NAME] node-rm I        node I gone, the others re-meshed
#   scripts/netns-cluster.sh [--name NAME] mesh [I...]     (re)applies the peer sets
#   scripts/netns-cluster.sh [--name NAME] exec I[/POD] CMD...   runs CMD in a node or pod netns
#   scripts/netns-cluster.sh [--name NAME] nodes            live node numbers
#   scripts/netns-cluster.sh [--name NAME] down             removes everything it made
#
# Or source it and call the nc_* functions (same names, same arguments) with NC_NAME set.
#
# Layout for node I (1..250) of cluster NAME (<= 8 characters; default "skc"):
#   netns NAME-ul: bridge ul0, veths nI          netns NAME-nI: eth0 10.NC_UNDERLAY.0.I/24
#   pod CIDR 10.NC_POD_NET.I.0/24, bridge skbr0  WireGuard NAMEwgI (wireguard-go's sockets in
#   state NC_ROOT/NAME/nI/{wireguard,leases,cache}  /var/run/wireguard are shared: names differ)
#   pods: netns NAME-nI-POD, eth0 with an IP from the node's pod CIDR
# Masquerading (pods reaching beyond the cluster's pod CIDR 10.NC_POD_NET.0.0/16), as the kubelet
# does it: one rule per node from `skiff-net up --cluster-cidr`, the bridge without ipMasq; nodes
# listed in NC_BRIDGE_MASQ (e.g. "3") instead use skiff-bridge's per-pod ipMasq (ipMasqExclude the
# cluster CIDR), as the kubelet's single-host default network does.
# Binaries: SKIFF_NET (skiff-net) and SKIFF_CNI_DIR (skiff-bridge, skiff-ipam); by default the
# build tree next to this script.

NC_NAME="${NC_NAME:-skc}"
NC_ROOT="${NC_ROOT:-/run/skiff-netns-cluster}"
NC_UNDERLAY="${NC_UNDERLAY:-250}"
NC_POD_NET="${NC_POD_NET:-244}"
NC_UNDERLAY_MTU="${NC_UNDERLAY_MTU:-1500}"
NC_PORT="${NC_PORT:-51820}"
NC_BRIDGE_MASQ="${NC_BRIDGE_MASQ:-}"
_nc_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SKIFF_NET="${SKIFF_NET:-$_nc_repo/build/cni/skiff-net}"
SKIFF_CNI_DIR="${SKIFF_CNI_DIR:-$_nc_repo/build/cni}"

_nc_die() {
  echo "netns-cluster: $*" >&2
  return 1
}
_nc_ul() { echo "$NC_NAME-ul"; }
_nc_node() { echo "$NC_NAME-n$1"; }
_nc_pod() { echo "$NC_NAME-n$1-$2"; }
_nc_state() { echo "$NC_ROOT/$NC_NAME/n$1"; }
_nc_wg() { echo "${NC_NAME}wg$1"; }
_nc_mtu() { echo $((NC_UNDERLAY_MTU - 80)); }
_nc_bridge_masq() { [[ " $NC_BRIDGE_MASQ " == *" $1 "* ]]; }
_nc_in() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}
_nc_net() {  # skiff-net for node I: _nc_net I ARGS...
  local i=$1
  shift
  _nc_in "$(_nc_node "$i")" "$SKIFF_NET" --state-dir "$(_nc_state "$i")/wireguard" \
    --ifname "$(_nc_wg "$i")" "$@"
}
_nc_check_name() {
  [[ "$NC_NAME" =~ ^[a-z][a-z0-9]{0,7}$ ]] ||
    _nc_die "name \`$NC_NAME': want 1..8 lowercase letters/digits, a letter first"
}

nc_nodes() {
  local n
  for n in $(ip netns list | awk '{print $1}'); do
    [[ "$n" =~ ^$NC_NAME-n([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}"
  done | sort -n
}

# The CNI config of node I (skiff-bridge + skiff-ipam on the node's pod CIDR, overlay MTU).
# No ipMasq (skiff-net masquerades for the node), except on NC_BRIDGE_MASQ nodes: ipMasq but not
# towards the cluster's pod CIDR. Either way pod to pod across the overlay keeps the pods'
# addresses.
_nc_conf() {
  local i=$1 state masq='"ipMasq":false'
  state="$(_nc_state "$i")"
  _nc_bridge_masq "$i" && masq="\"ipMasq\":true,\"ipMasqExclude\":[\"10.$NC_POD_NET.0.0/16\"]"
  cat <<JSON
{"cniVersion":"1.1.0","name":"$NC_NAME","type":"skiff-bridge","bridge":"skbr0",
 "isGateway":true,"isDefaultGateway":true,"mtu":$(_nc_mtu),$masq,
 "ipam":{"type":"skiff-ipam","dataDir":"$state/leases",
         "ranges":[[{"subnet":"10.$NC_POD_NET.$i.0/24"}]]}}
JSON
}

_nc_cni() {  # _nc_cni VERB I POD
  local verb=$1 i=$2 pod=$3
  _nc_conf "$i" | CNI_COMMAND=$verb CNI_CONTAINERID="$pod" CNI_NETNS="/run/netns/$(_nc_pod "$i" "$pod")" \
    CNI_IFNAME=eth0 CNI_PATH="$SKIFF_CNI_DIR" \
    ip netns exec "$(_nc_node "$i")" "$SKIFF_CNI_DIR/skiff-bridge"
}

_nc_node_up() {
  local i=$1 node ul state
  node="$(_nc_node "$i")" ul="$(_nc_ul)" state="$(_nc_state "$i")"
  ip netns add "$node" || return 1
  mkdir -p "$state/leases" "$state/wireguard" && chmod 700 "$state/wireguard"
  ip link add eth0 netns "$node" mtu "$NC_UNDERLAY_MTU" type veth peer name "n$i" netns "$ul" \
    mtu "$NC_UNDERLAY_MTU" || return 1
  _nc_in "$ul" ip link set "n$i" master ul0 up || return 1
  _nc_in "$node" ip link set lo up
  _nc_in "$node" ip addr add "10.$NC_UNDERLAY.0.$i/24" dev eth0 || return 1
  _nc_in "$node" ip link set eth0 up || return 1
  # The underlay gateway: nodes need a default route so skiff-net finds the underlay MTU.
  _nc_in "$node" ip route add default via "10.$NC_UNDERLAY.0.254" dev eth0 onlink
  _nc_in "$node" sysctl -qw net.ipv4.ip_forward=1 || return 1
  local masq=(--cluster-cidr "10.$NC_POD_NET.0.0/16")
  _nc_bridge_masq "$i" && masq=()
  _nc_net "$i" up --pod-cidr "10.$NC_POD_NET.$i.0/24" "${masq[@]}" --listen-port "$NC_PORT" \
    >/dev/null || return 1
}

nc_up() {
  local n=${1:-}
  _nc_check_name || return 1
  [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 250)) || { _nc_die "up: want a node count 1..250"; return 1; }
  [[ -x "$SKIFF_NET" ]] || { _nc_die "skiff-net not found at \`$SKIFF_NET' (set SKIFF_NET)"; return 1; }
  [[ -x "$SKIFF_CNI_DIR/skiff-bridge" ]] ||
    { _nc_die "skiff-bridge not found in \`$SKIFF_CNI_DIR' (set SKIFF_CNI_DIR)"; return 1; }
  if ip netns list | grep -q "^$(_nc_ul)\b"; then
    _nc_die "cluster \`$NC_NAME' is already up (netns-cluster.sh --name $NC_NAME down)"
    return 1
  fi
  local ul i
  ul="$(_nc_ul)"
  ip netns add "$ul" || return 1
  _nc_in "$ul" ip link set lo up
  _nc_in "$ul" ip link add ul0 mtu "$NC_UNDERLAY_MTU" type bridge || { nc_down; return 1; }
  _nc_in "$ul" ip link set ul0 up
  for ((i = 1; i <= n; i++)); do
    _nc_node_up "$i" || { _nc_die "node $i failed to come up"; nc_down; return 1; }
  done
  nc_mesh || { nc_down; return 1; }
}

# The peer set of node I: every other live node.
_nc_peers() {
  local i=$1 j sep="" key
  printf '{"peers":['
  for j in $(nc_nodes); do
    [[ "$j" == "$i" ]] && continue
    key="$(_nc_net "$j" pubkey)" || return 1
    printf '%s{"publicKey":"%s","endpoint":"10.%s.0.%s:%s","podCIDR":"10.%s.%s.0/24"}' \
      "$sep" "$key" "$NC_UNDERLAY" "$j" "$NC_PORT" "$NC_POD_NET" "$j"
    sep=","
  done
  printf ']}\n'
}

nc_mesh() {
  local i nodes=("$@")
  ((${#nodes[@]})) || mapfile -t nodes < <(nc_nodes)
  for i in "${nodes[@]}"; do
    _nc_peers "$i" | _nc_net "$i" peers apply - >/dev/null || { _nc_die "mesh: node $i"; return 1; }
  done
}

nc_pod_add() {
  local i=$1 pod=$2 ns result
  ns="$(_nc_pod "$i" "$pod")"
  ip netns add "$ns" || return 1
  _nc_in "$ns" ip link set lo up
  if ! result="$(_nc_cni ADD "$i" "$pod")"; then
    echo "$result" >&2
    ip netns del "$ns"
    return 1
  fi
  jq -r '.ips[0].address | split("/")[0]' <<<"$result"
}

nc_pod_del() {
  local i=$1 pod=$2
  _nc_cni DEL "$i" "$pod" >/dev/null || return 1
  ip netns del "$(_nc_pod "$i" "$pod")" 2>/dev/null
  return 0
}

_nc_node_pods() {  # pod names of node I
  local n
  for n in $(ip netns list | awk '{print $1}'); do
    [[ "$n" == "$(_nc_node "$1")-"* ]] && echo "${n#"$(_nc_node "$1")-"}"
  done
}

_nc_node_rm() {
  local i=$1 pod
  for pod in $(_nc_node_pods "$i"); do
    _nc_cni DEL "$i" "$pod" >/dev/null 2>&1
    ip netns del "$(_nc_pod "$i" "$pod")" 2>/dev/null
  done
  _nc_net "$i" down >/dev/null 2>&1
  ip netns del "$(_nc_node "$i")" 2>/dev/null  # its veth goes with it
  rm -rf "$(_nc_state "$i")"
}

nc_node_rm() {
  local i=$1
  ip netns list | grep -q "^$(_nc_node "$i")\b" || { _nc_die "node-rm: no node $i"; return 1; }
  _nc_node_rm "$i"
  nc_mesh
}

nc_exec() {
  local target=$1
  shift
  if [[ "$target" == */* ]]; then
    _nc_in "$(_nc_pod "${target%%/*}" "${target#*/}")" "$@"
  else
    _nc_in "$(_nc_node "$target")" "$@"
  fi
}

nc_down() {
  local i
  for i in $(nc_nodes); do _nc_node_rm "$i"; done
  ip netns del "$(_nc_ul)" 2>/dev/null
  rm -rf "${NC_ROOT:?}/$NC_NAME"
  rmdir "$NC_ROOT" 2>/dev/null
  return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -uo pipefail
  if [[ "${1:-}" == "--name" ]]; then
    NC_NAME="$2"
    shift 2
  fi
  verb="${1:-}"
  shift || true
  case "$verb" in
    up) nc_up "$@" ;;
    down) nc_down ;;
    mesh) nc_mesh "$@" ;;
    nodes) nc_nodes ;;
    pod-add) nc_pod_add "$@" ;;
    pod-del) nc_pod_del "$@" ;;
    node-rm) nc_node_rm "$@" ;;
    exec) nc_exec "$@" ;;
    *)
      sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
      [[ -z "$verb" || "$verb" == "-h" || "$verb" == "--help" ]] && exit 0
      exit 2
      ;;
  esac
fi
