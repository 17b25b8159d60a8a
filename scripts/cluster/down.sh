#!/usr/bin/env bash
# scripts/cluster/down.sh [--name NAME] [--dir DIR]: removes everything scripts/cluster/up.sh made
# for cluster NAME — every process (all in cgroup skiffc-NAME: master, registry, kubelets,
# wireguard-go, shims, containers), the nodes' mount namespaces (and the pods' mounts in them),
# the network namespaces (veths, bridges, WireGuard devices go with them), the host's veth, the
# pod cgroups in every hierarchy, and DIR. Idempotent: a cluster half made or already gone is fine.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
while (($#)); do
  case "$1" in
    --name) name="${2:-}"; shift 2 || die "--name: missing value" ;;
    --dir) dir="${2:-}"; shift 2 || die "--dir: missing value" ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1'" ;;
  esac
done
cl_init || exit 1
problems=0
problem() {
  echo "down.sh: $*" >&2
  problems=$((problems + 1))
}

# 1. Every process in the cluster's cgroup (cgroup.kill: the whole subtree at once).
populated() { grep -q '^populated 1' "$cgv2/$cg/cgroup.events" 2>/dev/null; }
if [[ -d "$cgv2/$cg" ]]; then
  for _ in $(seq 100); do
    populated || break
    if [[ -f "$cgv2/$cg/cgroup.kill" ]]; then
      echo 1 >"$cgv2/$cg/cgroup.kill"
    else
      # shellcheck disable=SC2038  # pids, not file names, go through xargs
      find "$cgv2/$cg" -name cgroup.procs -exec cat {} + | xargs -r kill -9 2>/dev/null
    fi
    sleep 0.05
  done
  populated && problem "processes left in $cgv2/$cg: $(find "$cgv2/$cg" -name cgroup.procs -exec cat {} + | tr '\n' ' ')"
fi
# Processes that were started but never reached the cgroup (a failed launch): by pid file.
for f in "$dir"/*.pid "$dir"/n*/kubelet.pid; do
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && grep -qs "$dir" "/proc/$pid/cmdline" && kill -9 "$pid" 2>/dev/null
done

# 2. The nodes' mount namespaces (their mounts go with the last reference), then the bind.
if [[ -d "$dir/ns" ]]; then
  for f in "$dir"/ns/n*; do
    [[ -e "$f" ]] || continue
    umount "$f" 2>/dev/null
    rm -f "$f" 2>/dev/null || problem "cannot remove $f"
  done
  while mountpoint -q "$dir/ns"; do umount "$dir/ns" || { problem "umount $dir/ns"; break; }; done
fi

# 3. The host's veth, network namespaces: the nodes', the underlay's (veths, bridges, WireGuard
# devices go with them).
ip link del "$hostif" 2>/dev/null
for ns in $(ip netns list | awk '{print $1}'); do
  [[ "$ns" =~ ^$name-n[0-9]+$ || "$ns" == "$ul" ]] || continue
  ip netns del "$ns" || problem "ip netns del $ns"
done
for _ in $(seq 50); do ip link show "$hostif" >/dev/null 2>&1 || break; sleep 0.05; done
ip link show "$hostif" >/dev/null 2>&1 && problem "link $hostif left"

# 4. Cgroups, deepest first, in every hierarchy.
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [[ -d "$h$cg" ]] || continue
  find "$h$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  [[ -d "$h$cg" ]] && problem "cgroup $h$cg left"
done

# 5. The state (no mount may be left under it: never remove through a mount).
if [[ -d "$dir" ]]; then
  if findmnt -rn -o TARGET | grep -q "^$dir\(/\|$\)"; then
    problem "mounts left under $dir: $(findmnt -rn -o TARGET | grep "^$dir\(/\|$\)" | tr '\n' ' ')"
  else
    rm -rf "$dir" || problem "rm -rf $dir"
  fi
fi
((problems == 0)) || exit 1
echo "cluster $name is down"
