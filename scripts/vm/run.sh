#!/usr/bin/env bash
# Runs a command as root inside a throw-away VM with Debian's own kernel: pure cgroup v2 (every
# controller enabled), kernel WireGuard, veth/bridge/overlay/nf_tables loaded, and this host's root
# filesystem shared read-only (virtio-9p) under a tmpfs overlay, so the build tree and the host's
# packages are usable inside and nothing the guest writes reaches the host.
#
#   scripts/vm/run.sh [--mem MB] [--smp N] [--timeout S] -- CMD [ARG…]
#
# CMD runs in the current directory with PATH and the SKIFF_*/GTEST_* variables passed on; its
# stdout and stderr stream back (virtio-serial, no terminal) and its exit code is ours. Exit codes
# of our own: 77 the VM cannot run here (no qemu, kernel package not fetchable, guest never booted;
# the reason is printed), 124 the guest hung past --timeout (killed, console tail printed), 125 the
# guest died before reporting an exit code.
#
# Debian's kernel is fetched once (apt-get download linux-image-amd64 and the linux-image-6.1.0-NN
# it depends on) into $SKIFF_VM_CACHE (default /var/cache/skiff-vm): modules unpacked and depmod'ed,
# vmlinux extracted from vmlinuz (qemu boots the ELF through its PVH entry: no XZ decompression
# under emulation), a small initramfs (static busybox, scripts/vm/init, the 9p/overlay modules).
# Acceleration: SKIFF_VM_ACCEL=tcg|kvm|auto (default auto: KVM only if a probe guest really boots
# with it — nested KVM often hangs — remembered per host kernel; else TCG).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SKIFF_VM_CACHE:-/var/cache/skiff-vm}
mem=2048 smp=1 timeout_s=1800

usage() {
  echo "usage: scripts/vm/run.sh [--mem MB] [--smp N] [--timeout S] -- CMD [ARG...]" >&2
  exit 2
}
number() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "vm: $1 wants a positive number, got '$2'" >&2; exit 2; }; }
while (($#)); do
  case $1 in
    --mem) number "$1" "${2-}"; mem=$2; shift 2 ;;
    --smp) number "$1" "${2-}"; smp=$2; shift 2 ;;
    --timeout) number "$1" "${2-}"; timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
