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
# Configure every time (about a second): a build dir made by an older tree regenerates cleanly.
cmake -S . -B "$build" -G Ninja "${extra[@]}" >/dev/null
ninja -C "$build" "$@"
