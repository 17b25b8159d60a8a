#!/usr/bin/env bash
# Two skiff-masters on one real etcd (started here on free loopback ports), driven by kubectl:
# a pod created through master A is listed and watched through master B; a stale update through B
# after A's update is a 409 Conflict; one master holds the kube-system/skiff-master Lease and runs
# the controllers; killed with SIGKILL, the other takes over within the lease duration and its
# controllers work (a Deployment gets its ReplicaSet). Exit 77 (skip) without etcd or kubectl.
set -uo pipefail

src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
master=${SKIFF_MASTER_BIN:-}
if [[ -z $master && -n ${SKIFF_BIN:-} ]]; then master=$(dirname "$SKIFF_BIN")/../master/skiff-master; fi
[[ -n $master ]] || master=$src/build/master/skiff-master
[[ -x $master ]] || { echo "SKIP: skiff-master not built at $master"; exit 77; }
etcd=$(command -v etcd || true)
[[ -n $etcd ]] || { echo "SKIP: no etcd (apt-get install etcd-server)"; exit 77; }
kubectl=${SKIFF_KUBECTL:-}
if [[ -z $kubectl ]]; then
  for k in /usr/bin/kubectl /opt/skiff-kubectl-1.20/usr/bin/kubectl "$(command -v kubectl)"; do
    [[ -x $k ]] || continue
    if "$k" version --client 2>/dev/null | grep -q 'Minor:"20"'; then kubectl=$k; break; fi
  done
  [[ -n $kubectl ]] || kubectl=$(command -v kubectl || true)
fi
[[ -n $kubectl ]] || { echo "SKIP: no kubectl (apt-get install kubernetes-client)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 needed to pick free ports"; exit 77; }

