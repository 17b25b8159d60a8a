#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run a real container
# from a busybox bundle with the freshly built runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
trap 'build/runtime/skiff --root "$work/state" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
scripts/fixtures/make-busybox-bundle.sh "$work/bundle" \
  --args 'sh -c "echo hello from skiff: $(hostname), pid $$, $(id -u):$(id -g); cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"'
# A 64 MiB memory limit, so the demo shows a cgroup at work.
jq '.linux.resources.memory = {"limit": 67108864}' "$work/bundle/config.json" >"$work/c.json"
mv "$work/c.json" "$work/bundle/config.json"
echo "+ skiff run --bundle $work/bundle demo"
build/runtime/skiff --root "$work/state" run --bundle "$work/bundle" demo
