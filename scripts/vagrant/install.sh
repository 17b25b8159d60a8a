#!/usr/bin/env bash
# Guest side, as root (Vagrant's shell provisioner): install skiff from the bundle made by
# bundle.sh (binaries under /opt/skiff/bin, linked into /usr/local/bin; the busybox fixture image
# imported into the node's image store), and make sure what skiff needs at run time is there
# (installed with apt-get where the box lacks it and has a package source; the offline test box
# of build-box.sh has it all). Kernel WireGuard for the overlay, IPv4 forwarding for pods.
set -euo pipefail
bundle=${1:?usage: install.sh BUNDLE.tar.gz}
[[ -s $bundle ]] || { echo "install.sh: bundle $bundle missing or empty" >&2; exit 1; }

# Run-time needs: the binaries' shared libraries and the tools the node and master use.
need=(libseccomp2 libcap2 libarchive13 libssl3 libsqlite3-0 libyaml-cpp0.7 libnftables1 iproute2
  nftables wireguard-tools kmod iputils-ping procps kubernetes-client)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    { echo "install.sh: cannot install ${missing[*]} (no package source?)" >&2; exit 1; }
fi

rm -rf /opt/skiff.new
mkdir -p /opt/skiff.new
tar -C /opt/skiff.new -xzf "$bundle"
[[ -x /opt/skiff.new/bin/skiff-kubelet && -x /opt/skiff.new/bin/skiff-master ]] ||
  { echo "install.sh: $bundle has no bin/skiff-kubelet or bin/skiff-master" >&2; rm -rf /opt/skiff.new; exit 1; }
rm -rf /opt/skiff.old
[[ -d /opt/skiff ]] && mv /opt/skiff /opt/skiff.old
mv /opt/skiff.new /opt/skiff
rm -rf /opt/skiff.old
for b in /opt/skiff/bin/*; do ln -sfn "$b" "/usr/local/bin/$(basename "$b")"; done
rm -f "$bundle"

# Every binary finds its libraries (a box without one fails here, by name, not at the first pod).
if ldd /opt/skiff/bin/* 2>/dev/null | grep 'not found'; then
  echo "install.sh: shared libraries missing (above)" >&2
  exit 1
fi

modprobe wireguard 2>/dev/null || echo "install.sh: no kernel WireGuard module (skiff-net will need wireguard-go)"
echo wireguard >/etc/modules-load.d/skiff-wireguard.conf
echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-skiff.conf
sysctl -q -w net.ipv4.ip_forward=1

for oci in /opt/skiff/images/*; do
  [[ -d $oci ]] || continue
  name=$(cat "$oci.name" 2>/dev/null || basename "$oci")
  skiff image import --image-root /var/lib/skiff/images "$oci" "$name" >/dev/null
done
echo "install.sh: $(skiff --version 2>/dev/null | head -n1) installed on $(hostname)"
