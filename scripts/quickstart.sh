#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run a real pod — an
# init container, then the app container, in a sandbox on the skiff bridge — from the busybox
# fixture image with the freshly built binaries. Every root is a temp dir, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
pod=(build/runtime/skiff pod --state-root "$work/pods" --run-root "$work/run" --log-root "$work/logs"
  --image-root "$work/images" --snapshot-root "$work/snapshots" --cni-conf-dir "$work/net.d"
  --cni-cache-dir "$work/cni" --cni-data-dir "$work/ipam")
cleanup() {
  "${pod[@]}" rm -f demo >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/fixtures/make-busybox-bundle.sh "$work/bb" --rootfs-only --oci-layout "$work/bb-oci" >/dev/null
SKIFF_IMAGE_ROOT="$work/images" build/runtime/skiff image import "$work/bb-oci" busybox:1.35
echo "+ skiff pod run --wait examples/demo.yaml"
"${pod[@]}" run --wait examples/demo.yaml
echo "+ skiff pod logs demo -c prepare; skiff pod logs demo -c app"
"${pod[@]}" logs demo -c prepare
"${pod[@]}" logs demo -c app
"${pod[@]}" rm demo >/dev/null
