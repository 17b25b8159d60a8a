#!/usr/bin/env bash
# kubectl's streaming verbs through skiff-master to a real kubelet and real pods: one node of
# scripts/netns-cluster.sh joined to the master, one pod with two busybox containers. kubectl exec
# (output, exit status, stdin piped, a tty with its size), exec into a missing container (a clear
# error), a node identity's exec refused (403), kubectl logs -f seeing a line written after it
# started (and the kubelet's follower gone when kubectl is), kubectl port-forward to an httpd in
# the pod. kubectl 1.30+ tries WebSockets first: the master refuses them and kubectl falls back to
# SPDY/3.1, which is what the kubelet speaks. Exit 77 (skip) without root, kubectl, wireguard-go
# or the binaries.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
[[ "$(id -u)" -eq 0 ]] || skip "needs root (network namespaces, pods)"
for tool in wireguard-go wg ip jq python3 nsenter script; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
kubectl=${SKIFF_KUBECTL:-}
if [[ -z $kubectl ]]; then
  for kb in /usr/bin/kubectl /opt/skiff-kubectl-1.20/usr/bin/kubectl "$(command -v kubectl)"; do
    [[ -x $kb ]] || continue
    if "$kb" version --client 2>/dev/null | grep -q 'Minor:"20"'; then kubectl=$kb; break; fi
  done
  [[ -n $kubectl ]] || kubectl=$(command -v kubectl || true)
fi
[[ -n $kubectl ]] || skip "no kubectl (apt-get install kubernetes-client)"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (wireguard-go needs TUN)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
master="$build/master/skiff-master" kubelet="$build/kubelet/skiff-kubelet"
skiff="$build/runtime/skiff" skiffpod="$build/kubelet/skiff-pod"
export SKIFF_NET="$build/cni/skiff-net" SKIFF_CNI_DIR="$build/cni"
for b in "$master" "$kubelet" "$skiff" "$skiffpod" "$SKIFF_NET" "$SKIFF_CNI_DIR/skiff-bridge"; do
  [[ -x "$b" ]] || skip "\`$b' not built"
done

work="$(mktemp -d /tmp/skiff-e2e-stream.XXXXXX)"
export NC_NAME="sks$(($$ % 10000))" NC_ROOT="$work/nc" NC_UNDERLAY=248 NC_POD_NET=247
source "$repo/scripts/netns-cluster.sh"
ul="$NC_NAME-ul"
port=6443
kpid="" mpid="" bg=()
cleanup() {
  local p
  for p in "${bg[@]}"; do kill -9 "$p" 2>/dev/null; done
  [[ -n $kpid ]] && kill -9 "$kpid" 2>/dev/null
  if [[ -d "$work/n1/state" ]]; then
    for p in $(pod_cmd ls -o json 2>/dev/null | jq -r '.[] | "\(.namespace)/\(.name)"'); do
      pod_cmd -n "${p%%/*}" rm -f "${p#*/}" >/dev/null 2>&1
    done
  fi
  [[ -n $mpid ]] && kill -9 "$mpid" 2>/dev/null
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
inul() { ip netns exec "$ul" "$@"; }
k() { inul "$kubectl" --kubeconfig "$work/admin.kubeconfig" --request-timeout=20s "$@"; }
roots() {
  local d="$work/n1"
  echo --state-root "$d/state" --run-root "$d/run" --log-root "$d/log" --image-root "$d/images" \
    --snapshot-root "$d/snapshots" --cni-conf-dir "$d/net.d" --cni-cache-dir "$d/cni-cache" \
    --cni-data-dir "$d/cni-data"
}
pod_cmd() {  # skiff-pod against the node's roots, in its network namespace
  local d="$work/n1"
  nsenter --net="/run/netns/$NC_NAME-n1" "$skiffpod" --state-root "$d/state" --run-root "$d/run" \
    --log-root "$d/log" --image-root "$d/images" --snapshot-root "$d/snapshots" "$@"
}
wait_for() {  # wait_for SECONDS CMD...: retries CMD every 0.2 s
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}

# --- one node joined to the master ---
nc_up 1 || { fail "netns cluster up"; exit 1; }
inul ip addr add "10.$NC_UNDERLAY.0.254/24" dev ul0
# Not through a shell function: $! must be the master itself (ip netns exec execs it).
ip netns exec "$ul" "$master" --data-dir "$work/master" --listen "10.$NC_UNDERLAY.0.254:$port" \
  --node-monitor-grace-period 10m >"$work/master.log" 2>&1 &
mpid=$!
wait_for 20 test -s "$work/master/server-url" || { cat "$work/master.log"; fail "master up"; exit 1; }
"$master" kubeconfig --data-dir "$work/master" >"$work/admin.kubeconfig"
join_cmd=$(inul "$master" token create --data-dir "$work/master" --ttl 1h)
token=$(sed -E 's/.*--token ([^ ]+).*/\1/' <<<"$join_cmd")
hash=$(sed -E 's/.*--ca-cert-hash ([^ ]+).*/\1/' <<<"$join_cmd")
"$repo/scripts/fixtures/make-busybox-bundle.sh" "$work/bb" --rootfs-only \
  --oci-layout "$work/bb-oci" >/dev/null 2>&1 || skip "cannot build the busybox fixture image"
mkdir -p "$work/n1/net.d"
_nc_conf 1 | jq '{cniVersion, name, plugins: [del(.cniVersion, .name)]}' \
  >"$work/n1/net.d/10-skiff.conflist"
"$skiff" image import --image-root "$work/n1/images" "$work/bb-oci" busybox:1.35 >/dev/null ||
  fail "import busybox"
# shellcheck disable=SC2046
nsenter --net="/run/netns/$NC_NAME-n1" "$kubelet" join "https://10.$NC_UNDERLAY.0.254:$port" \
  --token "$token" --ca-cert-hash "$hash" --run --node-name node1 --data-dir "$work/n1/kubelet" \
  $(roots) >>"$work/kubelet.log" 2>&1 &
kpid=$!

cat <<'YAML' | k apply --validate=false -f - >/dev/null || fail "apply the pod"
apiVersion: v1
kind: Pod
metadata: {name: sp}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, "echo first; while [ ! -e /tmp/go ]; do sleep 0.2; done; echo second; exec sleep 600"]
  - name: web
    image: busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, "mkdir -p /www && echo hello-through-port-forward >/www/index.html && exec httpd -f -p 8080 -h /www"]
