#!/usr/bin/env bash
# VM lane: the runtime on a pure cgroup v2 kernel, in one qemu guest (scripts/vm/run.sh): the
# cgroup managers on the real mount (integration_cgroups: V2Manager, eBPF device filter, freezer,
# OOM), the binary's v2 cgroups (vm_runtime_cgroups_v2: memory/cpu/cpuset/pids/unified on the host
# and inside, update, pause/resume through cgroup.freeze, events --stats and OOM, devices, nested
# and relative cgroupsPath, clean delete), and the runtime tests whose processes join cgroups
# (clone3 CLONE_INTO_CGROUP): lifecycle, exec, cgroup namespace.
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/cgroups_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

# Runtime tests that exercise cgroups (the Cgroups.* suite is written for v1 and skips on v2;
# vm_runtime_cgroups_v2 is its v2 counterpart).
runtime_filter=Lifecycle.RunReturnsTheExitCode:Lifecycle.RunKilledBySignalReports128PlusN
runtime_filter+=:Lifecycle.DeleteOfCreatedContainerKillsTheInit
runtime_filter+=:Lifecycle.ForceDeleteOfRunningContainer:Lifecycle.KillAllReachesEveryProcess
runtime_filter+=:Lifecycle.DuplicateIdRefusedWithoutHarmingTheFirst:Lifecycle.VersionAndFeatures
runtime_filter+=:Exec.DetachedProcessRunsInTheContainersCgroup:Exec.PausedContainerIsRefused
runtime_filter+=:Exec.JoinsTheInitsNamespaces:Isolation.CgroupAndTimeNamespaces
runtime_filter+=:Isolation.NewNamespacesAndHostname:HostSnapshotTest.*
# The CVE-2019-5736 defence on an older kernel (6.1: no detached overlay lowers, so the attached
# lower is what protects the binary there).
runtime_filter+=:Lifecycle.CreateStartStateKillDelete:Security.EverySealMethodGivesARunnableReadOnlyBinary
runtime_filter+=:Security.CreatedInitsExeIsAReadOnlyViewOfTheBinary
runtime_filter+=:Security.SelfExeInterpreterTrickCannotRewriteTheBinary

if [[ ${1-} != --in-guest ]]; then
  for t in integration_cgroups integration_runtime vm_runtime_cgroups_v2; do
    [[ -x $bin/tests/$t ]] || { echo "SKIP: $bin/tests/$t is not built"; exit 77; }
  done
  [[ -x $bin/runtime/skiff ]] || { echo "SKIP: $bin/runtime/skiff is not built"; exit 77; }
  cd "$src" && exec scripts/vm/run.sh --timeout 840 -- bash "$src/tests/vm/cgroups_test.sh" --in-guest
fi

echo "guest kernel: $(uname -r); cgroup mode: $(stat -fc %T /sys/fs/cgroup)" \
  "($(cat /sys/fs/cgroup/cgroup.subtree_control))"
echo "skiff features: cgroup mode $("$bin/runtime/skiff" features | jq -r '.annotations["org.skiff.cgroup.mode"]')"
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { echo "FAIL: the guest is not pure cgroup v2"; exit 1; }
failed=()
run() {
  local name=$1
  shift
  echo "=== $name"
  "$@" || failed+=("$name")
}
run integration_cgroups "$bin/tests/integration_cgroups"
run vm_runtime_cgroups_v2 "$bin/tests/vm_runtime_cgroups_v2"
run integration_runtime "$bin/tests/integration_runtime" --gtest_filter="$runtime_filter"
if ((${#failed[@]})); then
  echo "FAIL: ${failed[*]}"
  exit 1
fi
echo "ok: every cgroup test passed on cgroup v2 ($(uname -r))"
