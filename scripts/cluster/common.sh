# shellcheck shell=bash disable=SC2034  # the names are for the scripts that source this
# Shared by scripts/cluster/*.sh (sourced): names and paths of cluster NAME.
name="${name:-skiff}"
dir="${dir:-}"
net="${net:-}"

die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# The v2 (unified) hierarchy: /sys/fs/cgroup/unified on a hybrid host, else /sys/fs/cgroup.
if [[ -f /sys/fs/cgroup/unified/cgroup.procs ]]; then
  cgv2=/sys/fs/cgroup/unified
else
  cgv2=/sys/fs/cgroup
fi

cl_init() {
  [[ "$name" =~ ^[a-z][a-z0-9]{0,7}$ ]] ||
    { echo "${0##*/}: --name \`$name': want 1..8 lowercase letters/digits, a letter first" >&2; return 1; }
  dir="${dir:-/var/lib/skiff-cluster/$name}"
  [[ -z "$net" && -f "$dir/net" ]] && net="$(cat "$dir/net")"
  net="${net:-240}"
  ul="$name-ul" hostif="$name-h" cg="skiffc-$name"
  ul_prefix="10.$net.0"
  cluster_cidr="10.$((net + 1)).0.0/16"
  image="$ul_prefix.254:5000/busybox:1.35"
  build="${SKIFF_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
  master="$build/master/skiff-master" kubelet="$build/kubelet/skiff-kubelet"
  kubectl="${kubectl:-$(find_kubectl)}"
}
cl_node() { echo "$name-n$1"; }
# cl_innode I CMD...: CMD in node I's network and mount namespaces.
cl_innode() {
  local i=$1
  shift
  nsenter --net="/run/netns/$(cl_node "$i")" --mount="$dir/ns/n$i" "$@"
}
# cl_pod I ARGS...: skiff-pod on node I's roots, inside the node.
cl_pod() {
  local i=$1 d="$dir/n$1"
  shift
  cl_innode "$i" "${build:-${SKIFF_BUILD:?}}/kubelet/skiff-pod" --state-root "$d/state" \
    --run-root "$d/run" --log-root "$d/log" --image-root "$d/images" --snapshot-root "$d/snapshots" "$@"
}
kc() { "${kubectl:-kubectl}" --kubeconfig "$dir/admin.kubeconfig" --request-timeout=20s "$@"; }
# find_kubectl: prints the kubectl to use — $SKIFF_KUBECTL, else Debian's 1.20 (/opt/skiff-kubectl-1.20
# where another package owns /usr/bin/kubectl, see install-deps.sh), else any on PATH; 1: none.
find_kubectl() {
  local k
  [[ -n ${SKIFF_KUBECTL:-} ]] && { echo "$SKIFF_KUBECTL"; return; }
  for k in /opt/skiff-kubectl-1.20/usr/bin/kubectl /usr/bin/kubectl; do
    [[ -x $k ]] && "$k" version --client 2>/dev/null | grep -q 'Minor:"20"' && { echo "$k"; return; }
  done
  command -v kubectl
}
# cl_wait SECONDS CMD...: CMD every 0.2 s until it succeeds or the time is up.
cl_wait() {
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}
# cl_wait_alive SECONDS PIDFILE CMD...: cl_wait, but gives up as soon as PIDFILE's process is gone.
cl_wait_alive() {
  local end=$((SECONDS + $1)) pidfile=$2
  shift 2
  while ((SECONDS < end)); do
    "$@" >/dev/null 2>&1 && return 0
    cl_alive "$(cat "$pidfile" 2>/dev/null)" || return 1
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}
# cl_alive PID: running (not a zombie: this host's PID 1 reaps no orphans).
cl_alive() {
  local st
  [[ "${1:-}" =~ ^[0-9]+$ ]] && st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" && [[ "${st%% *}" != Z ]]
}
