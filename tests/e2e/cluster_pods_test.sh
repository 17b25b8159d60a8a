#!/usr/bin/env bash
# A skiff cluster on one host: skiff-master in the underlay's network namespace and two nodes, each
# a network namespace of scripts/netns-cluster.sh (WireGuard overlay between them) running
# skiff-kubelet with its own data, state, run, log and image roots. The nodes join with a
# bootstrap token (kubeadm's discovery: signed cluster-info, pinned CA) and become Ready; pods
# applied with kubectl run on the node they are scheduled to, get a pod IP from that node's
# range, reach each other across the overlay; a kubelet SIGKILLed and started again leaves its
# pod untouched; `kubectl delete pod` stops it within its grace period and leaves nothing on the
# node; a pod deleted from the API while its kubelet was down is removed when it comes back.
# Exit 77 (skip) without root, kubectl, wireguard-go or the binaries.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces, pods)"
for tool in wireguard-go wg ip jq python3 kubectl nsenter; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (wireguard-go needs TUN)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
master="$build/master/skiff-master" kubelet="$build/kubelet/skiff-kubelet"
skiff="$build/runtime/skiff" skiffpod="$build/kubelet/skiff-pod"
export SKIFF_NET="$build/cni/skiff-net" SKIFF_CNI_DIR="$build/cni"
for b in "$master" "$kubelet" "$skiff" "$skiffpod" "$SKIFF_NET" "$SKIFF_CNI_DIR/skiff-bridge"; do
  [[ -x "$b" ]] || skip "\`$b' not built"
done

