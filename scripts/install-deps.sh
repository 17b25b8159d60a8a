#!/usr/bin/env bash
# Installs every Debian package skiff needs to build, test and benchmark. Idempotent: a second run
# with everything present does no apt work and prints nothing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git clang-format lld
  # libraries (see README: dependency table)
  libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libarchive-dev
  nlohmann-json3-dev libboost-dev libboost-system-dev libssl-dev libsqlite3-dev libyaml-cpp-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libnftables-dev zlib1g-dev
  # fixtures, peers and test tools
  busybox-static crun runc podman skopeo uidmap iproute2 procps psmisc jq util-linux
  fuse-overlayfs containers-storage time python3 strace zstd umoci
  # image pull: a real registry on loopback, htpasswd (bcrypt) users, a test CA
  docker-registry apache2-utils openssl
  # CNI: reference plugins (interop tests), nft (inspecting ipMasq tables), ping (connectivity)
  containernetworking-plugins nftables iputils-ping
  # WireGuard overlay: userspace backend, wg (bare-tunnel peer in the benchmark), iperf3
  wireguard-go wireguard-tools iperf3
  # pod benchmark peer: podman kube play builds its pause image from catatonit
  catatonit
  # VM lane (scripts/vm/run.sh): qemu, and cpio/kmod/xz to build the guest's initramfs and modules
  qemu-system-x86 cpio kmod xz-utils
  # containerd driving skiff (ctr --runc-binary); tests start their own daemon on a temp socket
  containerd
  # skiff-master's etcd store: tests and the benchmark start their own etcd on loopback
  etcd-server etcd-client
  # pod grpc probes: a real grpc.health.v1 server (grpc-core) in the kubelet's unit tests
  python3-grpcio
  # Vagrant cluster (scripts/vagrant): vagrant + its libvirt provider, libvirtd/virtlogd (started
  # by the scripts inside their own network namespace; the package's default network is not
  # autostarted), qemu-img, dnsmasq for the VM networks
  vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-utils dnsmasq-base ebtables
  # the offline Debian box (scripts/vagrant/build-box.sh): debootstrap, MBR + ext4 + extlinux
  debootstrap extlinux syslinux-common fdisk e2fsprogs
)
# kubectl 1.20 for skiff-master's e2e tests; left out where another package already owns
# /usr/bin/kubectl (dpkg would refuse to overwrite it): the test then uses that kubectl.
dpkg-query -S /usr/bin/kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
# Where that is another kubectl (e.g. a cloud SDK's 1.3x), Debian's 1.20 is unpacked into
# /opt/skiff-kubectl-1.20 (the e2e tests take it when /usr/bin/kubectl is not 1.20) without touching dpkg's database.
kubectl_120=/opt/skiff-kubectl-1.20
if dpkg-query -S /usr/bin/kubectl >/dev/null 2>&1 &&
  ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q 'install ok installed' &&
  [[ ! -x $kubectl_120/usr/bin/kubectl && $(id -u) -eq 0 ]]; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && { apt-get download kubernetes-client >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get download kubernetes-client >/dev/null; }; }); then
    dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$kubectl_120.partial" &&
      mv "$kubectl_120.partial" "$kubectl_120"
  fi
  rm -rf "$tmp" "$kubectl_120.partial"
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests run their own containerd (temp root, state and socket): the host's service, which the
# package enables where systemd runs, is stopped and disabled.
if [[ " ${missing[*]} " == *" containerd "* && -d /run/systemd/system ]]; then
  systemctl disable --now containerd.service >/dev/null 2>&1 || true
fi
# Likewise etcd: skiff-master's tests start their own on free loopback ports.
if [[ " ${missing[*]} " == *" etcd-server "* && -d /run/systemd/system ]]; then
  systemctl disable --now etcd.service >/dev/null 2>&1 || true
fi
