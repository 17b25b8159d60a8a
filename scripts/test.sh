#!/usr/bin/env bash
# Every test: installs dependencies, builds, and runs the unit, integration and end-to-end tests
# through ctest. Root is needed for the integration lane (real namespaces, cgroups, mounts).
#   SKIFF_SANITIZE=1 scripts/test.sh      — the same under ASan+UBSan
#   scripts/test.sh -L unit               — extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build=build
[[ ${SKIFF_SANITIZE:-0} == 1 ]] && build=build-asan
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
