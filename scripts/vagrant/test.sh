#!/usr/bin/env bash
# test.sh — the Vagrant cluster end to end (issue 9's cross-node subset): up.sh brings up master +
# 2 workers from the offline box (build-box.sh) and the built binaries (bundle.sh), each VM
# provisioned by the Vagrantfile's scripts, all inside a network namespace and a mount namespace of
# its own (unique per run). Then, through `vagrant ssh`: both workers Ready with their private
# addresses as InternalIP and a pod CIDR each, their WireGuard keys published; two busybox pods,
# one per worker, Running with addresses from their node's pod CIDR, ping each other across the
# overlay (kernel WireGuard: the tunnel's counters move); then down.sh, and nothing is left (netns,
# state dir, daemons). Exit 77 (skip, reason printed) without root, vagrant + vagrant-libvirt,
# libvirt, qemu, the box tools or the binaries. Takes minutes under software emulation: a `slow`
# test, not in the default suite (see README, Cluster: Vagrant).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (namespaces, libvirtd, loop devices)"
for t in vagrant libvirtd virtlogd virsh qemu-system-x86_64 qemu-img dnsmasq debootstrap extlinux sfdisk mkfs.ext4 jq nsenter; do
  command -v "$t" >/dev/null || skip "\`$t' not installed (scripts/install-deps.sh)"
done
vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt || skip "the vagrant-libvirt plugin is not installed"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (VM network taps)"
build=$(realpath "${SKIFF_BUILD:-$repo/build}")
for b in runtime/skiff kubelet/skiff-pod kubelet/skiff-shim kubelet/skiff-kubelet master/skiff-master cni/skiff-net cni/skiff-bridge cni/skiff-ipam; do
  [[ -x $build/$b ]] || skip "\`$build/$b' not built"
done

export SKIFF_VAGRANT_RUN="/var/tmp/skiff-vagrant/test-$$" SKIFF_VAGRANT_NETNS="skvt$(($$ % 100000))"
export SKIFF_WORKERS=2 SKIFF_MEMORY=${SKIFF_MEMORY:-512}
unset SKIFF_BUNDLE
source "$repo/scripts/vagrant/lib.sh"
cleanup() { "$repo/scripts/vagrant/down.sh"; }
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
vm() {  # vm NAME CMD: CMD as root on VM NAME
  vg_in vagrant ssh "$1" --no-tty -c "sudo bash -c $(printf %q "$2")" 2>&1 | tr -d '\r'
  return "${PIPESTATUS[0]}"
}

t0=$SECONDS
if ! "$repo/scripts/vagrant/up.sh"; then
  fail "up.sh (vagrant up of master + 2 workers)"
  exit 1
fi
t_up=$((SECONDS - t0))
pass "vagrant up: master + 2 workers provisioned in ${t_up}s"

t1=$SECONDS
if vm master 'timeout 300 sh -c "until kubectl get node worker1 worker2 >/dev/null 2>&1; do sleep 2; done" &&
    kubectl wait --for=condition=Ready node/worker1 node/worker2 --timeout=300s' >/dev/null; then
  pass "both workers Ready ($((SECONDS - t1))s after up)"
else
  fail "workers Ready"
  vm master 'kubectl get nodes -o wide; journalctl -u skiff-master --no-pager | tail -n 20'
  vm worker1 'journalctl -u skiff-kubelet --no-pager | tail -n 30'
  exit 1
fi
nodes=$(vm master 'kubectl get nodes -o json')
for i in 1 2; do
  n=$(jq -c --arg n "worker$i" '.items[] | select(.metadata.name == $n)' <<<"$nodes")
  ip=$(jq -r '.status.addresses[] | select(.type == "InternalIP") | .address' <<<"$n")
  [[ $ip == "192.168.56.1$i" ]] && pass "worker$i's InternalIP is its private address ($ip)" ||
    fail "worker$i InternalIP '$ip'"
  declare "cidr$i=$(jq -r '.spec.podCIDR' <<<"$n")"
  key=$(jq -r '.metadata.annotations["skiff.dev/wireguard-public-key"] // empty' <<<"$n")
  [[ -n $key ]] && pass "worker$i publishes its WireGuard key" || fail "worker$i WireGuard key annotation"
