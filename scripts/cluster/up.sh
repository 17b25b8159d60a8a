#!/usr/bin/env bash
# A skiff cluster on this host: skiff-master and a registry on an underlay, N nodes joined through
# the real flow (`skiff-master token create` → the printed `skiff-kubelet join … --run`), each node
# its own network namespace AND mount namespace (private /run/wireguard, its pods' mounts) with its
# own state roots, meshed by the kubelets' WireGuard overlay (--overlay; kernel WireGuard or
# wireguard-go). Waits until every node is Ready, then prints how to reach it.
#
#   scripts/cluster/up.sh N [--name NAME] [--dir DIR] [--net K] [--master-arg ARG]...
#                           [--kubelet-arg ARG]...
#   scripts/cluster/down.sh [--name NAME] [--dir DIR]      removes everything up.sh made
#
#   N         nodes, 1..50
#   --name    1..8 lowercase letters/digits, a letter first (default "skiff")
#   --dir     the cluster's state (default /var/lib/skiff-cluster/NAME)
#   --net K   underlay 10.K.0.0/24 (master and registry .254, this host .253, node I .I), pod
#             network (cluster CIDR) 10.K+1.0.0/16; default 240
#   --master-arg / --kubelet-arg   extra flags for skiff-master / every skiff-kubelet (tests:
#             e.g. --node-monitor-grace-period=6s, --lease-period-ms=1000)
#
# Layout: netns NAME-ul holds the underlay bridge ul0, the master (:6443) and a docker-registry
# (:5000, plain HTTP, the nodes' kubelets run with --insecure-registry for it) with the busybox
# fixture as 10.K.0.254:5000/busybox:1.35; this host reaches the underlay through veth NAME-h.
# Node I: netns NAME-nI (eth0 10.K.0.I), mount namespace DIR/ns/nI, roots under DIR/nI (DIR/nI/run
# a tmpfs in the node's mount namespace, as a host's /run), node name NAME-nI. Every process runs
# in cgroup skiffc-NAME (v2; pods under skiffc-NAME/nI/pods in every hierarchy), so down.sh finds
# them all. DIR/restart-master and DIR/nI/start-kubelet start the
# master / node I's kubelet again (`run`, the same flags) after a test stopped them.
# Binaries: SKIFF_BUILD (default the build tree next to this script).
# A failure tears down what was made and exits 1 naming the step.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

usage() {
  sed -n '8,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
n=""
master_args=() kubelet_args=()
while (($#)); do
  case "$1" in
    --name) name="${2:-}"; shift 2 || usage ;;
    --dir) dir="${2:-}"; shift 2 || usage ;;
    --net) net="${2:-}"; shift 2 || usage ;;
    --master-arg) master_args+=("${2:-}"); shift 2 || usage ;;
    --kubelet-arg) kubelet_args+=("${2:-}"); shift 2 || usage ;;
    -h | --help) usage ;;
    -*) die "unknown option \`$1'" ;;
    *)
      [[ -z "$n" ]] || die "one node count, got \`$n' and \`$1'"
      n="$1"
      shift
      ;;
  esac
done
[[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 50)) || die "N: want a node count 1..50, got \`$n'"
cl_init || exit 1
[[ "$net" =~ ^[0-9]+$ ]] && ((net >= 1 && net <= 253)) || die "--net: want 1..253, got \`$net'"
[[ "$(id -u)" -eq 0 ]] || die "needs root (namespaces, cgroups, mounts)"
for tool in ip nsenter unshare jq kubectl docker-registry skopeo; do
  command -v "$tool" >/dev/null || die "\`$tool' not installed (scripts/install-deps.sh)"
done
[[ -d /sys/module/wireguard || -c /dev/net/tun ]] || die "no kernel WireGuard and no /dev/net/tun"
modprobe wireguard 2>/dev/null || command -v wireguard-go >/dev/null ||
  die "no kernel WireGuard and no wireguard-go"
for b in "$master" "$kubelet" "$build/kubelet/skiff-pod" "$build/kubelet/skiff-shim" \
  "$build/cni/skiff-net" "$build/cni/skiff-bridge" "$build/runtime/skiff" "$build/runtime/skiff-pull"; do
  [[ -x "$b" ]] || die "\`$b' not built (set SKIFF_BUILD)"