YAML
running() { [[ "$(k get pod sp -o jsonpath='{.status.phase}')" == Running ]]; }
if ! wait_for 60 running; then
  fail "pod sp Running"
  k get pod sp -o yaml | sed -n '/^status:/,$p'
  tail -30 "$work/kubelet.log"
  exit 1
fi

# --- exec ---
out=$(k exec sp -c main -- cat /etc/hostname 2>"$work/err")
[[ $out == sp ]] && pass "kubectl exec: cat /etc/hostname prints the pod's hostname" ||
  fail "kubectl exec cat /etc/hostname: '$out' $(cat "$work/err")"
k exec sp -c main -- sh -c 'echo to-stderr >&2; exit 3' >/dev/null 2>"$work/err"
rc=$?
[[ $rc == 3 ]] && grep -q to-stderr "$work/err" &&
  pass "kubectl exec: exit status 3 propagates, stderr on its own stream" ||
  fail "exec exit code: $rc, stderr $(cat "$work/err")"
out=$(echo "hello through stdin" | k exec -i sp -c main -- cat 2>&1)
[[ $out == "hello through stdin" ]] && pass "kubectl exec -i: stdin piped to the command" ||
  fail "exec -i: '$out'"
head -c 300000 /dev/urandom >"$work/blob"
want=$(md5sum <"$work/blob" | cut -d' ' -f1)
got=$(k exec -i sp -c main -- md5sum <"$work/blob" 2>&1 | cut -d' ' -f1)
[[ $got == "$want" ]] && pass "kubectl exec -i: 300 kB of stdin arrive intact ($got)" ||
  fail "exec -i 300 kB: md5 '$got', want $want"
out=$(k exec sp -c main -- sh -c 'head -c 500000 /dev/zero | tr "\0" x' 2>&1 | wc -c)
[[ $out == 500000 ]] && pass "kubectl exec: 500 kB of stdout arrive whole" ||
  fail "exec stdout 500 kB: $out bytes"
# A tty: kubectl sends the terminal's size (stty inside `script`'s pty) before the command runs.
out=$(script -qc "stty cols 91 rows 27; ip netns exec $ul $kubectl --kubeconfig $work/admin.kubeconfig exec -it sp -c main -- sh -c 'tty; stty size; exit 4'; echo \"rc=\$?\"" /dev/null </dev/null 2>&1 | tr -d '\r')
# (The pty's echo may put `^@' before the output: grep anywhere in the line.)
if grep -q '/dev/pts/[0-9]' <<<"$out" && grep -q '^27 91$' <<<"$out" && grep -q 'rc=4' <<<"$out"; then
  pass "kubectl exec -it: a pty of 91x27 in the container, exit status 4"
else
  fail "exec -it: $out"
