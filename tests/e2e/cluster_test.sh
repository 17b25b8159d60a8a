#!/usr/bin/env bash
# A three-node skiff cluster made by scripts/cluster/up.sh (master and registry on an underlay;
# each node a network + mount namespace whose skiff-kubelet joined with a bootstrap token and runs
# the WireGuard overlay), then the issue's proofs: the nodes join and are Ready and meshed (each has
# the other two as WireGuard peers); a 6-replica Deployment of the busybox image pulled from the
# cluster's registry rolls out across all three nodes; pods reach each other across nodes over
# WireGuard (ICMP and TCP); ConfigMap volume, kubectl logs, the kubelet API; a kubelet SIGKILLed
# keeps its pods running and re-adopts them when started again (same containers, restartCount and
# start times); kubectl delete pod is graceful and leaves nothing on the node; a pod deleted while
# its kubelet is down is removed when it comes back; a master restart leaves the nodes Ready; a
# node whose kubelet is stopped goes NotReady and its Deployment pods come back on the other nodes
# (shortened grace period and toleration); `kubectl delete node` takes it out of the others'
# WireGuard peers; down.sh leaves nothing behind (netns, links, mounts, processes, cgroups, state)
# and is idempotent; up.sh failing midway tears down what it made. kubectl: Debian's 1.20 where
# there is one (scripts/cluster/common.sh's find_kubectl).
# Exit 77 (skip) without root, kubectl, wireguard-go, docker-registry, skopeo or the binaries.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (namespaces, pods)"
for tool in wireguard-go wg ip jq python3 nsenter unshare docker-registry skopeo; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
# shellcheck source=SCRIPTDIR/../../scripts/cluster/common.sh
source "$repo/scripts/cluster/common.sh"  # kc, cl_wait, cl_node, cl_innode, cl_pod, find_kubectl
kubectl=$(find_kubectl) || skip "no kubectl (apt-get install kubernetes-client)"  # for kc
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (wireguard-go needs TUN)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
export SKIFF_BUILD="$build"
for b in master/skiff-master kubelet/skiff-kubelet kubelet/skiff-pod kubelet/skiff-shim \
  cni/skiff-net cni/skiff-bridge runtime/skiff runtime/skiff-pull; do
  [[ -x "$build/$b" ]] || skip "\`$build/$b' not built"
done

