#!/usr/bin/env bash
# bundle.sh [OUT.tar.gz] — the skiff binaries the guests run, from the build tree (SKIFF_BUILD,
# default build/): skiff, skiff-pull, skiff-pod, skiff-shim, skiff-pause, skiff-kubelet, skiff-master, skiff-net
# and the CNI plugins, with debug info stripped, under bin/; and the busybox:1.35 fixture image
# (scripts/fixtures/make-busybox-bundle.sh, from the host's busybox-static) under images/, which
# install.sh imports so pods run with no registry. Default OUT: build/skiff-vagrant-bundle.tar.gz.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=$(realpath "${SKIFF_BUILD:-$repo/build}")
out=${1:-$build/skiff-vagrant-bundle.tar.gz}

bins=(runtime/skiff runtime/skiff-pull kubelet/skiff-pod kubelet/skiff-shim kubelet/skiff-pause kubelet/skiff-kubelet
  master/skiff-master cni/skiff-net)
for p in "$build"/cni/skiff-*; do
  [[ -f $p && -x $p ]] && bins+=("cni/$(basename "$p")")
done
for b in "${bins[@]}"; do
  [[ -f $build/$b && -x $build/$b ]] || { echo "bundle.sh: $build/$b not built (ninja -C $build)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/skiff-vagrant-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/images"
for b in "${bins[@]}"; do
  name=$(basename "$b")
  [[ -e $work/bin/$name ]] && continue
  strip --strip-debug -o "$work/bin/$name" "$build/$b"
done
"$repo/scripts/fixtures/make-busybox-bundle.sh" "$work/bb" --rootfs-only --oci-layout "$work/images/busybox" \
  >"$work/fixture.log" 2>&1 || { cat "$work/fixture.log" >&2; echo "bundle.sh: busybox fixture failed" >&2; exit 1; }
echo busybox:1.35 >"$work/images/busybox.name"
mkdir -p "$(dirname "$out")"
tar -C "$work" -czf "$out.tmp" bin images
mv "$out.tmp" "$out"
echo "bundle.sh: $out ($(du -k "$out" | cut -f1) KiB, $(ls "$work/bin" | wc -l) binaries)"
