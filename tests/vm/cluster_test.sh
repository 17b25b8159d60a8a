#!/usr/bin/env bash
# VM lane: the skiff cluster of scripts/cluster/up.sh inside one qemu guest (scripts/vm/run.sh)
# whose Debian kernel has WireGuard and pure cgroup v2 — the issue's "the same cluster inside the
# VM lane". up.sh 2 (master + registry on the underlay, two nodes joined with a token, --overlay):
# each kubelet's skiff-net picks kernel WireGuard by itself (the devices are kernel `wireguard`
# links, no wireguard-go runs); a 2-replica Deployment with requests and limits spreads over both
# nodes; its pods ping each other across nodes and exchange TCP (busybox nc to the other pod's
# httpd) over the kernel tunnel, with handshakes and bytes on both devices; each container's cgroup
# is in the v2 hierarchy under its node's --cgroup-parent with memory.max and cpu.max from the
# pod's limits; a SIGKILLed kubelet started again re-adopts its pod (same container, shim and start
# time, restartCount 0) and the tunnel still carries traffic; down.sh leaves nothing (netns,
# wireguard links, mounts, processes, cgroups, state). (tests/e2e/cluster_test.sh is the same
# cluster on the host: wireguard-go, hybrid cgroups.)
#
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/cluster_test.sh
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}

# shellcheck source=SCRIPTDIR/../../scripts/cluster/common.sh
source "$src/scripts/cluster/common.sh"  # find_kubectl, cl_wait, cl_node, cl_innode, cl_pod

if [[ ${1-} != --in-guest ]]; then
  for t in master/skiff-master kubelet/skiff-kubelet kubelet/skiff-pod kubelet/skiff-shim \
      cni/skiff-net cni/skiff-bridge runtime/skiff runtime/skiff-pull; do
    [[ -x $bin/$t ]] || { echo "SKIP: $bin/$t is not built"; exit 77; }
  done
  for t in jq curl nsenter unshare docker-registry skopeo wg; do
    command -v $t >/dev/null || { echo "SKIP: \`$t' not installed (scripts/install-deps.sh)"; exit 77; }
  done
  find_kubectl >/dev/null || { echo "SKIP: no kubectl (scripts/install-deps.sh)"; exit 77; }
  cd "$src" && exec scripts/vm/run.sh --smp 2 --timeout 600 -- bash "$src/tests/vm/cluster_test.sh" --in-guest
fi