done
[[ -e "$dir" ]] && die "\`$dir' exists: cluster \`$name' is up (scripts/cluster/down.sh --name $name)"
ip netns list | grep -q "^$ul\b" && die "netns \`$ul' exists (scripts/cluster/down.sh --name $name)"
ip link show "$hostif" >/dev/null 2>&1 && die "link \`$hostif' exists (another cluster on --net?)"
ip -4 -o addr show | grep -q " inet $ul_prefix\." &&
  die "--net $net: this host already has an address in $ul_prefix.0/24 (another cluster? pick another --net)"

step="start"
failed() {
  echo "up.sh: failed: $step" >&2
  for f in "$dir"/master.log "$dir"/n*/kubelet.log; do
    [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
  done
  "$here/down.sh" --name "$name" --dir "$dir" >/dev/null 2>&1
  exit 1
}
run() {  # run STEP CMD...: CMD or tear down and fail naming STEP
  step="$1"
  shift
  "$@" || failed
}
trap 'step="interrupted at: $step"; failed' INT TERM

mkdir -p "$dir" || die "cannot create \`$dir'"
echo "$net" >"$dir/net"
echo "$n" >"$dir/nodes"
run "cgroup $cg" mkdir -p "$cgv2/$cg"

# --- the underlay: a bridge in its own netns, the host on it through a veth ---
run "netns $ul" ip netns add "$ul"
run "underlay bridge" ip -n "$ul" link add ul0 type bridge
ip -n "$ul" link set lo up
run "underlay bridge up" ip -n "$ul" link set ul0 up
run "underlay address" ip -n "$ul" addr add "$ul_prefix.254/24" dev ul0
run "host veth $hostif" ip link add "$hostif" type veth peer name h0 netns "$ul"
run "host veth" ip -n "$ul" link set h0 master ul0 up
run "host address" ip addr add "$ul_prefix.253/24" dev "$hostif"
run "host veth up" ip link set "$hostif" up

# --- the master ---
{
  printf '#!/bin/sh\n# starts the master of cluster %s again (its data stays)\n' "$name"
  printf 'exec %q' "$here/launch.sh"
  printf ' %q' "$cg/master" "$dir/master.log" "$dir/master.pid" --net "/run/netns/$ul" -- "$master" \
    --data-dir "$dir/master" --listen "$ul_prefix.254:6443" --cluster-cidr "$cluster_cidr" \
    "${master_args[@]}"
  printf '\n'
} >"$dir/restart-master"
chmod +x "$dir/restart-master"
run "start the master" "$dir/restart-master"
step="master up (see $dir/master.log)"
cl_wait_alive 30 "$dir/master.pid" test -s "$dir/master/server-url" || failed
run "admin kubeconfig" eval '"$master" kubeconfig --data-dir "$dir/master" >"$dir/admin.kubeconfig"'
run "master answers" cl_wait 30 kc get --raw /api

# --- the registry with the busybox fixture ---
run "busybox fixture" "$repo/scripts/fixtures/make-busybox-bundle.sh" "$dir/bb" --rootfs-only \
  --oci-layout "$dir/bb-oci" --tag 1.35
cat >"$dir/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry
http:
  addr: $ul_prefix.254:5000
YML
run "start the registry" "$here/launch.sh" "$cg/registry" "$dir/registry.log" "$dir/registry.pid" \
  --net "/run/netns/$ul" -- "$(command -v docker-registry)" serve "$dir/registry.yml"
step="registry up (see $dir/registry.log)"
cl_wait_alive 20 "$dir/registry.pid" nsenter --net="/run/netns/$ul" \
  bash -c "exec 3<>/dev/tcp/$ul_prefix.254/5000" || failed
run "push busybox:1.35 to the registry" nsenter --net="/run/netns/$ul" skopeo copy -q \
  --dest-tls-verify=false "oci:$dir/bb-oci:1.35" "docker://$image"
rm -rf "$dir/bb" "$dir/bb-oci"

# --- the nodes ---
run "private mount for the nodes' mount namespaces" mkdir -p "$dir/ns"
run "bind $dir/ns" mount --bind "$dir/ns" "$dir/ns"
run "make $dir/ns private" mount --make-private "$dir/ns"
step="token create"
join_cmd=$(nsenter --net="/run/netns/$ul" "$master" token create --data-dir "$dir/master" --ttl 1h) ||
  failed
[[ "$join_cmd" == "skiff-kubelet join "* ]] || { step="token create printed \`$join_cmd'"; failed; }
read -ra join_words <<<"${join_cmd#skiff-kubelet }"
for ((i = 1; i <= n; i++)); do
  node="$(cl_node "$i")"
  run "netns $node" ip netns add "$node"
  run "veth of $node" ip link add eth0 netns "$node" type veth peer name "n$i" netns "$ul"
  run "veth of $node" ip -n "$ul" link set "n$i" master ul0 up
  ip -n "$node" link set lo up
  run "address of $node" ip -n "$node" addr add "$ul_prefix.$i/24" dev eth0
  run "eth0 of $node up" ip -n "$node" link set eth0 up
  # The underlay gateway: skiff-net finds the underlay MTU from the default route.
  run "route of $node" ip -n "$node" route add default via "$ul_prefix.254" dev eth0 onlink
  run "forwarding in $node" ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
  # The node's own mount namespace: private propagation, no other namespaces' files, its own
  # /run/wireguard (wireguard-go's sockets) and a tmpfs for its run root (a node's /run: shim
  # sockets, bundles, the runtime's state), kept by a bind mount of its nsfs file.
  d="$dir/n$i"
  run "roots of $node" mkdir -p "$d/run"
  run "mount namespace of $node" touch "$dir/ns/n$i"
  run "mount namespace of $node" unshare --mount="$dir/ns/n$i" --propagation private true
  run "/run/wireguard of $node" mkdir -p /run/wireguard
  run "mounts of $node" nsenter --mount="$dir/ns/n$i" sh -c '
    findmnt -rn -t nsfs -o TARGET | sort -r | while read -r m; do umount -l "$m"; done
    mount -t tmpfs -o mode=0700 tmpfs /run/wireguard
    mount -t tmpfs -o mode=0755,size=256m tmpfs "$1"' sh "$d/run"
  roots=(--data-dir "$d/kubelet" --state-root "$d/state" --run-root "$d/run" --log-root "$d/log"
    --image-root "$d/images" --snapshot-root "$d/snapshots" --cni-conf-dir "$d/net.d"
    --cni-cache-dir "$d/cni-cache" --cni-data-dir "$d/cni-data" --cgroup-parent "/$cg/n$i/pods"
    --insecure-registry "$ul_prefix.254:5000" --overlay --cluster-cidr "$cluster_cidr")
  launch=("$here/launch.sh" "$cg/n$i/kubelet" "$d/kubelet.log" "$d/kubelet.pid"
    --net "/run/netns/$node" --mount "$dir/ns/n$i" -- "$kubelet")
  {
    printf '#!/bin/sh\n# starts the kubelet of %s again (skiff-kubelet run, the same roots)\n' "$node"
    printf 'exec'
    printf ' %q' "${launch[@]}" run --node-name "$node" "${roots[@]}" "${kubelet_args[@]}"
    printf '\n'
  } >"$d/start-kubelet"
  chmod +x "$d/start-kubelet"
  run "join $node (see $d/kubelet.log)" "${launch[@]}" "${join_words[@]}" --run --node-name "$node" \
    "${roots[@]}" "${kubelet_args[@]}"
done

step="all $n nodes Ready (see $dir/n*/kubelet.log)"
all_ready() {
  [[ "$(kc get nodes -o json | jq '[.items[] | select(.status.conditions[]? |
    .type == "Ready" and .status == "True")] | length')" == "$n" ]]
}
kubelets_alive() {
  local i
  for ((i = 1; i <= n; i++)); do
    cl_alive "$(cat "$dir/n$i/kubelet.pid")" || { step="the kubelet of $(cl_node "$i") exited (see $dir/n$i/kubelet.log)"; return 1; }
  done
}
end=$((SECONDS + 90))
until all_ready; do
  kubelets_alive || failed
  ((SECONDS < end)) || { kc get nodes -o wide >&2; failed; }
  sleep 0.3
done
trap - INT TERM
kc get nodes -o wide
cat <<EOF
cluster $name is up: $n nodes, state in $dir (scripts/cluster/down.sh --name $name removes it)
export KUBECONFIG=$dir/admin.kubeconfig
image: $image
EOF
