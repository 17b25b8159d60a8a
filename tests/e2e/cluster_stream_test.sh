#!/usr/bin/env bash
# kubectl's streaming verbs through skiff-master to a real kubelet and real pods: one node of
# scripts/netns-cluster.sh joined to the master, one pod with five busybox containers. kubectl exec
# (output, exit status, stdin piped, a tty with its size), exec into a missing container (a clear
# error), a node identity's exec refused (403), kubectl logs -f seeing a line written after it
# started (and the kubelet's follower gone when kubectl is), logs --tail/--timestamps/--limit-bytes/
# --since/--since-time and -f --tail, a bad sinceSeconds and an unknown container refused, kubectl
# attach to a ticking container (output from now on) and -it to a stdin+tty shell (input, its
# terminal size, the session ending with it) and -i to a stdinOnce one, kubectl port-forward to
# an httpd in the pod. kubectl 1.30+ tries WebSockets first: the master refuses them and kubectl
# falls back to SPDY/3.1, which is what the kubelet speaks. Exit 77 (skip) without root, kubectl, wireguard-go
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
  - name: tick
    image: busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
  - name: term
    image: busybox:1.35
    imagePullPolicy: Never
    stdin: true
    tty: true
    command: [sh]
  - name: once
    image: busybox:1.35
    imagePullPolicy: Never
    stdin: true
    stdinOnce: true
    command: [sh, -c, "cat; echo stdin-closed"]
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

# --- logs options (the kubelet's /containerLogs query, passed through by the master) ---
out=$(k logs sp -c main --tail=1 2>&1)
[[ $out == second ]] && pass "logs --tail=1: the last line" || fail "logs --tail=1: '$out'"
out=$(k logs sp -c main --timestamps 2>&1)
grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z first$' <<<"$out" &&
  grep -Eq 'Z second$' <<<"$out" && pass "logs --timestamps: each line after its RFC3339Nano time" ||
  fail "logs --timestamps: '$out'"
out=$(k logs sp -c main --limit-bytes=5 2>&1)
[[ $out == first ]] && pass "logs --limit-bytes=5: 'first' only" || fail "logs --limit-bytes: '$out'"
out=$(k logs sp -c main --since=1h 2>&1)
[[ $out == $'first\nsecond' ]] || fail "logs --since=1h: '$out'"
out2=$(k logs sp -c main --since-time=2099-01-01T00:00:00Z 2>&1)
[[ $out == $'first\nsecond' && -z $out2 ]] &&
  pass "logs --since=1h shows both lines, --since-time in the future none" ||
  fail "logs --since-time future: '$out2'"
out=$(k logs sp -c tick --since=1s 2>&1 | wc -l)
all=$(k logs sp -c tick 2>&1 | wc -l)
((out >= 2 && out <= 8 && all > out + 5)) && pass "logs --since=1s: $out of $all lines" ||
  fail "logs --since=1s: $out of $all lines"
out=$(k get --raw "/api/v1/namespaces/default/pods/sp/log?container=main&sinceSeconds=abc" 2>&1)
[[ $? != 0 && $out == *"invalid sinceSeconds"* ]] && pass "a bad sinceSeconds is refused: $out" ||
  fail "sinceSeconds=abc: '$out'"