(($#)) || usage

skip() { echo "vm: SKIP: $*" >&2; exit 77; }
# The guest reads its command script from the cache through the 9p share; it mounts fresh /tmp,
# /run, /dev, /proc and /sys, so the cache must live elsewhere.
case $cache/ in
  /tmp/* | /run/* | /dev/* | /proc/* | /sys/* | /var/run/*)
    echo "vm: SKIFF_VM_CACHE '$cache' is hidden from the guest (fresh /tmp, /run, /dev): choose" \
      "another directory" >&2
    exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || skip "needs root (apt-get download into $cache, 9p export of /)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/install-deps.sh)"
for t in cpio depmod dpkg-deb xz; do command -v $t >/dev/null || skip "$t not installed"; done
[[ -x /bin/busybox ]] && busybox --list 2>/dev/null | grep -qx switch_root ||
  skip "static busybox not installed (busybox-static)"

# Extracts the ELF vmlinux from a bzImage: find the compressed payload's magic (the kernel's
# scripts/extract-vmlinux does the same for every compressor; Debian's is XZ) and unpack from there.
extract_vmlinux() {
  local img=$1 out=$2 off
  for off in $(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$img" | cut -d: -f1); do
    tail -c +$((off + 1)) "$img" | xz -dc >"$out" 2>/dev/null || true
    [[ $(head -c 4 "$out" | od -An -c | tr -d ' ') == '177ELF' ]] && return 0
  done
  return 1
}

# Kernel: downloaded, unpacked, depmod'ed, vmlinux extracted; once, under a lock.
prepare_kernel() {
  local k=$cache/kernel
  [[ -f $k/ready ]] && return 0
  rm -rf "$k" "$cache/dl" && mkdir -p "$cache/dl"
  chmod 755 "$cache/dl"
  (cd "$cache/dl" && apt-get download -q linux-image-amd64 >/dev/null 2>&1) ||
    { rm -rf "$cache/dl"; return 1; }
  local dep
  dep=$(dpkg-deb -f "$cache"/dl/linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -1)
  [[ -n $dep ]] || { echo "vm: linux-image-amd64 depends on no kernel image" >&2; return 1; }
  (cd "$cache/dl" && apt-get download -q "$dep" >/dev/null 2>&1) || { rm -rf "$cache/dl"; return 1; }
  mkdir -p "$k/root"
  dpkg-deb -x "$cache"/dl/"$dep"_*.deb "$k/root"
  local ver
  ver=$(ls "$k/root/lib/modules")
  depmod -b "$k/root" "$ver"
  extract_vmlinux "$k/root/boot/vmlinuz-$ver" "$k/vmlinux" ||
    { echo "vm: no ELF kernel found inside vmlinuz-$ver" >&2; return 1; }
  echo "$ver" >"$k/version"
  rm -rf "$cache/dl" "$k/root/boot/vmlinuz-$ver"
  touch "$k/ready"
}

# Initramfs: static busybox, our init, and the modules needed to reach the host's root (virtio
# PCI and console, 9p, overlay) in load order. Rebuilt when the init scripts change.
initramfs_modules=(virtio_pci virtio_console 9pnet_virtio 9p overlay)
prepare_initramfs() {
  local ver=$1 hash dir m
  hash=$(cat "$here/init" "$here/init.stage2" <(echo "$ver ${initramfs_modules[*]}") |
    sha256sum | cut -c1-16)
  initrd=$cache/initramfs-$hash.cpio
  [[ -f $initrd ]] && return 0
  dir=$(mktemp -d "$cache/initramfs.XXXXXX")
  mkdir -p "$dir"/{bin,dev,proc,sys,modules}
  cp /bin/busybox "$dir/bin/busybox"
  cp "$here/init" "$dir/init" && cp "$here/init.stage2" "$dir/init.stage2"
  chmod 755 "$dir/init" "$dir/init.stage2"
  for m in $(modprobe -d "$cache/kernel/root" -S "$ver" --show-depends -a \
      "${initramfs_modules[@]}" | awk '$1 == "insmod" {print $2}'); do
    grep -qx "${m##*/}" "$dir/modules/order" 2>/dev/null && continue
    cp "$m" "$dir/modules/" && echo "${m##*/}" >>"$dir/modules/order"
  done
  (cd "$dir" && find . | cpio -o -H newc --quiet) >"$initrd.tmp"
  rm -f "$cache"/initramfs-*.cpio  # older builds of the init scripts
  mv "$initrd.tmp" "$initrd"
  rm -rf "$dir"
}

mkdir -p "$cache/runs"
exec {lock}>"$cache/.lock"
flock "$lock"
command -v modprobe >/dev/null || skip "kmod not installed (modprobe, depmod)"
prepare_kernel || skip "cannot fetch Debian's kernel (apt-get download linux-image-amd64)"
kver=$(cat "$cache/kernel/version")
prepare_initramfs "$kver"
flock -u "$lock"

# KVM only where a guest really boots with it (remembered per host kernel).
accel=${SKIFF_VM_ACCEL:-auto}
if [[ $accel == auto ]]; then
  accel=tcg
  kvm_note=$cache/kvm-$(uname -r)
  if [[ -r /dev/kvm && -w /dev/kvm ]]; then
    if [[ ! -f $kvm_note ]]; then
      if SKIFF_VM_ACCEL=kvm "$0" --mem 256 --timeout 30 -- true >/dev/null 2>&1; then
        echo kvm >"$kvm_note"
      else
        echo tcg >"$kvm_note"
      fi
    fi
    accel=$(cat "$kvm_note")
  fi
fi
case $accel in
  kvm) cpu=(-enable-kvm -cpu host) ;;
  tcg) cpu=(-accel tcg -cpu qemu64,+cx16,+lahf-lm,+popcnt,+pni,+sse4.1,+sse4.2,+ssse3) ;;
  *) echo "vm: SKIFF_VM_ACCEL must be tcg, kvm or auto, got '$accel'" >&2; exit 2 ;;
esac

