#!/usr/bin/env bash
# up.sh — the Vagrant cluster (master + SKIFF_WORKERS workers, default 2) on this host, isolated:
# a network namespace ($SKIFF_VAGRANT_NETNS, default skiffvg) and a mount namespace of their own
# hold libvirtd and virtlogd (started by hand: no systemd needed), with private libvirt dirs
# (/etc/libvirt copied, /run, /var/lib, /var/log, /var/cache/libvirt bound from
# $SKIFF_VAGRANT_RUN), a private VAGRANT_HOME, and every VM network; no packet reaches the host's
# own network. Builds the offline box (build-box.sh, cached) and the binaries' bundle (bundle.sh)
# unless SKIFF_VAGRANT_BOX / SKIFF_BUNDLE name them, adds the box, `vagrant up`. down.sh undoes
# all of it. Output of vagrant goes to $SKIFF_VAGRANT_RUN/up.log. SKIFF_VAGRANT_PROVISION=0: the VMs
# only (vagrant up --no-provision).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ "$(id -u)" -eq 0 ]] || { echo "up.sh: needs root (namespaces, libvirtd)" >&2; exit 1; }
for t in vagrant libvirtd virtlogd virsh qemu-system-x86_64 qemu-img nsenter unshare ip dnsmasq; do
  command -v "$t" >/dev/null || { echo "up.sh: \`$t' not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
if [[ -n ${SKIFF_VAGRANT_BOX:-} && ! -s $SKIFF_VAGRANT_BOX ]]; then
  echo "up.sh: SKIFF_VAGRANT_BOX: $SKIFF_VAGRANT_BOX does not exist or is empty (build-box.sh OUT.box makes one)" >&2
  exit 1
fi
if [[ -e $vg_run ]]; then
  echo "up.sh: $vg_run exists (a cluster is up, or was not torn down): run down.sh first" >&2
  exit 1
fi
t0=$SECONDS
mkdir -p "$vg_run"
# From here on a failure tears down what was made.
trap 'rc=$?; if ((rc)); then echo "up.sh: failed (rc $rc), tearing down; log: see above" >&2; tail -n 40 "$vg_run/up.log" >&2 2>/dev/null; "$vg_here/down.sh" >&2 || true; fi' EXIT
log="$vg_run/up.log"
: >"$log"

box=${SKIFF_VAGRANT_BOX:-}
if [[ -z $box ]]; then
  box="$vg_run/debian12.box"
  "$vg_here/build-box.sh" "$box"
fi
[[ -s $SKIFF_BUNDLE ]] || "$vg_here/bundle.sh" "$SKIFF_BUNDLE"

# --- namespaces ---
ip netns add "$vg_ns"
ip -n "$vg_ns" link set lo up
mkdir -p "$vg_run/ns"
mount --bind "$vg_run/ns" "$vg_run/ns"
mount --make-private "$vg_run/ns"
touch "$vg_run/ns/mnt"
[[ -d /run/libvirt ]] || { mkdir -p /run/libvirt && touch "$vg_run/made-run-libvirt"; }
lv="$vg_run/libvirt"
mkdir -p "$lv"/{run,lib/images,log/qemu,cache}
cp -a /etc/libvirt "$lv/etc"
rm -f "$lv"/etc/qemu/networks/*.xml "$lv"/etc/qemu/networks/autostart/*.xml
# root runs qemu (no libvirt-qemu user needed), no security driver (no AppArmor/SELinux here), and
# clients on the private socket need no polkit.
printf 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\n' >>"$lv/etc/qemu.conf"
printf 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n' >>"$lv/etc/libvirtd.conf"
nsenter --net="/run/netns/$vg_ns" unshare --mount="$vg_run/ns/mnt" --propagation private \
  bash -c '
    set -e
    lv=$1
    mount --bind "$lv/etc" /etc/libvirt
    mount --bind "$lv/run" /run/libvirt
    mount --bind "$lv/lib" /var/lib/libvirt
    mount --bind "$lv/log" /var/log/libvirt
    mount --bind "$lv/cache" /var/cache/libvirt
    sysctl -q -w net.ipv4.ip_forward=1' _ "$lv"
vg_in virtlogd -d -p "$vg_run/virtlogd.pid"
vg_in libvirtd -d -p "$vg_run/libvirtd.pid"
for _ in $(seq 1 100); do
  vg_in virsh -q -c qemu:///system version >/dev/null 2>&1 && break
  sleep 0.1
done
vg_in virsh -q -c qemu:///system version >/dev/null
vg_in virsh -q -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
vg_in virsh -q -c qemu:///system pool-start default >/dev/null
echo "up.sh: libvirtd in netns $vg_ns ($((SECONDS - t0)) s)"

# --- vagrant ---
t1=$SECONDS
vg_vagrant box add --force --name "$vg_box_name" "$box" >>"$log"
echo "up.sh: box added ($((SECONDS - t1)) s)"
t1=$SECONDS
up_args=(--provider libvirt)
[[ ${SKIFF_VAGRANT_PROVISION:-1} == 0 ]] && up_args+=(--no-provision)
if ! vg_vagrant up "${up_args[@]}" >>"$log"; then
  echo "up.sh: vagrant up failed" >&2
  exit 1
fi
echo "up.sh: vagrant up: master + ${SKIFF_WORKERS:-2} workers provisioned ($((SECONDS - t1)) s; $((SECONDS - t0)) s in all)"