# The kubelet itself (with the master's client certificate): 400 for bad options, 404 for an
# unknown container, each with its message.
out=$(inul python3 - "10.$NC_UNDERLAY.0.1" "$work/master/pki" <<'PY' 2>&1
import http.client, ssl, sys
ctx = ssl._create_unverified_context()
ctx.load_cert_chain(sys.argv[2] + "/admin.crt", sys.argv[2] + "/admin.key")
for path in ["/containerLogs/default/sp/main?sinceSeconds=-5",
             "/containerLogs/default/sp/main?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
             "/containerLogs/default/sp/main?tailLines=x", "/containerLogs/default/sp/nope?follow=true"]:
    c = http.client.HTTPSConnection(sys.argv[1], 10250, context=ctx, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    print(r.status, r.read().decode().strip())
PY
)
[[ $out == "400 invalid sinceSeconds -5: must be greater than 0
400 at most one of sinceTime or sinceSeconds may be specified
400 invalid tailLines \"x\": must be an integer
404 container \`nope\` not found in pod default/sp" ]] &&
  pass "the kubelet's /containerLogs refuses bad options (400) and an unknown container (404)" ||
  fail "kubelet /containerLogs bad input: $out"
out=$(k logs -p sp -c main 2>&1)
[[ $? != 0 && $out == *"previous terminated container \`main\` not found"* ]] &&
  pass "logs -p of a container that never restarted: '$out'" || fail "logs -p main: '$out'"
out=$(k logs sp -c nope 2>&1)
[[ $? != 0 && $out == *"container nope is not valid for pod sp"* ]] &&
  pass "logs of an unknown container: '$out'" || fail "logs -c nope: '$out'"
# -f with --tail=2: the last two lines there are, then new ones.
last=$(k logs sp -c tick --tail=1 | awk '{print $2}')
timeout 2 ip netns exec "$ul" "$kubectl" --kubeconfig "$work/admin.kubeconfig" logs -f --tail=2 \
  sp -c tick >"$work/ftail" 2>&1
first=$(head -1 "$work/ftail" | awk '{print $2}')
n=$(wc -l <"$work/ftail")
# (kubectl's start under load may take a second: up to 15 lines later is still "the end")
[[ -n $first && -n $last ]] && ((first >= last - 1 && first <= last + 15 && n >= 3)) &&
  pass "logs -f --tail=2: starts at tick $first (last was $last), $n lines in 2 s" ||
  fail "logs -f --tail=2: last $last, got: $(head -3 "$work/ftail")... ($n lines)"

# --- attach ---
last=$(k logs sp -c tick --tail=1 | awk '{print $2}')
timeout 2.5 ip netns exec "$ul" "$kubectl" --kubeconfig "$work/admin.kubeconfig" attach sp \
  -c tick >"$work/attach" 2>&1
first=$(grep -m1 '^tick' "$work/attach" | awk '{print $2}')
n=$(grep -c '^tick' "$work/attach")
[[ -n $first && -n $last ]] && ((first > last && n >= 2)) &&
  pass "kubectl attach (output only): $n new lines from tick $first on (the log was at $last)" ||
  fail "attach tick: last $last: $(head -5 "$work/attach")"
# A stdin+tty container: the input reaches its shell, the terminal has kubectl's size, and the
# session ends with the shell.
out=$( (sleep 2; printf 'stty size; echo hi-$((2+3)); exit 5\n'; sleep 4) |
  script -qc "stty cols 77 rows 22; ip netns exec $ul $kubectl --kubeconfig $work/admin.kubeconfig attach -it sp -c term; echo \"rc=\$?\"" /dev/null 2>&1 | tr -d '\r')
if grep -q 'hi-5' <<<"$out" && grep -q '^22 77$' <<<"$out" && grep -q 'rc=' <<<"$out"; then
  pass "kubectl attach -it: the shell ran the input (hi-5) on a 77x22 terminal and ended the session"
else
  fail "attach -it: $out"
fi
# stdinOnce: the input of the first session reaches the container; when it ends, the container's
# stdin is closed (cat ends and it restarts: its previous log has both).
(printf 'via-attach\n'; sleep 2) | timeout 4 ip netns exec "$ul" "$kubectl" \
  --kubeconfig "$work/admin.kubeconfig" attach -i sp -c once >"$work/once" 2>&1
restarted() { [[ "$(k get pod sp -o jsonpath='{.status.containerStatuses[?(@.name=="once")].restartCount}')" -ge 1 ]]; }
if grep -q via-attach "$work/once" && wait_for 10 restarted &&
  [[ "$(k logs -p sp -c once 2>&1)" == $'via-attach\nstdin-closed' ]]; then
  pass "kubectl attach -i to a stdinOnce container: input arrives, its stdin closes with the session"
else
  fail "attach stdinOnce: $(cat "$work/once") / previous log: $(k logs -p sp -c once 2>&1) / $(k get pod sp -o json | jq -c '.status.containerStatuses[] | select(.name=="once")') / $(grep -h attach "$work"/n1/state/*/shim.log)"
fi
out=$(timeout 10 ip netns exec "$ul" "$kubectl" --kubeconfig "$work/admin.kubeconfig" logs -p -f \
  --timestamps sp -c once 2>&1)
[[ $? == 0 && $(sed -E 's/^[0-9T:.-]+Z //' <<<"$out") == $'via-attach\nstdin-closed' ]] &&
  pass "logs -p -f --timestamps: the ended run's lines, then the end" || fail "logs -p -f: '$out'"
# kubectl checks the container itself; the master's answer to an unknown one, and the kubelet's
# to a container that is not running (init containers are done), are 400s with the reason.
inul python3 - "10.$NC_UNDERLAY.0.254" "$port" "$work/master/pki" "10.$NC_UNDERLAY.0.1" <<'PY' >"$work/anope" 2>&1
import http.client, ssl, sys
ctx = ssl._create_unverified_context()
ctx.load_cert_chain(sys.argv[3] + "/admin.crt", sys.argv[3] + "/admin.key")
up = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io"}
c = http.client.HTTPSConnection(sys.argv[1], int(sys.argv[2]), context=ctx, timeout=10)
c.request("POST", "/api/v1/namespaces/default/pods/sp/attach?container=nope&stdout=true", headers=up)
r = c.getresponse()
body = r.read().decode()
print(r.status, body)
ok = r.status == 400 and "container nope is not valid for pod sp" in body
c = http.client.HTTPSConnection(sys.argv[4], 10250, context=ctx, timeout=10)
c.request("POST", "/attach/default/ghost/main?output=1", headers=up)
r = c.getresponse()
body = r.read().decode()
print(r.status, body)
sys.exit(0 if ok and r.status == 404 and "ghost" in body else 1)
PY
[[ $? == 0 ]] && pass "attach to an unknown container (400) or pod (404) is refused with the reason" ||
  fail "attach refusals: $(cat "$work/anope")"

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
