#!/usr/bin/env bash
# Pod start benchmark: the same pod (an init container, then a main container, bridge network) from
# the busybox fixture image, started by `skiff pod run` and by `podman kube play` (runc, CNI
# bridge, the isolated podman config of scripts/fixtures/podman-env.sh), alternating each round.
# Timed until the command returns with the main container running; the pod is removed untimed.
# Prints medians, the ratio, and the median RSS of the pod's skiff-shim.
#   scripts/bench/pod.sh [N]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10}
skiff=${SKIFF_BIN:-$PWD/build/runtime/skiff}
[[ -x $skiff && -x build/kubelet/skiff-pod ]] || { echo "build skiff and skiff-pod first" >&2; exit 1; }
work=$(mktemp -d /tmp/skiff-bench-pod.XXXXXX)
pod=("$skiff" pod --state-root "$work/pods" --run-root "$work/run" --log-root "$work/logs"
  --image-root "$work/images" --snapshot-root "$work/snapshots" --cni-conf-dir "$work/net.d"
  --cni-cache-dir "$work/cni" --cni-data-dir "$work/ipam")

export PODMAN_ENV_NETNS=bridge
# shellcheck source=../fixtures/podman-env.sh
source scripts/fixtures/podman-env.sh "$work/podman"
peer=podman
command -v podman >/dev/null && command -v runc >/dev/null || peer=
cleanup() {
  "${pod[@]}" rm -f bench >/dev/null 2>&1 || true
  if [[ -n $peer ]]; then
    SKIFF_BIN=$(command -v runc) podman_skiff kube down "$work/pod.yaml" >/dev/null 2>&1 || true
    podman_env_cleanup >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: bench
  annotations:
    # podman 4.3 removes "once" init containers while it still sees them running; keep them.
    io.podman.annotations.init.container.type: always
spec:
  initContainers:
  - name: init
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo init']
  containers:
  - name: main
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: [sleep, '1000']
YAML
scripts/fixtures/make-busybox-bundle.sh "$work/bb" --rootfs-only --oci-layout "$work/bb-oci" >/dev/null
SKIFF_IMAGE_ROOT="$work/images" "$skiff" image import "$work/bb-oci" localhost/busybox:latest >/dev/null
[[ -n $peer ]] && podman_env_import_busybox latest >/dev/null

now() { date +%s%N; }
skiff_ms=() podman_ms=() start_rss_kb=() rss_kb=() dirty_kb=() pss_kb=() store_rss_kb=() store_pss_kb=()
store_dirty_kb=()
smap() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }
for i in $(seq 1 "$n"); do
  t0=$(now)
  "${pod[@]}" run "$work/pod.yaml" >/dev/null
  t1=$(now)
  skiff_ms+=("$(( (t1 - t0) / 1000 ))")
  # The shim (its pid in the checkpoint) and the pod's pause (its child; also the fd store).
  shim=$(sed -n 's/.*"shimPid": *\([0-9]*\).*/\1/p' "$work"/pods/*/status.json)
  store=$(pgrep -P "$shim" -x pause | head -1)
  start_rss_kb+=("$(smap "$shim" Rss)")
  # Settled: the shim drops its set-up code from its resident set 2 s after start
  # (common/resident.hpp); what a pod costs while it runs is measured after that.
  sleep 2.5
  rss_kb+=("$(smap "$shim" Rss)")
  pss_kb+=("$(smap "$shim" Pss)")
  # What one more pod costs: its private dirty pages (the binary's text is shared by all shims).
  dirty_kb+=("$(smap "$shim" Private_Dirty)")
  if [[ -n $store ]]; then
    store_rss_kb+=("$(smap "$store" Rss)")
    store_pss_kb+=("$(smap "$store" Pss)")
    store_dirty_kb+=("$(smap "$store" Private_Dirty)")
  fi
  "${pod[@]}" rm -f bench >/dev/null
  if [[ -n $peer ]]; then
    t0=$(now)
    SKIFF_BIN=$(command -v runc) podman_skiff kube play "$work/pod.yaml" >/dev/null
    t1=$(now)
    podman_ms+=("$(( (t1 - t0) / 1000 ))")
    # podman 4.3 sometimes fails to unlink a container's shm on kube down; force the pod out.
    SKIFF_BIN=$(command -v runc) podman_skiff kube down "$work/pod.yaml" >/dev/null 2>&1 ||
      SKIFF_BIN=$(command -v runc) podman_skiff pod rm -f bench >/dev/null 2>&1 || true
  fi
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
s=$(median "${skiff_ms[@]}")
printf 'pod start (init + main, bridge), N=%d\n' "$n"
printf '  skiff pod run:     median %.1f ms\n' "$(awk "BEGIN {print $s / 1000}")"
if [[ -n $peer ]]; then
  p=$(median "${podman_ms[@]}")
  printf '  podman kube play:  median %.1f ms (runc)\n' "$(awk "BEGIN {print $p / 1000}")"
  printf '  ratio skiff/podman: %.3f\n' "$(awk "BEGIN {print $s / $p}")"
fi
printf '  skiff-shim RSS:    median %.0f KiB settled (Pss %.0f KiB, private dirty %.0f KiB); %.0f KiB just after start\n' \
  "$(median "${rss_kb[@]}")" "$(median "${pss_kb[@]}")" "$(median "${dirty_kb[@]}")" \
  "$(median "${start_rss_kb[@]}")"
if ((${#store_rss_kb[@]})); then
  printf '  pause + fd store:  median %.0f KiB RSS (Pss %.0f KiB, private dirty %.0f KiB)\n' \
    "$(median "${store_rss_kb[@]}")" "$(median "${store_pss_kb[@]}")" \
    "$(median "${store_dirty_kb[@]}")"
fi