work="$(mktemp -d /tmp/skiff-e2e-cluster.XXXXXX)"
export NC_NAME="skk$(($$ % 10000))" NC_ROOT="$work/nc" NC_UNDERLAY=251 NC_POD_NET=245
source "$repo/scripts/netns-cluster.sh"
ul="$NC_NAME-ul"
port=6443
declare -A kpid=()
cleanup() {
  local i
  for i in "${!kpid[@]}"; do kill -9 "${kpid[$i]}" 2>/dev/null; done
  for i in 1 2; do
    [[ -d "$work/n$i/state" ]] || continue
    for p in $(pod_cmd "$i" ls -o json 2>/dev/null | jq -r '.[] | "\(.namespace)/\(.name)"'); do
      pod_cmd "$i" -n "${p%%/*}" rm -f "${p#*/}" >/dev/null 2>&1
    done
  done
  [[ -n ${mpid:-} ]] && kill -9 "$mpid" 2>/dev/null
  wait 2>/dev/null
  nc_down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
k() { ip netns exec "$ul" kubectl --kubeconfig "$work/admin.kubeconfig" --request-timeout=20s "$@"; }
roots() {  # the node's own roots
  local d="$work/n$1"
  echo --state-root "$d/state" --run-root "$d/run" --log-root "$d/log" --image-root "$d/images" \
    --snapshot-root "$d/snapshots" --cni-conf-dir "$d/net.d" --cni-cache-dir "$d/cni-cache" \
    --cni-data-dir "$d/cni-data"
}
# Node I's network namespace only: `ip netns exec` would also remount /sys (and lose the
# cgroup hierarchy the pods need).
innode() {
  local i=$1
  shift
  nsenter --net="/run/netns/$NC_NAME-n$i" "$@"
}
pod_cmd() {  # skiff-pod against node I's roots
  local i=$1 d="$work/n$1"
  shift
  innode "$i" "$skiffpod" --state-root "$d/state" --run-root "$d/run" \
    --log-root "$d/log" --image-root "$d/images" --snapshot-root "$d/snapshots" "$@"
}
pods_on() { [[ "$(pod_cmd "$1" ls -o json | jq length)" == "$2" ]]; }  # pods_on I COUNT
# wait_for SECONDS CMD...: retries CMD every 0.2 s.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}
start_kubelet() {  # start_kubelet I join|run
  local i=$1 mode=$2 args
  if [[ $mode == join ]]; then
    args=(join "https://10.$NC_UNDERLAY.0.254:$port" --token "$token" --ca-cert-hash "$hash" --run)
  else
    args=(run)
  fi
  # shellcheck disable=SC2046
  nsenter --net="/run/netns/$NC_NAME-n$i" "$kubelet" "${args[@]}" --node-name "node$i" \
    --data-dir "$work/n$i/kubelet" $(roots "$i") >>"$work/kubelet$i.log" 2>&1 &
  kpid[$i]=$!  # nsenter execs the kubelet: this is its pid
}

# --- the cluster: underlay + 2 nodes with the overlay, the master on the underlay ---
nc_up 2 || { fail "netns cluster up"; exit 1; }
ip netns exec "$ul" ip addr add "10.$NC_UNDERLAY.0.254/24" dev ul0
ip netns exec "$ul" "$master" --data-dir "$work/master" --listen "10.$NC_UNDERLAY.0.254:$port" \
  --node-monitor-grace-period 10m >"$work/master.log" 2>&1 &
mpid=$!
wait_for 20 test -s "$work/master/server-url" || { cat "$work/master.log"; fail "master up"; exit 1; }
"$master" kubeconfig --data-dir "$work/master" >"$work/admin.kubeconfig"
join_cmd=$(ip netns exec "$ul" "$master" token create --data-dir "$work/master" --ttl 1h)
token=$(sed -E 's/.*--token ([^ ]+).*/\1/' <<<"$join_cmd")
hash=$(sed -E 's/.*--ca-cert-hash ([^ ]+).*/\1/' <<<"$join_cmd")

scripts_bb="$repo/scripts/fixtures/make-busybox-bundle.sh"
"$scripts_bb" "$work/bb" --rootfs-only --oci-layout "$work/bb-oci" >/dev/null 2>&1 ||
  skip "cannot build the busybox fixture image"
for i in 1 2; do
  mkdir -p "$work/n$i/net.d"
  _nc_conf "$i" | jq '{cniVersion, name, plugins: [del(.cniVersion, .name)]}' \
    >"$work/n$i/net.d/10-skiff.conflist"
  "$skiff" image import --image-root "$work/n$i/images" "$work/bb-oci" busybox:1.35 >/dev/null ||
    fail "import busybox into node $i"
  start_kubelet "$i" join
done

ready() { [[ "$(k get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
if wait_for 30 ready node1 && wait_for 30 ready node2; then
  pass "both nodes joined and are Ready"
else
  fail "nodes Ready"
  k get nodes -o wide
  cat "$work/kubelet1.log" "$work/kubelet2.log"
  exit 1
fi
k get nodes -o wide | sed 's/^/    /'
[[ "$(k get node node1 -o jsonpath='{.status.addresses[0].address}')" == "10.$NC_UNDERLAY.0.1" ]] &&
  pass "node1's InternalIP is its underlay address" || fail "node1 InternalIP"
[[ -n "$(k get lease -n kube-node-lease node2 -o jsonpath='{.spec.renewTime}')" ]] &&
  pass "node2 holds its Lease" || fail "node2 Lease"
for i in 1 2; do
  perms=$(stat -c %a "$work/n$i/kubelet/credentials/kubelet-client.key")
  [[ $perms == 600 ]] && pass "node$i key is 0600" || fail "node$i key mode $perms"
done

# --- pods, one per node; each mounts a ConfigMap the kubelet fetches from the API ---
k apply --validate=false -f - >/dev/null <<'YAML' || fail "create configmap"
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello-from-the-api}
YAML
for i in 1 2; do
  cat <<YAML | k apply --validate=false -f - >/dev/null || fail "apply web$i"
apiVersion: v1
kind: Pod
metadata: {name: web$i, labels: {app: web}}
spec:
  nodeSelector: {kubernetes.io/hostname: node$i}
  terminationGracePeriodSeconds: 10
  containers:
  - name: c
    image: busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, "trap 'exit 0' TERM; echo started; sleep 600 & wait"]
    volumeMounts: [{name: cfg, mountPath: /etc/web}]
  volumes:
  - name: cfg
    configMap: {name: web-config}
YAML
done
running() { [[ "$(k get pod "$1" -o jsonpath='{.status.phase}')" == Running ]]; }
for i in 1 2; do
  if wait_for 60 running "web$i"; then
    ip=$(k get pod "web$i" -o jsonpath='{.status.podIP}')
    node=$(k get pod "web$i" -o jsonpath='{.spec.nodeName}')
    host=$(k get pod "web$i" -o jsonpath='{.status.hostIP}')
    [[ $node == "node$i" && $ip == "10.$NC_POD_NET.$i."* && $host == "10.$NC_UNDERLAY.0.$i" ]] &&
      pass "web$i Running on node$i with pod IP $ip" ||
      fail "web$i: node $node ip $ip host $host"
  else
    fail "web$i Running"
    k get pod "web$i" -o yaml | sed -n '/^status:/,$p'
    cat "$work/kubelet$i.log"
  fi
done
[[ "$(pod_cmd 1 exec web1 -- cat /etc/web/greeting)" == hello-from-the-api ]] &&
  pass "web1 sees the ConfigMap from the API in its volume" || fail "configmap volume in web1"
kubelet_api() {  # kubelet_api I PATH: GET on node I's kubelet API as admin (cluster CA client cert)
  ip netns exec "$ul" python3 - "10.$NC_UNDERLAY.0.$1" "$2" "$work/master/pki" <<'PY'
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
[[ "$(kubelet_api 1 /containerLogs/default/web1/c)" == started ]] &&
  pass "kubelet API: web1's log through /containerLogs" || fail "kubelet API containerLogs"
[[ "$(k logs web1)" == started ]] && pass "kubectl logs web1 (the master asks node1's kubelet API)" ||
  fail "kubectl logs web1: $(k logs web1 2>&1)"
kubelet_api 2 /pods | jq -e '.items[0].metadata.name == "web2"' >/dev/null &&
  pass "kubelet API: node2's /pods lists web2" || fail "kubelet API /pods"
shim=$(pgrep -f "skiff-shim --pod-dir $work/n1/state/" | head -1)
if [[ -n $shim ]] && ! innode 1 ss -tnpH | grep -q "pid=$shim,"; then
  pass "the shim holds none of the kubelet's connections to the master"
else
  fail "shim $shim has TCP sockets: $(innode 1 ss -tnpH | grep "pid=$shim,")"
fi
ip2=$(k get pod web2 -o jsonpath='{.status.podIP}')
if wait_for 15 ip netns exec "$NC_NAME-n1" ping -c 1 -W 1 "$ip2"; then
  pass "node1 reaches web2 ($ip2) across the WireGuard overlay"
else
  fail "overlay ping to web2"
fi

# --- kubelet SIGKILL + restart: the pod is untouched ---
cid=$(k get pod web1 -o jsonpath='{.status.containerStatuses[0].containerID}')
shim=$(pgrep -f "skiff-shim --pod-dir $work/n1/state/" | head -1)
kill -9 "${kpid[1]}"
wait "${kpid[1]}" 2>/dev/null
sleep 1
start_kubelet 1 run
sleep 3
[[ "$(k get pod web1 -o jsonpath='{.status.containerStatuses[0].containerID}')" == "$cid" ]] &&
  running web1 && [[ "$(pgrep -f "skiff-shim --pod-dir $work/n1/state/" | head -1)" == "$shim" ]] &&
  [[ "$(k get pod web1 -o jsonpath='{.status.containerStatuses[0].restartCount}')" == 0 ]] &&
  pass "kubelet SIGKILL + restart: web1 keeps its shim and container" ||
  fail "web1 after the kubelet restart (cid $cid, shim $shim)"
[[ "$(pod_cmd 1 ls -o json | jq length)" == 1 ]] && pass "node1 did not start web1 twice" ||
  fail "node1 pods: $(pod_cmd 1 ls)"

# --- kubectl delete: graceful, then gone from the API and from the node ---
start=$SECONDS
if k delete pod web1 --wait=true >/dev/null; then
  took=$((SECONDS - start))
  ((took < 10)) && pass "kubectl delete pod web1 (${took}s: the container exits on SIGTERM)" ||
    fail "delete took ${took}s"
else
  fail "kubectl delete pod web1"
fi
wait_for 10 pods_on 1 0 &&
  pass "nothing of web1 left on node1 (skiff pod ls)" || fail "node1 still has: $(pod_cmd 1 ls)"
[[ -z "$(ls -A "$work/n1/state" 2>/dev/null)" ]] && ! pgrep -f "skiff-shim --pod-dir $work/n1/state/" >/dev/null &&
  pass "no pod directory and no shim left on node1" || fail "leftovers on node1: $(ls "$work/n1/state")"

# --- a pod deleted while its kubelet is down is an orphan: removed when it comes back ---
kill -9 "${kpid[2]}"
wait "${kpid[2]}" 2>/dev/null
k delete pod web2 --grace-period=0 --force >/dev/null 2>&1
k get pod web2 >/dev/null 2>&1 && fail "web2 still in the API"
[[ "$(pod_cmd 2 ls -o json | jq length)" == 1 ]] || fail "web2 should still run on node2"
start_kubelet 2 run
wait_for 20 pods_on 2 0 &&
  pass "the orphan web2 is stopped and removed by the restarted kubelet" ||
  fail "orphan still on node2: $(pod_cmd 2 ls)"

# --- a clean stop ---
kill -TERM "${kpid[1]}"
if wait "${kpid[1]}"; then pass "kubelet exits 0 on SIGTERM"; else fail "kubelet SIGTERM exit"; fi
unset 'kpid[1]'

if ((failures)); then
  echo "--- master log"; tail -20 "$work/master.log"
  for i in 1 2; do echo "--- kubelet$i log"; tail -30 "$work/kubelet$i.log"; done
  echo "$failures failure(s)"
  exit 1
fi
echo "all cluster checks passed"