done
[[ -n $cidr1 && -n $cidr2 && $cidr1 != "$cidr2" ]] && pass "pod CIDRs $cidr1, $cidr2" || fail "pod CIDRs '$cidr1' '$cidr2'"

vm master 'cat <<YAML | kubectl apply -f -
apiVersion: v1
kind: Pod
metadata: {name: ping1}
spec:
  nodeSelector: {kubernetes.io/hostname: worker1}
  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: "busybox:1.35", imagePullPolicy: Never, command: [sh, -c, "trap \"exit 0\" TERM; sleep 3600 & wait"]}
---
apiVersion: v1
kind: Pod
metadata: {name: ping2}
spec:
  nodeSelector: {kubernetes.io/hostname: worker2}
  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: "busybox:1.35", imagePullPolicy: Never, command: [sh, -c, "trap \"exit 0\" TERM; sleep 3600 & wait"]}
YAML' >/dev/null || fail "kubectl apply of the pods"
t1=$SECONDS
running='timeout 300 sh -c "until [ \"\$(kubectl get pod ping1 ping2 -o jsonpath={.items[*].status.phase})\" = \"Running Running\" ]; do sleep 2; done"'
if vm master "$running" >/dev/null; then
  pass "pods Running on worker1 and worker2 ($((SECONDS - t1))s)"
else
  fail "pods Running"
  vm master 'kubectl get pods -o wide; kubectl describe pods'
fi
pods=$(vm master 'kubectl get pods -o json')
ip1=$(jq -r '.items[] | select(.metadata.name == "ping1") | .status.podIP' <<<"$pods")
ip2=$(jq -r '.items[] | select(.metadata.name == "ping2") | .status.podIP' <<<"$pods")
on1=$(jq -r '.items[] | select(.metadata.name == "ping1") | .spec.nodeName' <<<"$pods")
on2=$(jq -r '.items[] | select(.metadata.name == "ping2") | .spec.nodeName' <<<"$pods")
[[ $on1 == worker1 && $on2 == worker2 ]] && pass "ping1 on $on1, ping2 on $on2" || fail "pods on '$on1' '$on2'"
in_cidr() { python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$@" 2>/dev/null; }
in_cidr "$ip1" "$cidr1" && in_cidr "$ip2" "$cidr2" && pass "pod IPs from their node's pod CIDR ($ip1, $ip2)" ||
  fail "pod IPs '$ip1' '$ip2'"

rx_before=$(vm worker1 'wg show all transfer' | awk '{ s += $3 } END { print s + 0 }')
if vm worker1 "skiff-pod exec ping1 -- ping -c 3 -W 2 $ip2"; then
  pass "pod on worker1 reaches the pod on worker2 across the overlay"
else
  fail "ping ping1 -> ping2 ($ip2)"
  vm worker1 'wg show; ip route; journalctl -u skiff-kubelet --no-pager | tail -n 20'
fi
vm worker2 "skiff-pod exec ping2 -- ping -c 3 -W 2 $ip1" >/dev/null &&
  pass "pod on worker2 reaches the pod on worker1" || fail "ping ping2 -> ping1 ($ip1)"
rx_after=$(vm worker1 'wg show all transfer' | awk '{ s += $3 } END { print s + 0 }')
((rx_after > rx_before)) && pass "the pings went through worker1's WireGuard (rx $rx_before -> $rx_after bytes)" ||
  fail "WireGuard counters did not move ($rx_before -> $rx_after)"
echo "figures: up ${t_up}s, checks $((SECONDS - t0 - t_up))s"

# Tear down and check that nothing is left.
t1=$SECONDS
trap - EXIT
pid=$(cat "$SKIFF_VAGRANT_RUN/libvirtd.pid" 2>/dev/null)
"$repo/scripts/vagrant/down.sh" || fail "down.sh"
[[ ! -e $SKIFF_VAGRANT_RUN && ! -e /run/netns/$SKIFF_VAGRANT_NETNS ]] && pass "down.sh: no state dir, no netns left" ||
  fail "left behind: $(ls -d "$SKIFF_VAGRANT_RUN" "/run/netns/$SKIFF_VAGRANT_NETNS" 2>/dev/null)"
if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]]; then
  fail "libvirtd ($pid) still running"
else
  pass "libvirtd stopped ($((SECONDS - t1))s to tear down)"
fi
echo "figures: total $((SECONDS - t0))s"
if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all vagrant checks passed"