t0=$SECONDS
echo "guest kernel: $(uname -r); cgroup mode: $(stat -fc %T /sys/fs/cgroup)"
[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { echo "FAIL: the guest is not pure cgroup v2"; exit 1; }
[[ -d /sys/module/wireguard ]] || { echo "FAIL: the guest kernel has no wireguard module loaded"; exit 1; }
export SKIFF_BUILD=$bin
kbin=/tmp/skiff-vm-cluster-bin
mkdir -p "$kbin" && ln -sf "$(find_kubectl)" "$kbin/kubectl"
export PATH=$kbin:$PATH

name=skvmc net=226
c=/tmp/skiff-vm-cluster
dir=$c build=$bin  # for cl_innode and cl_pod
down=("$src/scripts/cluster/down.sh" --name "$name" --dir "$c")
cleanup() { "${down[@]}" >/dev/null 2>&1; rm -rf "$kbin"; }
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# Fails fast: the rest of the checks need what this one made.
fatal() {
  echo "FAIL: $*"
  for f in "$c"/master.log "$c"/n*/kubelet.log; do
    [[ -s $f ]] && { echo "--- $f"; tail -n 25 "$f"; }
  done
  exit 1
}
k() { kubectl --kubeconfig "$c/admin.kubeconfig" --request-timeout=30s "$@"; }
kubelet_api() {  # kubelet_api I PATH: GET on node I's kubelet API with the admin's certificate
  curl -sfk --max-time 20 --cert "$c/master/pki/admin.crt" --key "$c/master/pki/admin.key" \
    "https://10.$net.0.$1:10250$2"
}

# --- up.sh 2: master, registry, two nodes joined, kernel WireGuard ---
start=$SECONDS
out=$("$src/scripts/cluster/up.sh" 2 --name "$name" --dir "$c" --net "$net" 2>&1) ||
  { echo "$out"; fatal "up.sh 2"; }
pass "up.sh 2: both nodes joined and Ready in $((SECONDS - start)) s"
image=$(sed -n 's/^image: //p' <<<"$out")
# The overlay comes up after the node registers (once the master gave it a pod CIDR): Ready
# does not wait for it.
meshed() { [[ $(cl_innode 1 wg show skiffwg0 peers | wc -l) == 1 && $(cl_innode 2 wg show skiffwg0 peers | wc -l) == 1 ]]; }
cl_wait 60 meshed && pass "each node has the other as its WireGuard peer" ||
  fail "mesh: n1 $(cl_innode 1 wg show skiffwg0 peers 2>&1) / n2 $(cl_innode 2 wg show skiffwg0 peers 2>&1)"
for i in 1 2; do
  link=$(cl_innode "$i" ip -d link show skiffwg0 2>&1)
  grep -qw wireguard <<<"$link" && pass "node $i: skiffwg0 is a kernel wireguard link (ip -d link show)" ||
    fail "node $i: skiffwg0 is not a kernel wireguard link: $link"
done
[[ -z $(pgrep -x wireguard-go) ]] && pass "no wireguard-go process runs" ||
  fail "wireguard-go runs: $(pgrep -a -x wireguard-go)"

# --- a 2-replica Deployment with requests and limits, one pod per node ---
k apply --validate=false -f - >/dev/null <<YAML || fatal "kubectl apply"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: c
        image: $image
        command: [sh, -c, "trap 'exit 0' TERM; hostname >/tmp/index.html; httpd -f -p 8080 -h /tmp & wait"]
        resources:
          requests: {cpu: 100m, memory: 32Mi}
          limits: {cpu: 200m, memory: 64Mi}
YAML
start=$SECONDS
k rollout status deployment/web --timeout=150s >/dev/null || { k get pods -o wide; fatal "rollout"; }
pass "2 replicas available in $((SECONDS - start)) s (image pulled from the cluster's registry)"
declare -A pod_on=() ip_of=()
while read -r p nd ip; do
  pod_on[$nd]=$p ip_of[$p]=$ip
done < <(k get pods -l app=web -o json | jq -r '.items[] | select(.status.phase == "Running") |
  "\(.metadata.name) \(.spec.nodeName) \(.status.podIP)"')
a=${pod_on[$(cl_node 1)]:-} b=${pod_on[$(cl_node 2)]:-}
[[ -n $a && -n $b ]] || { k get pods -o wide; fatal "want one pod on each node"; }
pass "spread: $a on $(cl_node 1) (${ip_of[$a]}), $b on $(cl_node 2) (${ip_of[$b]})"

# --- across the nodes over kernel WireGuard: ICMP both ways and TCP ---
cl_wait 30 cl_pod 1 exec "$a" -- ping -c 1 -W 2 "${ip_of[$b]}" && pass "ping $a -> $b across nodes" ||
  fail "no ping $a -> $b"
cl_wait 15 cl_pod 2 exec "$b" -- ping -c 1 -W 2 "${ip_of[$a]}" && pass "ping $b -> $a across nodes" ||
  fail "no ping $b -> $a"
tcp() {  # tcp NODE FROM TO: FROM fetches TO's page (its name) with busybox nc
  cl_pod "$1" exec "$2" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 ${ip_of[$3]} 8080" 2>&1 | tail -n 1
}
got=$(tcp 1 "$a" "$b")
[[ $got == "$b" ]] && pass "TCP: $a fetches http://${ip_of[$b]}:8080/ from $b (nc)" || fail "TCP $a -> $b: '$got'"
got=$(tcp 2 "$b" "$a")
[[ $got == "$a" ]] && pass "TCP: $b fetches http://${ip_of[$a]}:8080/ from $a (nc)" || fail "TCP $b -> $a: '$got'"
for i in 1 2; do
  hs=$(cl_innode "$i" wg show skiffwg0 latest-handshakes | awk '{print $2}')
  rx=$(cl_innode "$i" wg show skiffwg0 transfer | awk '{print $2}')
  [[ $hs =~ ^[1-9][0-9]*$ ]] && ((rx > 0)) && pass "node $i: kernel handshake at $hs, $rx bytes received" ||
    fail "node $i: handshake '$hs', received '$rx'"
done

# --- the containers' cgroups: v2, under the node's --cgroup-parent, limits from the pod ---
for i in 1 2; do
  p=${pod_on[$(cl_node "$i")]}
  # The container's processes (its sh and httpd): the one whose cgroup is under this node's pods.
  pid=$(for h in $(pgrep -f 'httpd -f -p 8080'); do
    grep -q "^0::/skiffc-$name/n$i/pods/" "/proc/$h/cgroup" && echo "$h"
  done | head -1)
  cgf=$(cat "/proc/$pid/cgroup" 2>/dev/null)
  cg=${cgf#0::}
  if [[ $(wc -l <<<"$cgf") == 1 && $cgf == "0::/skiffc-$name/n$i/pods/"* ]]; then
    pass "node $i: $p's container (pid $pid) is in the v2 cgroup $cg"
  else
    fail "node $i: $p's container (pid '$pid') cgroup: '$cgf'"
    continue
  fi
  mem=$(cat "/sys/fs/cgroup$cg/memory.max") cpu=$(cat "/sys/fs/cgroup$cg/cpu.max")
  [[ $mem == $((64 << 20)) && $cpu == "20000 100000" ]] &&
    pass "node $i: memory.max $mem (64Mi), cpu.max '$cpu' (200m) from the pod's limits" ||
    fail "node $i: memory.max '$mem' cpu.max '$cpu', want $((64 << 20)) and '20000 100000'"
  # The pod's own cgroup above it: the sum of its (one) container's limits.
  pmem=$(cat "/sys/fs/cgroup${cg%/*}/memory.max") pcpu=$(cat "/sys/fs/cgroup${cg%/*}/cpu.max")
  [[ $pmem == "$mem" && $pcpu == "$cpu" ]] && pass "node $i: the pod cgroup ${cg%/*} has the same limits" ||
    fail "node $i: pod cgroup ${cg%/*}: memory.max '$pmem' cpu.max '$pcpu'"
done

# --- kubelet SIGKILL + restart: its pod keeps running and is adopted ---
node1_state() {
  k get pod "$a" -o json | jq -c '.status.containerStatuses[0] |
    {id: .containerID, r: .restartCount, s: .state.running.startedAt}'
}
before=$(node1_state)
shims=$(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | sort | tr '\n' ' ')
old=$(cat "$c/n1/kubelet.pid")
kill -9 "$old"
cl_wait 10 bash -c "! kill -0 $old 2>/dev/null || grep -q '^State:.*Z' /proc/$old/status"
start=$SECONDS
"$c/n1/start-kubelet" || fail "start-kubelet of node 1"
listed() { kubelet_api 1 /pods | jq -e --arg p "$a" '[.items[].metadata.name] | index($p)'; }
cl_wait 60 listed || fail "the restarted kubelet's API does not list $a"
sleep 3  # a sync pass of the restarted kubelet: it would restart a container it failed to adopt
after=$(node1_state)
if [[ $(cat "$c/n1/kubelet.pid") != "$old" && $after == "$before" && $before == *'"r":0'* &&
  $before != *null* && $(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | sort | tr '\n' ' ') == "$shims" ]]; then
  pass "kubelet SIGKILL + restart: $a re-adopted in $((SECONDS - start)) s (same container, shim and start time, restartCount 0)"
else
  fail "after the kubelet restart: $before -> $after (shims $shims -> $(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | tr '\n' ' '))"
fi
grep -qw wireguard <<<"$(cl_innode 1 ip -d link show skiffwg0 2>&1)" && [[ -z $(pgrep -x wireguard-go) ]] ||
  fail "node 1's overlay after the restart: $(cl_innode 1 ip -d link show skiffwg0 2>&1)"
got=$(tcp 2 "$b" "$a")
[[ $got == "$a" ]] && pass "after the restart: $b still fetches from $a over kernel WireGuard" ||
  fail "TCP $b -> $a after the kubelet restart: '$got'"

if ((failures)); then
  for f in "$c"/master.log "$c"/n*/kubelet.log; do echo "--- $f"; tail -n 25 "$f"; done
fi

# --- down.sh: nothing left ---
out=$("${down[@]}" 2>&1) || fail "down.sh: $out"
left=""
ip netns list | grep -q "^$name-" && left+=" netns: $(ip netns list | grep "^$name-" | tr '\n' ' ')"
ip link show "$name-h" >/dev/null 2>&1 && left+=" link $name-h"
[[ -n $(ip link show type wireguard) ]] && left+=" wireguard links: $(ip link show type wireguard)"
findmnt -rn -o TARGET | grep -q "^$c" && left+=" mounts: $(findmnt -rn -o TARGET | grep "^$c" | tr '\n' ' ')"
procs=$(ps -eo stat=,args= | awk -v d="$c" '$1 !~ /^Z/ && index($0, d)' | grep -v awk)
[[ -n $procs ]] && left+=" processes: $procs"
[[ -d /sys/fs/cgroup/skiffc-$name ]] && left+=" cgroup /sys/fs/cgroup/skiffc-$name"
[[ -e $c ]] && left+=" $c"
[[ -z $left ]] && pass "down.sh left no netns, link, mount, process, cgroup or state" ||
  fail "down.sh left:$left"

((failures == 0)) || { echo "FAIL: $failures check(s)"; exit 1; }
echo "ok: the cluster on kernel WireGuard and pure cgroup v2 ($(uname -r)) in $((SECONDS - t0)) s in the guest"