fi
out=$(k exec sp -c nope -- true 2>&1)
rc=$?
[[ $rc != 0 && $out == *"container nope is not valid for pod sp"* ]] &&
  pass "kubectl exec into a missing container: '$out'" || fail "exec -c nope: rc $rc '$out'"
out=$(k exec sp -c main 2>&1)
[[ $? != 0 ]] && pass "kubectl exec without a command fails" || fail "exec without command: $out"
# The node's own identity (its kubeconfig from the join) may read its pods but not exec in them.
nodecfg="$work/n1/kubelet/credentials/kubeconfig"
out=$(inul "$kubectl" --kubeconfig "$nodecfg" --request-timeout=20s exec sp -c main -- true 2>&1)
rc=$?
[[ $rc != 0 && $out == *forbidden* && $out == *system:node:node1* ]] &&
  pass "a node identity's exec is refused (403)" || fail "node exec: rc $rc '$out'"
inul python3 - "10.$NC_UNDERLAY.0.254" "$port" "$work/n1/kubelet/credentials" <<'PY' &&
import http.client, ssl, sys
ctx = ssl._create_unverified_context()
ctx.load_cert_chain(sys.argv[3] + "/kubelet-client.crt", sys.argv[3] + "/kubelet-client.key")
c = http.client.HTTPSConnection(sys.argv[1], int(sys.argv[2]), context=ctx, timeout=10)
c.request("POST", "/api/v1/namespaces/default/pods/sp/exec?command=true&container=main&stdout=true",
          headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                   "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
r = c.getresponse()
sys.exit(0 if r.status == 403 else 1)
PY
  pass "the node certificate's pods/exec upgrade is answered 403" || fail "node cert exec not 403"

# --- logs -f: a line written after kubectl started ---
# `ip netns exec` execs kubectl: $! is kubectl's pid (a shell function would be a subshell's).
ip netns exec "$ul" "$kubectl" --kubeconfig "$work/admin.kubeconfig" logs -f sp -c main \
  >"$work/follow" 2>&1 &
bg+=($!)
follower=$!
wait_for 10 grep -q first "$work/follow" || fail "logs -f: no first line: $(cat "$work/follow")"
k exec sp -c main -- touch /tmp/go >/dev/null 2>&1 || fail "touch /tmp/go"
if wait_for 10 grep -q second "$work/follow"; then
  pass "kubectl logs -f sees a line written after it started"
else
  fail "logs -f: $(cat "$work/follow")"
fi
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null
following() { pgrep -f "logs sp -c main -f" >/dev/null; }
wait_for 10 eval '! following' && pass "the kubelet's follower ends when kubectl logs -f goes" ||
  fail "skiff-pod logs -f still runs: $(pgrep -af 'logs sp -c main -f')"

# --- port-forward ---
ip netns exec "$ul" "$kubectl" --kubeconfig "$work/admin.kubeconfig" port-forward pod/sp 18080:8080 \
  >"$work/pf" 2>&1 &
bg+=($!)
pf=$!
get() {
  inul python3 -c '
import urllib.request, sys
print(urllib.request.urlopen("http://127.0.0.1:18080/", timeout=5).read().decode().strip())'
}
if wait_for 15 grep -q "Forwarding from" "$work/pf" && [[ "$(get)" == hello-through-port-forward ]] &&
  [[ "$(get)" == hello-through-port-forward ]]; then
  pass "kubectl port-forward: two HTTP requests reach httpd inside the pod"
else
  fail "port-forward: $(get 2>&1 | tail -1) / $(cat "$work/pf")"
fi
inul python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 18080), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 0)
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
assert b"hello-through-port-forward" in data, data' 2>/dev/null &&
  pass "port-forward: the pod's close reaches the client (HTTP/1.0 read to EOF)" ||
  fail "port-forward EOF"
kill "$pf" 2>/dev/null
wait "$pf" 2>/dev/null

# --- clean-up through the API ---
k delete pod sp --wait=true >/dev/null 2>&1 || fail "delete pod sp"
wait_for 15 eval '[[ "$(pod_cmd ls -o json | jq length)" == 0 ]]' &&
  pass "nothing of sp left on the node" || fail "node still has: $(pod_cmd ls)"
[[ -z "$(pgrep -f "skiff-pod --state-root $work/n1/state.* exec")" ]] &&
  pass "no exec process left on the node" || fail "exec left: $(pgrep -af "$work/n1/state.* exec")"

if ((failures)); then
  echo "--- master log"; tail -20 "$work/master.log"
  echo "--- kubelet log"; tail -40 "$work/kubelet.log"
  echo "$failures failure(s)"
  exit 1
fi
echo "all stream checks passed"
