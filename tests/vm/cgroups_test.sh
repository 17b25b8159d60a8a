#!/usr/bin/env bash
# VM lane: the runtime on a pure cgroup v2 kernel, in one qemu guest (scripts/vm/run.sh): the
# cgroup managers on the real mount (integration_cgroups: V2Manager, eBPF device filter, freezer,
# OOM), the binary's cgroups (integration_runtime Cgroups.*, the same source as the host lane's,
# asserting the v2 files here: memory.max/low/high/swap.max, cpu.max, cpu.weight, cpuset,
# pids.max, hugetlb and `unified` on the host and inside, update, pause/resume through cgroup.freeze, events --stats
# and OOM from memory.events, eBPF devices, nested and relative cgroupsPath, clean delete), the
# cgroup mode in `features` and --debug, and the runtime tests whose processes join cgroups
# (clone3 CLONE_INTO_CGROUP): lifecycle, exec, cgroup namespace.
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/cgroups_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

# Runtime tests that exercise cgroups.
runtime_filter=Cgroups.*:Lifecycle.RunReturnsTheExitCode:Lifecycle.RunKilledBySignalReports128PlusN
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
  for t in integration_cgroups integration_runtime; do
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
run integration_runtime "$bin/tests/integration_runtime" --gtest_filter="$runtime_filter"
if ((${#failed[@]})); then
  echo "FAIL: ${failed[*]}"
  exit 1
fi
echo "ok: every cgroup test passed on cgroup v2 ($(uname -r))"
