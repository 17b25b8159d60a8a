#!/usr/bin/env bash
# VM lane: podman drives skiff on a pure cgroup v2 kernel, in one qemu guest (scripts/vm/run.sh):
# tests/e2e/podman_test.sh as is (run/exec/stop/logs/rm through conmon, and a --memory 64m limit
# seen as memory.max inside the container and in its v2 cgroup on the host).
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/podman_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

if [[ ${1-} != --in-guest ]]; then
  [[ -x $bin/runtime/skiff ]] || { echo "SKIP: $bin/runtime/skiff is not built"; exit 77; }
  cd "$src" && exec scripts/vm/run.sh --timeout 600 -- bash "$src/tests/vm/podman_test.sh" --in-guest
fi

echo "guest kernel: $(uname -r); cgroup mode: $(stat -fc %T /sys/fs/cgroup)"
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { echo "FAIL: the guest is not pure cgroup v2"; exit 1; }
SKIFF_BIN=$bin/runtime/skiff exec bash "$src/tests/e2e/podman_test.sh"
