#!/usr/bin/env bash
# VM lane: pods on a pure cgroup v2 kernel, in one qemu guest (scripts/vm/run.sh). The pod
# integration tests that touch cgroups (integration_kubelet: an OOM kill reported as OOMKilled,
# a pod's containers run and leave no cgroup behind, the pod-level cgroup with the sum of its
# containers' limits under its QoS parent and the pids limit — PodCgroupTest), then `skiff pod` with requests and limits:
# each QoS class (Guaranteed, Burstable, BestEffort) in the pod's status, and every container's
# own cgroup seen from inside (its cgroup namespace root) and from the host — memory.max, cpu.max
# and cpu.weight from the kubelet's mapping — and nothing left after rm.
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/pod_cgroups_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

pod_filter=PodTest.MemoryLimitOomKillsWithReasonOOMKilled
pod_filter+=:PodTest.InitThenMainWithCriLogsAndNothingLeft:PodCgroupTest.*

if [[ ${1-} != --in-guest ]]; then
  for t in tests/integration_kubelet kubelet/skiff-pod kubelet/skiff-shim kubelet/skiff-pause \
      runtime/skiff; do
    [[ -x $bin/$t ]] || { echo "SKIP: $bin/$t is not built"; exit 77; }
  done
  cd "$src" && exec scripts/vm/run.sh --timeout 600 -- bash "$src/tests/vm/pod_cgroups_test.sh" --in-guest
fi

echo "guest kernel: $(uname -r); cgroup mode: $(stat -fc %T /sys/fs/cgroup)"
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { echo "FAIL: the guest is not pure cgroup v2"; exit 1; }
failed=()

echo "=== integration_kubelet ($pod_filter)"
"$bin/tests/integration_kubelet" --gtest_filter="$pod_filter" || failed+=(integration_kubelet)

echo "=== skiff pod: QoS classes and the containers' v2 cgroups"
work=$(mktemp -d /tmp/skiff-podcg.XXXXXX)
cleanup() {
  "${pod[@]}" rm -f qos >/dev/null 2>&1
  grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
pod=("$bin/kubelet/skiff-pod" --state-root "$work/state" --run-root "$work/run" --log-root
  "$work/logs" --image-root "$work/images" --snapshot-root "$work/snapshots" --cni-conf-dir
  "$work/net.d" --cni-cache-dir "$work/cni-cache" --cni-bin-dir "$bin/cni")
check() {
  local what=$1 got=$2 want=$3
  if [[ $got == "$want" ]]; then
    echo "ok: $what = $got"
  else
    echo "FAIL: $what = '$got', want '$want'"
    failed+=("$what")
  fi
}

bash "$src/scripts/fixtures/make-busybox-bundle.sh" "$work/bb" --rootfs-only \
  --oci-layout "$work/layout" >/dev/null || { echo "FAIL: make-busybox-bundle"; exit 1; }
"$bin/runtime/skiff" image --image-root "$work/images" --snapshot-root "$work/snapshots" \
  import "$work/layout" busybox:1.35 >/dev/null || { echo "FAIL: skiff image import"; exit 1; }
before=$(find /sys/fs/cgroup -mindepth 1 -type d | sort)

# What each container sees of its own cgroup: the cgroup namespace makes it "/".
show='echo "cgroup=$(cat /proc/self/cgroup) memory.max=$(cat /sys/fs/cgroup/memory.max)'
show+=' cpu.max=$(cat /sys/fs/cgroup/cpu.max) cpu.weight=$(cat /sys/fs/cgroup/cpu.weight)"; sleep 600'
cat >"$work/qos.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: qos}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: limited
    image: busybox:1.35
    command: [sh, -c, '$show']
    resources:
      requests: {cpu: 250m, memory: 32Mi}
      limits: {cpu: 500m, memory: 64Mi}
  - name: free
    image: busybox:1.35
    command: [sh, -c, '$show']
EOF
"${pod[@]}" run -d "$work/qos.yaml" >/dev/null || failed+=("skiff pod run qos")
for _ in $(seq 300); do
  n=0
  for c in limited free; do
    [[ $("${pod[@]}" logs qos -c $c 2>/dev/null) == cgroup=* ]] && n=$((n + 1))
  done
  ((n == 2)) && break
  sleep 0.2
done
status=$("${pod[@]}" status qos -o json)
check "qos: qosClass (a container with requests < limits, one with none)" \
  "$(jq -r .status.qosClass <<<"$status")" Burstable
check "limited: inside" "$("${pod[@]}" logs qos -c limited)" \
  "cgroup=0::/ memory.max=$((64 << 20)) cpu.max=50000 100000 cpu.weight=10"
check "free: inside" "$("${pod[@]}" logs qos -c free)" \
  "cgroup=0::/ memory.max=max cpu.max=max 100000 cpu.weight=1"
# From the host (the guest runs nothing else that sleeps): each container's process sits in its
# own cgroup, below the hierarchy's root, with the same memory.max.
host=$(for p in $(pgrep -x sleep); do
  cg=$(sed -n 's/^0:://p' "/proc/$p/cgroup")
  [[ $cg != / && -f /sys/fs/cgroup$cg/memory.max ]] && cat "/sys/fs/cgroup$cg/memory.max"
done | sort | tr '\n' ' ')
check "host: the containers' memory.max" "$host" "$((64 << 20)) max "
"${pod[@]}" rm -f qos >/dev/null || failed+=("skiff pod rm -f qos")
after=$(find /sys/fs/cgroup -mindepth 1 -type d | sort)
check "cgroups left after rm" "$(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')" ""

for qos in Guaranteed BestEffort; do
  case $qos in
    Guaranteed) res='resources: {limits: {cpu: 200m, memory: 48Mi}}' ;;
    BestEffort) res='resources: {}' ;;
  esac
  cat >"$work/$qos.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: q-${qos,,}}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max']
    $res
EOF
  "${pod[@]}" run --wait --timeout 120 "$work/$qos.yaml" >/dev/null || failed+=("skiff pod run $qos")
  check "q-${qos,,}: qosClass" "$("${pod[@]}" status "q-${qos,,}" -o json | jq -r .status.qosClass)" "$qos"
  want="max
max 100000"
  [[ $qos == Guaranteed ]] && want="$((48 << 20))
20000 100000"
  check "q-${qos,,}: memory.max and cpu.max inside" "$("${pod[@]}" logs "q-${qos,,}" -c c)" "$want"
  "${pod[@]}" rm "q-${qos,,}" >/dev/null || failed+=("skiff pod rm q-${qos,,}")
done
after=$(find /sys/fs/cgroup -mindepth 1 -type d | sort)
check "cgroups left at the end" "$(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')" ""

if ((${#failed[@]})); then
  echo "FAIL: ${failed[*]}"
  exit 1
fi
echo "ok: pods' cgroups on cgroup v2 ($(uname -r))"
