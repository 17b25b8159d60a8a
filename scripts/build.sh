#!/usr/bin/env bash
# Configures and builds skiff into build/ (or $SKIFF_BUILD_DIR). SKIFF_SANITIZE=1 builds with
# ASan+UBSan into build-asan/ instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${SKIFF_SANITIZE:-0} == 1 ]]; then
  build=${SKIFF_BUILD_DIR:-build-asan}
  extra=(-DSKIFF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
else
  build=${SKIFF_BUILD_DIR:-build}
  extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
if [[ ! -f $build/build.ninja ]]; then
  cmake -S . -B "$build" -G Ninja "${extra[@]}" >/dev/null
fi
ninja -C "$build" "$@"