work=$(mktemp -d /tmp/skiff-master-ha.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home
mkdir -p "$HOME"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
expect_out() {
  local desc=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [[ $rc -eq 0 ]] && grep -qE -- "$pattern" <<<"$out"; then pass "$desc"; else
    fail "$desc: rc=$rc, wanted /$pattern/, got:"; sed 's/^/    /' <<<"$out"; fi
}
expect_err() {
  local desc=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [[ $rc -ne 0 ]] && grep -qF -- "$pattern" <<<"$out"; then pass "$desc"; else
    fail "$desc: rc=$rc, wanted '$pattern', got:"; sed 's/^/    /' <<<"$out"; fi
}

ec=$(free_port) ep=$(free_port)
etcd_dir=$work/etcd
[[ -w /dev/shm ]] && etcd_dir=$(mktemp -d /dev/shm/skiff-ha-etcd.XXXXXX) && trap 'cleanup; rm -rf "$etcd_dir"' EXIT
"$etcd" --name ha --data-dir "$etcd_dir/data" --listen-client-urls "http://127.0.0.1:$ec" \
  --advertise-client-urls "http://127.0.0.1:$ec" --listen-peer-urls "http://127.0.0.1:$ep" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ep" --initial-cluster "ha=http://127.0.0.1:$ep" \
  --log-level error >"$work/etcd.log" 2>&1 &
pids+=($!)
etcd_url=http://127.0.0.1:$ec

lease=3s
start_master() {  # NAME PORT
  local name=$1 port=$2
  "$master" --data-dir "$work/$name" --listen "127.0.0.1:$port" --store etcd \
    --etcd-endpoints "$etcd_url" --leader-elect-lease-duration $lease \
    --node-monitor-grace-period 10m >>"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  eval "pid_$name=$pid"
  for _ in $(seq 200); do
    grep -q "serving on" "$work/$name.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: skiff-master $name did not start:"; cat "$work/$name.log"; exit 1
}
pa=$(free_port) pb=$(free_port)
start_master a "$pa"
# Masters of one cluster share its CA (kubeadm copies the PKI to each control-plane node).
mkdir -p "$work/b" && cp -a "$work/a/pki" "$work/b/pki"
start_master b "$pb"
"$master" kubeconfig --data-dir "$work/a" --server "https://127.0.0.1:$pa" >"$work/ka"
"$master" kubeconfig --data-dir "$work/a" --server "https://127.0.0.1:$pb" >"$work/kb"
ka() { "$kubectl" --kubeconfig "$work/ka" --request-timeout=20s "$@"; }
kb() { "$kubectl" --kubeconfig "$work/kb" --request-timeout=20s "$@"; }

expect_out "master B serves the cluster master A bootstrapped" 'kube-system +Active' kb get ns
cat >"$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx:1.25}]
YAML
kb get pods --watch-only --output-watch-events >"$work/watch-b" 2>&1 &
watch_pid=$!
pids+=($watch_pid)
sleep 1
expect_out "create through A" 'pod/web created' ka apply -f "$work/pod.yaml"
expect_out "listed through B at once" '^web ' kb get pods --no-headers
ka get pod web -o json >"$work/web-old.json"
expect_out "label through A" 'pod/web labeled' ka label pod web tier=front
expect_out "B sees A's label" '^front$' kb get pod web -o 'jsonpath={.metadata.labels.tier}'
expect_err "a stale update through B after A's is a conflict" \
  'the object has been modified; please apply your changes to the latest version and try again' \
  kb replace -f "$work/web-old.json"
expect_out "delete through A" 'pod "web" deleted' ka delete pod web --wait=false
for _ in $(seq 50); do grep -q DELETED "$work/watch-b" && break; sleep 0.1; done
kill "$watch_pid" 2>/dev/null
expect_out "B's watch saw A's writes in order" '^ADDED web.MODIFIED web.DELETED web.$' \
  bash -c "grep -oE '^(ADDED|MODIFIED|DELETED) +web' '$work/watch-b' | tr -s ' ' | uniq | tr '\n' '.'"

# Leader election: exactly one master runs the controllers.
leader=
for _ in $(seq 100); do
  grep -q "became the leader" "$work/a.log" && leader=a && break
  grep -q "became the leader" "$work/b.log" && leader=b && break
  sleep 0.1
done
[[ -n $leader ]] && pass "master $leader was elected" || fail "no master was elected"
other=$([[ $leader == a ]] && echo b || echo a)
id=$(sed -n 's/.*became the leader as //p' "$work/$leader.log" | head -1)
expect_out "the Lease names the leader" "^$id\$" \
  ka get lease -n kube-system skiff-master -o 'jsonpath={.spec.holderIdentity}'
grep -q "became the leader" "$work/$other.log" && fail "both masters lead" || pass "the other master only serves the API"
# The bootstrap signer is a controller too: cluster-info names the leader's URL, not the last
# master to start.
port_of() { if [[ $1 == a ]]; then echo "$pa"; else echo "$pb"; fi; }
cluster_info_server() { ka get cm -n kube-public cluster-info -o 'jsonpath={.data.kubeconfig}' 2>/dev/null | sed -n 's/^ *server: *//p'; }
for _ in $(seq 50); do [[ $(cluster_info_server) == "https://127.0.0.1:$(port_of "$leader")" ]] && break; sleep 0.1; done
expect_out "cluster-info is signed by the leader (its URL)" "^https://127.0.0.1:$(port_of "$leader")\$" cluster_info_server

lpid=pid_$leader
kill -9 "${!lpid}"
t0=$(date +%s.%N)
for _ in $(seq 100); do grep -q "became the leader" "$work/$other.log" && break; sleep 0.1; done
t1=$(date +%s.%N)
took=$(python3 -c "print(f'{$t1-$t0:.1f}')")
if grep -q "became the leader" "$work/$other.log"; then
  pass "master $other took over ${took}s after the leader was killed (lease $lease)"
else fail "master $other did not take over within 10 s"; fi
ko() { if [[ $other == a ]]; then ka "$@"; else kb "$@"; fi; }
expect_out "the Lease names the new leader" "^$(sed -n 's/.*became the leader as //p' "$work/$other.log" | head -1)\$" \
  ko get lease -n kube-system skiff-master -o 'jsonpath={.spec.holderIdentity}'
cluster_info_server() { ko get cm -n kube-public cluster-info -o 'jsonpath={.data.kubeconfig}' 2>/dev/null | sed -n 's/^ *server: *//p'; }
for _ in $(seq 50); do [[ $(cluster_info_server) == "https://127.0.0.1:$(port_of "$other")" ]] && break; sleep 0.1; done
expect_out "the new leader's bootstrap signer took cluster-info over" "^https://127.0.0.1:$(port_of "$other")\$" cluster_info_server
cat >"$work/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: nginx:1.25}]
YAML
expect_out "the new leader's controllers run" 'deployment.apps/app created' \
  ko apply -f "$work/deploy.yaml"
rs=
for _ in $(seq 100); do rs=$(ko get rs -o name 2>/dev/null); [[ -n $rs ]] && break; sleep 0.1; done
[[ $rs == replicaset.apps/app-* ]] && pass "the Deployment got its ReplicaSet ($rs)" || fail "no ReplicaSet: $rs"

if ((failures)); then
  echo "--- a.log"; tail -20 "$work/a.log"; echo "--- b.log"; tail -20 "$work/b.log"
  echo "$failures check(s) failed"; exit 1
fi
echo "all master HA checks passed"