run=$(mktemp -d "$cache/runs/run.XXXXXX")
qemu_pid= readers=()
cleanup() {
  [[ -n $qemu_pid ]] && kill -9 "$qemu_pid" 2>/dev/null
  ((${#readers[@]})) && kill "${readers[@]}" 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest mounts fresh /tmp, /run and /dev/shm: a working directory below them (a CI clone in
# /tmp) is shown to the guest again (skiffvm.keep=).
keep=
case $PWD in
  /tmp/* | /run/* | /var/run/* | /dev/shm/*)
    [[ $PWD != *[[:space:]]* ]] || { echo "vm: the working directory '$PWD' has white space" >&2; exit 2; }
    keep=$PWD ;;
esac

# The command, as the guest's /bin/sh will run it.
{
  echo "cd $(printf %q "$PWD") || exit 125"
  while IFS= read -r v; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done < <(compgen -e | grep -E '^(PATH|SKIFF_[A-Z0-9_]*|GTEST_[A-Z0-9_]*|CTEST_[A-Z0-9_]*)$')
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$run/cmd.sh"

# A small unformatted scratch disk (virtio-blk, /dev/vda in the guest): a real block device for
# the io controller's tests (io.max, io.weight), which have none on a 9p root.
truncate -s 16M "$run/disk.raw"
mkfifo "$run/stdout" "$run/stderr"
# Our own read-write end of each FIFO, held until qemu is gone: the readers' open(2) returns at
# once and they end even when qemu never opens the ports (it did not start: was a hang forever).
exec {hold_out}<>"$run/stdout" {hold_err}<>"$run/stderr"
cat "$run/stdout" {hold_out}>&- {hold_err}>&- & readers+=($!)
cat "$run/stderr" >&2 {hold_out}>&- {hold_err}>&- & readers+=($!)
: >"$run/status"

timeout -k 5 "$timeout_s" qemu-system-x86_64 -nodefaults -no-user-config -display none \
  -machine pc "${cpu[@]}" -m "$mem" -smp "$smp" -no-reboot \
  -kernel "$cache/kernel/vmlinux" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 cryptomgr.notests=1 mitigations=off skiffvm.run=$run/cmd.sh skiffvm.modules=$cache/kernel/root/lib/modules/$kver${keep:+ skiffvm.keep=$keep}" \
  -serial "file:$run/console.log" \
  -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -drive "file=$run/disk.raw,if=virtio,format=raw,cache=unsafe" \
  -device virtio-serial-pci \
  -chardev "file,id=out,path=$run/stdout" -device virtserialport,chardev=out,name=skiff.stdout \
  -chardev "file,id=err,path=$run/stderr" -device virtserialport,chardev=err,name=skiff.stderr \
  -chardev "file,id=st,path=$run/status" -device virtserialport,chardev=st,name=skiff.status \
  </dev/null >"$run/qemu.log" 2>&1 {hold_out}>&- {hold_err}>&- &
qemu_pid=$!
set +e
wait "$qemu_pid"
qemu_rc=$?
set -e
qemu_pid=
# Now the readers see EOF once qemu's ends are closed too.
exec {hold_out}>&- {hold_err}>&-
wait "${readers[@]}" 2>/dev/null
readers=()

console_tail() {
  echo "vm: --- qemu ---" >&2
  tail -n 5 "$run/qemu.log" >&2
  echo "vm: --- guest console (last 30 lines) ---" >&2
  tail -n 30 "$run/console.log" >&2 2>/dev/null || echo "(none: qemu did not start)" >&2
}
code=$(sed -n 's/^exit \([0-9]*\)$/\1/p' "$run/status" | tail -1)
if [[ -n $code ]]; then
  exit "$code"
fi
if ((qemu_rc == 124 || qemu_rc == 137)); then
  echo "vm: guest hung: killed after ${timeout_s}s" >&2
  console_tail
  exit 124
fi
if ! grep -qx init "$run/status"; then
  console_tail
  skip "qemu ($accel) did not boot the guest (qemu exit $qemu_rc)"
fi
echo "vm: guest died before reporting an exit code (qemu exit $qemu_rc)" >&2
console_tail
exit 125
