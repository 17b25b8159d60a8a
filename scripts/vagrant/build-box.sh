#!/usr/bin/env bash
# build-box.sh OUT.box — an offline Debian 12 (bookworm) Vagrant box for the libvirt provider, built
# from Debian packages only (debootstrap from the mirror configured in /etc/apt/sources.list(.d); no
# other network): minbase + systemd, Debian's kernel, openssh-server, sudo, ifupdown + dhclient (so
# Vagrant can configure private networks), a `vagrant` user with passwordless sudo and Vagrant's
# insecure public key, and what skiff needs at run time (see RUNTIME below). The disk is MBR with one
# ext4 partition booted by extlinux (kernel options `console=ttyS0 net.ifnames=0`), packed as a tar
# of box.img (qcow2) + metadata.json + Vagrantfile.
#
# Cached under $SKIFF_VAGRANT_CACHE (default /var/tmp/skiff-vagrant/cache): the downloaded .debs
# (debootstrap --cache-dir) and the finished box, keyed by this script's content and the mirror; a
# second run with nothing changed copies the cached box (~1 s). Needs root, debootstrap, sfdisk,
# mkfs.ext4, extlinux, qemu-img.
set -euo pipefail

usage() {
  echo "usage: $0 OUT.box" >&2
  exit 2
}
[[ $# -eq 1 && -n $1 ]] || usage
out=$1
[[ "$(id -u)" -eq 0 ]] || { echo "build-box: needs root (debootstrap, loop devices, mounts)" >&2; exit 1; }
for t in debootstrap sfdisk mkfs.ext4 extlinux qemu-img losetup chroot; do
  command -v "$t" >/dev/null || { echo "build-box: \`$t' not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
mbr=/usr/lib/EXTLINUX/mbr.bin
[[ -r $mbr ]] || { echo "build-box: $mbr missing (package extlinux)" >&2; exit 1; }

# The Debian mirror the host's apt uses (deb822 .sources or one-line sources.list), or
# SKIFF_DEBIAN_MIRROR.
mirror=${SKIFF_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }') || true
fi
if [[ -z $mirror ]]; then
  mirror=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u != "" { print u; exit }' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null) || true
fi
[[ -n $mirror ]] || { echo "build-box: no bookworm mirror in /etc/apt/sources.list(.d); set SKIFF_DEBIAN_MIRROR" >&2; exit 1; }

vagrant_pub=${SKIFF_VAGRANT_PUBKEY:-}
if [[ -z $vagrant_pub ]]; then
  vagrant_pub=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
    /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n1) || true
fi
[[ -r $vagrant_pub ]] || { echo "build-box: Vagrant's insecure key (keys/vagrant.pub) not found; set SKIFF_VAGRANT_PUBKEY" >&2; exit 1; }

# The base system and what skiff needs at run time: shared libraries of the binaries (libseccomp,
# libcap, libarchive, OpenSSL, SQLite, yaml-cpp, libnftables), and the tools the node uses
# (iproute2, nftables, wireguard-tools, kmod for the kernel WireGuard module, ping, kubectl on the
# master).
BASE=systemd-sysv,linux-image-amd64,openssh-server,sudo,ifupdown,isc-dhcp-client,ca-certificates
RUNTIME=libseccomp2,libcap2,libarchive13,libssl3,libsqlite3-0,libyaml-cpp0.7,libnftables1,iproute2,nftables,wireguard-tools,kmod,iputils-ping,procps,kubernetes-client
cache=${SKIFF_VAGRANT_CACHE:-/var/tmp/skiff-vagrant/cache}
mkdir -p "$cache/debs"
key=$( { cat "${BASH_SOURCE[0]}"; echo "$mirror"; cat "$vagrant_pub"; } | sha256sum | cut -c1-16)
cached="$cache/debian12-$key.box"
if [[ -s $cached ]]; then
  cp --reflink=auto "$cached" "$out"
  echo "build-box: $out (cached $cached)"
  exit 0
fi

work=$(mktemp -d /var/tmp/skiff-vagrant-box.XXXXXX)
loop="" mnt="$work/mnt"
cleanup() {
  set +e
  for m in "$mnt/dev/pts" "$mnt/dev" "$mnt/proc" "$mnt/sys" "$mnt" "$work/root/proc" "$work/root/sys" "$work/root/dev"; do
    mountpoint -q "$m" && umount -l "$m"
  done
  [[ -n $loop ]] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS
log="$work/debootstrap.log"

# --- root filesystem ---
root="$work/root"
echo "build-box: debootstrap bookworm from $mirror"
if ! debootstrap --variant=minbase --components=main --cache-dir="$cache/debs" \
  --include="$BASE,$RUNTIME" bookworm "$root" "$mirror" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  echo "build-box: debootstrap failed" >&2
  exit 1
fi
kver=$(basename "$(ls -d "$root"/lib/modules/* | head -n1)")
[[ -f $root/boot/vmlinuz-$kver && -f $root/boot/initrd.img-$kver ]] || {
  echo "build-box: kernel $kver or its initramfs missing in the root" >&2
  exit 1
}

echo "vagrant" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvagrant\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cat >"$root/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
EOF
# Every VM its own machine-id and SSH host keys (made at first boot, ed25519 + ecdsa: an RSA key
# takes ~22 s under TCG; Debian's ssh.service checks its keys before starting, so the unit that
# makes them runs before it).
: >"$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
cat >"$root/etc/ssh/sshd_config.d/skiff-box.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
UseDNS no
EOF
cat >"$root/etc/systemd/system/skiff-ssh-hostkeys.service" <<'EOF'
[Unit]
Description=SSH host keys (ed25519, ecdsa) at first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/skiff-ssh-hostkeys.service \
  "$root/etc/systemd/system/multi-user.target.wants/skiff-ssh-hostkeys.service"
chroot "$root" useradd -m -s /bin/bash -U vagrant
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"
install -d -m 0700 -o "$(chroot "$root" id -u vagrant)" -g "$(chroot "$root" id -g vagrant)" "$root/home/vagrant/.ssh"
install -m 0600 -o "$(chroot "$root" id -u vagrant)" -g "$(chroot "$root" id -g vagrant)" "$vagrant_pub" \
  "$root/home/vagrant/.ssh/authorized_keys"
# The guest's WireGuard is the kernel's: load the module at boot.
echo wireguard >"$root/etc/modules-load.d/skiff-wireguard.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"

# --- disk: MBR, one ext4 partition, extlinux ---
img="$work/disk.raw"
size_mb=4096
truncate -s "${size_mb}M" "$img"
echo 'start=2048, type=83, bootable' | sfdisk -q "$img"
# No udev here: a loop device over the partition itself (offset 1 MiB) instead of partition nodes.
loop=$(losetup -f --show -o $((2048 * 512)) --sizelimit $(((size_mb - 1) * 1024 * 1024)) "$img")
mkfs.ext4 -q -L skiffroot -O ^64bit -E lazy_itable_init=0 "$loop"
uuid=$(blkid -s UUID -o value "$loop")
mkdir -p "$mnt"
mount "$loop" "$mnt"
# File capabilities too (ping's cap_net_raw).
tar -C "$root" --xattrs --xattrs-include='*' -cf - . | tar -C "$mnt" --xattrs --xattrs-include='*' -xpf -
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$mnt/etc/fstab"
mkdir -p "$mnt/boot/extlinux"
cat >"$mnt/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
PROMPT 0
TIMEOUT 1
LABEL debian
  LINUX /boot/vmlinuz-$kver
  INITRD /boot/initrd.img-$kver
  APPEND root=UUID=$uuid ro console=ttyS0 net.ifnames=0
EOF
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1
sync
umount "$mnt"
losetup -d "$loop"
loop=""
dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none

# --- pack ---
mkdir -p "$work/box"
qemu-img convert -c -O qcow2 "$img" "$work/box/box.img"
rm -f "$img"
cat >"$work/box/metadata.json" <<EOF
{"provider": "libvirt", "format": "qcow2", "virtual_size": $((size_mb / 1024))}
EOF
cat >"$work/box/Vagrantfile" <<'EOF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
EOF
tar -C "$work/box" -cf "$cached.tmp" metadata.json Vagrantfile box.img
mv "$cached.tmp" "$cached"
# Older cached boxes of this script are of no use any more.
find "$cache" -maxdepth 1 -name 'debian12-*.box' ! -name "debian12-$key.box" -delete
cp --reflink=auto "$cached" "$out"
echo "build-box: $out ($(du -m "$out" | cut -f1) MiB, kernel $kver, $((SECONDS - start)) s)"
