#!/usr/bin/env bash
# down.sh — undoes up.sh, whatever state it stopped in: vagrant destroy, the box removed (and its
# base volume deleted from libvirt's pool), libvirtd, virtlogd, their dnsmasq and any qemu left
# stopped (by the pids in their pid files), the namespaces and $SKIFF_VAGRANT_RUN removed. The box
# cache of build-box.sh stays.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ "$(id -u)" -eq 0 ]] || { echo "down.sh: needs root" >&2; exit 1; }
[[ -e $vg_run || -e /run/netns/$vg_ns ]] || exit 0
lv="$vg_run/libvirt"
if [[ -S $lv/run/libvirt-sock ]]; then
  if [[ -d $VAGRANT_DOTFILE_PATH ]]; then
    vg_vagrant destroy -f >>"$vg_run/down.log" 2>&1
    vg_vagrant box remove --force --all "$vg_box_name" >>"$vg_run/down.log" 2>&1
  fi
  v() { vg_in virsh -q -c qemu:///system "$@" 2>/dev/null; }
  for d in $(v list --all --name); do v destroy "$d" >/dev/null; v undefine --remove-all-storage "$d" >/dev/null; done
  for vol in $(v vol-list default | awk '{print $1}'); do v vol-delete --pool default "$vol" >/dev/null; done
  for n in $(v net-list --all --name); do v net-destroy "$n" >/dev/null; v net-undefine "$n" >/dev/null; done
  v pool-destroy default >/dev/null
  v pool-undefine default >/dev/null
fi
# Processes started for the cluster, by their pid files: qemu, dnsmasq (libvirt's), the daemons.
stop_pidfile() {
  local f=$1 pid
  [[ -s $f ]] || return 0
  pid=$(tr -dc 0-9 <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
}
for f in "$lv"/run/qemu/*.pid "$lv"/run/network/*.pid "$vg_run/libvirtd.pid" "$vg_run/virtlogd.pid"; do
  [[ -e $f ]] && stop_pidfile "$f"
done
if [[ -e $vg_run/ns/mnt ]]; then
  umount "$vg_run/ns/mnt" 2>/dev/null
fi
mountpoint -q "$vg_run/ns" && umount "$vg_run/ns"
[[ -e /run/netns/$vg_ns ]] && ip netns del "$vg_ns"
[[ -e $vg_run/made-run-libvirt ]] && rmdir /run/libvirt 2>/dev/null
rm -rf "$vg_run"
[[ -e $vg_run || -e /run/netns/$vg_ns ]] && { echo "down.sh: could not remove $vg_run or netns $vg_ns" >&2; exit 1; }
exit 0
