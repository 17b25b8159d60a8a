# shellcheck shell=bash
# Sourced by up.sh, down.sh and test.sh: where the isolated Vagrant environment lives.
#   SKIFF_VAGRANT_RUN   its state: libvirt's private dirs, VAGRANT_HOME, Vagrant's dot-file dir,
#                       the mount-namespace handle (default /var/tmp/skiff-vagrant/run)
#   SKIFF_VAGRANT_NETNS the network namespace libvirtd, vagrant and every VM network live in
#                       (default skiffvg)
# vg_in CMD… runs CMD inside both namespaces (nsenter --net, so /sys keeps its cgroup mounts).
vg_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vg_run=${SKIFF_VAGRANT_RUN:-/var/tmp/skiff-vagrant/run}
vg_ns=${SKIFF_VAGRANT_NETNS:-skiffvg}
vg_box_name=skiff/debian12-offline
export VAGRANT_HOME="$vg_run/vagrant-home" VAGRANT_DOTFILE_PATH="$vg_run/dot" VAGRANT_CWD="$vg_here"
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
export VAGRANT_NO_COLOR=1
export SKIFF_BOX=$vg_box_name SKIFF_BUNDLE=${SKIFF_BUNDLE:-$vg_run/bundle.tar.gz}
# KVM opens on some hosts (this CI's) where its guests hang (nested virtualization): software
# emulation unless told otherwise.
export SKIFF_LIBVIRT_DRIVER=${SKIFF_LIBVIRT_DRIVER:-qemu}
vg_in() { nsenter --mount="$vg_run/ns/mnt" --net="/run/netns/$vg_ns" "$@"; }
# vagrant in the namespaces, its progress-bar lines (\r) dropped from the output.
# Each line stamped with the time of day; the status is vagrant's (the callers set pipefail).
vg_vagrant() {
  vg_in vagrant "$@" 2>&1 | stdbuf -oL tr '\r' '\n' | sed -u -e 's/\x1b\[[0-9;]*[A-Za-z]//g' \
    -e '/^[[:space:]]*Progress:/d' -e '/^[[:space:]]*$/d' | while IFS= read -r l; do printf '%(%T)T %s\n' -1 "$l"; done
}