work="$(mktemp -d /tmp/skiff-e2e-cluster.XXXXXX)"
name="ske$(($$ % 10000))" c="$work/c" net=237
dir=$c  # for kc, cl_init, cl_innode and cl_pod
cl_init || exit 1  # $hostif, $cg: this cluster's names
up=("$repo/scripts/cluster/up.sh") down=("$repo/scripts/cluster/down.sh" --name "$name" --dir "$c")
cleanup() {
  [[ -n "${stopped:-}" ]] && kill -CONT "$stopped" 2>/dev/null
  "${down[@]}" >/dev/null 2>&1
  "$repo/scripts/cluster/down.sh" --name "${name}x" --dir "$work/bad" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
kubelet_pid() { cat "$c/n$1/kubelet.pid"; }
peers() { cl_innode "$1" wg show skiffwg0 peers 2>/dev/null | sort; }
key_of() { kc get node "$(cl_node "$1")" -o jsonpath='{.metadata.annotations.skiff\.dev/wireguard-public-key}'; }
web_pods() {  # name node podIP, one line per live (not terminating) web pod
  kc get pods -l app=web -o json |
    jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
      "\(.metadata.name) \(.spec.nodeName) \(.status.podIP // "-") \(.status.phase)"'
}
kubelet_api() {  # kubelet_api I PATH: GET on node I's kubelet API with the admin's certificate
  python3 - "10.$net.0.$1" "$2" "$c/master/pki" <<'PY'
import http.client, ssl, sys
ctx = ssl._create_unverified_context()  # the kubelet's serving certificate is self-signed
ctx.load_cert_chain(sys.argv[3] + "/admin.crt", sys.argv[3] + "/admin.key")
c = http.client.HTTPSConnection(sys.argv[1], 10250, context=ctx, timeout=10)
c.request("GET", sys.argv[2])
r = c.getresponse()
print(r.read().decode())
sys.exit(0 if r.status == 200 else 1)
PY
}

# --- bad input and a failing up.sh: non-zero, named, nothing left ---
out=$("${up[@]}" 0 --name "${name}x" --dir "$work/bad" 2>&1) && fail "up.sh 0 succeeded"
[[ "$out" == *"N: want a node count"* && ! -e "$work/bad" ]] && pass "up.sh 0: refused ($out)" ||
  fail "up.sh 0: $out"
out=$("${up[@]}" 1 --name "${name}x" --dir "$work/bad" --net 239 --master-arg --no-such-flag 2>&1) &&
  fail "up.sh with a master that cannot start succeeded"
if [[ "$out" == *"failed: master up"* && ! -e "$work/bad" ]] && ! ip netns list | grep -q "^${name}x-" &&
  ! ip link show "${name}x-h" >/dev/null 2>&1 && ! ls -d /sys/fs/cgroup/*/"skiffc-${name}x" 2>/dev/null; then
  pass "up.sh failing midway (the master does not start) says so and tears down what it made"
else
  fail "failed up.sh: $out; left: $(ls "$work/bad" 2>&1) $(ip netns list | grep "^${name}x-")"
fi

# --- up.sh 3 ---
start=$SECONDS
if ! out=$("${up[@]}" 3 --name "$name" --dir "$c" --net "$net" \
  --master-arg --node-monitor-grace-period=5s --kubelet-arg --lease-period-ms=1000 2>&1); then
  echo "$out"
  fail "up.sh 3"
  exit 1
fi
echo "$out" | sed 's/^/    /'
image=$(sed -n 's/^image: //p' <<<"$out")
[[ "$(sed -n 's/^export KUBECONFIG=//p' <<<"$out")" == "$c/admin.kubeconfig" && -n "$image" ]] &&
  pass "up.sh 3 in $((SECONDS - start)) s, prints KUBECONFIG and the image ($image)" ||
  fail "up.sh output"
ready=$(kc get nodes -o json | jq '[.items[] | select(.status.conditions[] |
  .type == "Ready" and .status == "True")] | length')
[[ $ready == 3 ]] && pass "three nodes joined and are Ready" || fail "$ready nodes Ready"
[[ "$(kc get node "$(cl_node 2)" -o jsonpath='{.status.addresses[0].address}')" == "10.$net.0.2" ]] &&
  pass "node 2's InternalIP is its underlay address" || fail "node 2 InternalIP"
[[ "$(stat -c %a "$c/n1/kubelet/credentials/kubelet-client.key")" == 600 ]] &&
  pass "node 1's key is 0600" || fail "node 1 key mode"
[[ "$(readlink /proc/"$(kubelet_pid 1)"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" &&
  "$(readlink /proc/"$(kubelet_pid 1)"/ns/mnt)" != "$(readlink /proc/"$(kubelet_pid 2)"/ns/mnt)" ]] &&
  ! [[ -e /run/wireguard/skiffwg0.sock ]] &&
  pass "each kubelet has its own mount namespace (wireguard-go's socket not on the host)" ||
  fail "mount namespaces"
meshed() {
  local i j
  for i in 1 2 3; do
    [[ "$(peers "$i" | wc -l)" == 2 ]] || return 1
    for j in 1 2 3; do
      ((i == j)) || peers "$i" | grep -qxF "$(key_of "$j")" || return 1
    done
  done
}
cl_wait 20 meshed && pass "each node has the other two as WireGuard peers (wg show in its netns)" ||
  fail "mesh: $(for i in 1 2 3; do echo "n$i: $(peers "$i" | tr '\n' ' ')"; done)"

# --- a 6-replica Deployment from the registry, spread over the three nodes ---
kc apply --validate=false -f - >/dev/null <<YAML || fail "apply"
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello-from-the-api}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 3
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: c
        image: $image
        command: [sh, -c, "trap 'exit 0' TERM; hostname >/tmp/index.html; echo started; httpd -f -p 8080 -h /tmp & wait"]
        volumeMounts: [{name: cfg, mountPath: /etc/web}]
      volumes:
      - name: cfg
        configMap: {name: web-config}
YAML
start=$SECONDS
if kc rollout status deployment/web --timeout=120s >/dev/null; then
  pass "kubectl rollout status: 6 replicas available in $((SECONDS - start)) s (image pulled from the registry)"
else
  fail "rollout"
  kc get pods -o wide
  tail -n 20 "$c"/n*/kubelet.log
fi
mapfile -t pods < <(web_pods)
spread=$(printf '%s\n' "${pods[@]}" | awk '$4 == "Running" {print $2}' | sort -u | wc -l)
((${#pods[@]} == 6 && spread == 3)) && pass "the 6 pods run on all three nodes" ||
  fail "spread: $(printf '%s; ' "${pods[@]}")"
declare -A pod_on=() ip_of=()
for line in "${pods[@]}"; do
  read -r p nd ip _ <<<"$line"
  pod_on[$nd]=$p ip_of[$p]=$ip
done
a=${pod_on[$(cl_node 1)]:-} b=${pod_on[$(cl_node 2)]:-} c3=${pod_on[$(cl_node 3)]:-}
[[ -n $a && -n $b && -n $c3 ]] || { fail "a pod on each node"; exit 1; }
cidr1=$(kc get node "$(cl_node 1)" -o jsonpath='{.spec.podCIDR}')
python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' \
  "${ip_of[$a]}" "$cidr1" && pass "$a's IP ${ip_of[$a]} is from node 1's pod CIDR $cidr1" ||
  fail "pod IP ${ip_of[$a]} not in $cidr1"
# The node's pods' network: leases in its own --cni-data-dir (not the host's shared
# /var/lib/cni/networks), no per-pod ipMasq; skiff-net masquerades the pod CIDR, one rule.
leases1="$c/n1/cni-data/skiff"
[[ -e "$leases1/${ip_of[$a]}" ]] &&
  jq -e --arg d "$c/n1/cni-data" '.plugins[0] | .ipam.dataDir == $d and .ipMasq == false' \
    "$c/n1/net.d/10-skiff.conflist" >/dev/null &&
  pass "node 1's leases are in its --cni-data-dir ($leases1), its bridge has no ipMasq" ||
  fail "node 1's CNI network: $(cat "$c/n1/net.d/10-skiff.conflist"); leases: $(ls "$leases1" 2>&1)"
masq=$(cl_innode 1 nft list ruleset 2>&1 | grep masquerade)
[[ "$(wc -l <<<"$masq")" == 1 && "$masq" == *"ip saddr $cidr1 ip daddr != { $cluster_cidr, 224.0.0.0/4 } masquerade"* ]] &&
  pass "node 1: one node-wide masquerade rule for $cidr1 beyond $cluster_cidr" ||
  fail "node 1's masquerade rules: $masq"

# --- across nodes over WireGuard: ICMP and TCP ---
for p in "$b" "$c3"; do
  if cl_wait 15 cl_pod 1 exec "$a" -- ping -c 1 -W 1 "${ip_of[$p]}"; then
    pass "ping: $a (node 1) reaches $p (${ip_of[$p]})"
  else
    fail "ping $a -> $p"
  fi
  # (busybox-static's wget crashes resolving; nc speaks the HTTP)
  got=$(cl_pod 1 exec "$a" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 ${ip_of[$p]} 8080" 2>&1 | tail -n 1)
  [[ "$got" == "$p" ]] && pass "TCP: $a fetches http://${ip_of[$p]}:8080/ from $p" ||
    fail "TCP $a -> $p: $got"
done
rx=$(cl_innode 2 wg show skiffwg0 transfer | awk '{s += $2} END {print s + 0}')
((rx > 0)) && pass "node 2's WireGuard received $rx bytes" || fail "no WireGuard traffic on node 2"

# --- what the pods see and the kubelet serves ---
[[ "$(cl_pod 1 exec "$a" -- cat /etc/web/greeting)" == hello-from-the-api ]] &&
  pass "$a sees the ConfigMap in its volume" || fail "configmap volume"
[[ "$(kc logs "$a")" == started ]] && pass "kubectl logs $a (through node 1's kubelet API)" ||
  fail "kubectl logs: $(kc logs "$a" 2>&1)"
kubelet_api 2 /pods | jq -e --arg p "$b" '[.items[].metadata.name] | index($p)' >/dev/null &&
  pass "kubelet API: node 2's /pods lists $b" || fail "kubelet API /pods"
shim=$(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | head -1)
if [[ -n $shim ]] && ! cl_innode 1 ss -tnpH | grep -q "pid=$shim,"; then
  pass "the shim holds none of the kubelet's connections"
else
  fail "shim $shim: $(cl_innode 1 ss -tnpH | grep "pid=$shim,")"
fi

# --- kubelet SIGKILL + restart: its pods keep running and are adopted ---
node1_state() {
  kc get pods -l app=web --field-selector "spec.nodeName=$(cl_node 1)" -o json | jq -c '[.items[] |
    {n: .metadata.name, id: .status.containerStatuses[0].containerID,
     r: .status.containerStatuses[0].restartCount,
     s: .status.containerStatuses[0].state.running.startedAt}] | sort_by(.n)'
}
before=$(node1_state)
shims=$(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | sort | tr '\n' ' ')
old=$(kubelet_pid 1)
kill -9 "$old"
sleep 1
"$c/n1/start-kubelet"
listed() { kubelet_api 1 /pods | jq -e --arg p "$a" '[.items[].metadata.name] | index($p)'; }
cl_wait 20 listed || fail "the restarted kubelet's API"
sleep 3
after=$(node1_state)
if [[ "$(kubelet_pid 1)" != "$old" && "$after" == "$before" && "$before" == *'"r":0'* &&
  "$before" != *null* && "$(pgrep -f "skiff-shim --pod-dir $c/n1/state/" | sort | tr '\n' ' ')" == "$shims" &&
  "$(cl_pod 1 ls -o json | jq length)" == "$(jq length <<<"$before")" ]]; then
  pass "kubelet SIGKILL + restart: node 1's $(jq length <<<"$before") pods keep their shims, containers, restartCount 0 and start times"
else
  fail "after the kubelet restart: $before -> $after (shims $shims)"
fi

# The restarted kubelet ran `skiff-net up --cluster-cidr` again: still one masquerade rule.
overlay_ups() { grep -c "overlay: skiffwg0 up for" "$c/n1/kubelet.log"; }
cl_wait 20 test "$(overlay_ups)" -ge 2 &&
  [[ "$(cl_innode 1 nft list ruleset 2>&1 | grep -c masquerade)" == 1 ]] &&
  pass "node 1's overlay up again after the restart: still one masquerade rule" ||
  fail "after the restart ($(overlay_ups) overlay ups): $(cl_innode 1 nft list ruleset 2>&1 | grep masquerade)"

# --- kubectl delete pod: graceful, nothing left on the node ---
start=$SECONDS
kc delete pod "$a" --wait=true >/dev/null || fail "kubectl delete pod $a"
took=$((SECONDS - start))
((took < 10)) && pass "kubectl delete pod $a in ${took} s" || fail "delete took ${took} s"
gone_from() { ! cl_pod "$1" ls -o json | jq -e --arg p "$2" 'map(.name) | index($p)' >/dev/null; }
cl_wait 10 gone_from 1 "$a" && [[ -z "$(ls -d "$c/n1/log/default_${a}_"* 2>/dev/null)" ]] &&
  pass "nothing of $a left on node 1" || fail "node 1 still has $a: $(cl_pod 1 ls)"
cl_wait 10 test ! -e "$leases1/${ip_of[$a]}" && pass "$a's lease ${ip_of[$a]} freed (CNI DEL)" ||
  fail "$a's lease left: $(ls "$leases1")"

# --- a pod deleted while its kubelet is down: removed when it comes back ---
kill -9 "$(kubelet_pid 2)"
kc delete pod "$b" --grace-period=0 --force >/dev/null 2>&1
gone_from 2 "$b" && fail "$b should still run on node 2"
"$c/n2/start-kubelet"
cl_wait 20 gone_from 2 "$b" && pass "the orphan $b is stopped and removed by node 2's restarted kubelet" ||
  fail "orphan on node 2: $(cl_pod 2 ls)"
kc rollout status deployment/web --timeout=60s >/dev/null && pass "the Deployment is whole again" ||
  fail "rollout after the deletions"

# --- a master restart leaves the nodes Ready ---
kill -9 "$(cat "$c/master.pid")"
"$c/restart-master"
cl_wait 30 kc get --raw /api || fail "master back"
sleep 8  # longer than the grace period (5 s) and a lifecycle pass (5 s) after the restart
ready=$(kc get nodes -o json | jq '[.items[] | select(.status.conditions[] |
  .type == "Ready" and .status == "True") | select((.spec.taints // []) | length == 0)] | length')
[[ $ready == 3 ]] && pass "master restarted: the three nodes stay Ready, untainted" ||
  fail "after the master restart $ready nodes Ready: $(kc get nodes)"

# --- a node stopped: NotReady, its pods come back on the other two ---
stopped=$(kubelet_pid 3)
kill -STOP "$stopped"
start=$SECONDS
not_ready() {
  [[ "$(kc get node "$(cl_node 3)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ]]
}
cl_wait 40 not_ready && pass "node 3's kubelet stopped: NotReady after $((SECONDS - start)) s" ||
  fail "node 3 still Ready"
moved() {
  local l
  l=$(web_pods | awk -v n="$(cl_node 3)" '$4 == "Running" && $2 != n' | wc -l)
  ((l == 6)) && ! web_pods | grep -q " $(cl_node 3) "
}
cl_wait 60 moved && pass "its pods run again on nodes 1 and 2 after $((SECONDS - start)) s" ||
  fail "pods after node 3 stopped: $(web_pods | tr '\n' ';')"

# --- kubectl delete node: gone from the others' WireGuard peers ---
key3=$(key_of 3)
kill -9 "$stopped"
kill -CONT "$stopped" 2>/dev/null
stopped=""
kc delete node "$(cl_node 3)" >/dev/null || fail "kubectl delete node"
unpeered() { ! peers 1 | grep -qxF "$key3" && ! peers 2 | grep -qxF "$key3" && [[ "$(peers 1 | wc -l)" == 1 ]]; }
cl_wait 20 unpeered && pass "node 3 deleted: gone from the WireGuard peers of nodes 1 and 2" ||
  fail "peers still: $(peers 1 | tr '\n' ' ') / $(peers 2 | tr '\n' ' ')"

if ((failures)); then
  echo "--- master log"; tail -n 20 "$c/master.log"
  for i in 1 2 3; do echo "--- kubelet $i log"; tail -n 30 "$c/n$i/kubelet.log"; done
fi

# --- down.sh: nothing left ---
out=$("${down[@]}" 2>&1) || fail "down.sh: $out"
left=""
ip netns list | grep -q "^$name-" && left+=" netns: $(ip netns list | grep "^$name-" | tr '\n' ' ')"
ip link show "$hostif" >/dev/null 2>&1 && left+=" link $hostif"
findmnt -rn -o TARGET | grep -q "^$c" && left+=" mounts: $(findmnt -rn -o TARGET | grep "^$c" | tr '\n' ' ')"
procs=$(ps -eo stat=,args= | awk -v d="$c" '$1 !~ /^Z/ && index($0, d)' | grep -v awk)
[[ -n $procs ]] && left+=" processes: $procs"
ls -d /sys/fs/cgroup/*/"$cg" >/dev/null 2>&1 && left+=" cgroups"
[[ -e $c ]] && left+=" $c"
ls /var/lib/cni/networks/*/ 2>/dev/null | grep -q "^10\.$((net + 1))\." && left+=" leases in /var/lib/cni/networks"
[[ -z $left ]] && pass "down.sh left no netns, link, mount, process, cgroup, state or lease" ||
  fail "down.sh left:$left"
out=$("${down[@]}" 2>&1) && pass "down.sh again: nothing to do ($out)" || fail "down.sh again: $out"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all cluster checks passed"
