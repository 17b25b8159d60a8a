#!/usr/bin/env bash
# kubectl logs through skiff-master to the pod's kubelet: a test-only HTTPS server (python3, a
# throw-away self-signed certificate) plays the kubelet at the Node's InternalIP and
# daemonEndpoints port; the master proxies GET /containerLogs/NS/POD/C with the log options and
# presents its client certificate. Exit 77 (skip) without kubectl, python3 or openssl.
set -uo pipefail

src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
master=${SKIFF_MASTER_BIN:-}
if [[ -z $master && -n ${SKIFF_BIN:-} ]]; then master=$(dirname "$SKIFF_BIN")/../master/skiff-master; fi
[[ -n $master ]] || master=$src/build/master/skiff-master
[[ -x $master ]] || { echo "SKIP: skiff-master not built at $master"; exit 77; }
kubectl=${SKIFF_KUBECTL:-}
if [[ -z $kubectl ]]; then
  for k in /usr/bin/kubectl /opt/skiff-kubectl-1.20/usr/bin/kubectl "$(command -v kubectl)"; do
    [[ -x $k ]] || continue
    if "$k" version --client 2>/dev/null | grep -q 'Minor:"20"'; then kubectl=$k; break; fi
  done
  [[ -n $kubectl ]] || kubectl=$(command -v kubectl || true)
fi
[[ -n $kubectl ]] || { echo "SKIP: no kubectl (apt-get install kubernetes-client)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }

work=$(mktemp -d /tmp/skiff-master-logs.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home KUBECONFIG=$work/kubeconfig
mkdir -p "$HOME"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The fake kubelet: answers /containerLogs/NS/POD/C with a line naming the container and the
# query, records each request and whether a client certificate came with it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.key" -out "$work/k.crt" -days 1 \
  -subj /CN=fake-kubelet >/dev/null 2>&1
kport=$(free_port)
cat >"$work/kubelet.py" <<'PY'
import http.server, ssl, sys, time
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        peer = self.connection.getpeercert()
        with open(log, "a") as f:
            f.write(f"{self.path} client-cert={'yes' if peer else 'no'}\n")
        parts = self.path.split("?")[0].split("/")
        if len(parts) != 5 or parts[1] != "containerLogs":
            self.send_response(404); self.end_headers(); return
        if "follow=true" in self.path:
            # Streamed: no length, lines written over time, the end of the connection ends it.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for i in range(3):
                self.wfile.write(f"followed {i} of {parts[4]}\n".encode()); self.wfile.flush()
                time.sleep(0.3)
            self.close_connection = True
            return
        body = f"log line 1 of {parts[4]}\nlog line 2 of {parts[4]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_OPTIONAL
ctx.load_verify_locations(sys.argv[5])
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY

port=$(free_port)
"$master" --data-dir "$work/data" --listen "127.0.0.1:$port" --node-monitor-grace-period 10m \
  >"$work/master.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -qs "serving on" "$work/master.log" && break; sleep 0.1; done
"$master" kubeconfig --data-dir "$work/data" >"$KUBECONFIG" || { echo "FAIL: kubeconfig"; exit 1; }
python3 "$work/kubelet.py" "$kport" "$work/k.crt" "$work/k.key" "$work/requests" "$work/data/pki/ca.crt" &
pids+=($!)
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $kport))" 2>/dev/null && break; sleep 0.1; done

k() { "$kubectl" --request-timeout=20s "$@"; }
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  conditions: [{type: Ready, status: "True"}]
  addresses: [{type: Hostname, address: n1}, {type: InternalIP, address: 127.0.0.1}]
  daemonEndpoints: {kubeletEndpoint: {Port: $kport}}
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
YAML
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: n1
  containers: [{name: app, image: nginx}, {name: side, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: one}
spec:
  nodeName: n1
  containers: [{name: only, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: pending}
spec:
  nodeName: ""
  schedulerName: none
  containers: [{name: c, image: nginx}]
YAML

expect_out "kubectl logs reaches the node's kubelet" '^log line 2 of side$' k logs web -c side
expect_out "the only container is the default" '^log line 1 of only$' k logs one
k logs web -c app --tail=5 --timestamps >/dev/null 2>&1
expect_out "log options pass through" '^/containerLogs/default/web/app\?timestamps=true&tailLines=5 ' \
  bash -c "tail -1 '$work/requests'"
expect_out "the master presents its client certificate" 'client-cert=yes$' bash -c "tail -1 '$work/requests'"
expect_out "logs -f streams until the kubelet ends the stream" \
  '^followed 0 of only.followed 1 of only.followed 2 of only.$' bash -c "$kubectl logs -f one | tr '\n' '.'"
expect_err "two containers need -c" 'a container name must be specified for pod web, choose one of: [app side]' \
  k logs web
expect_err "an unknown container" 'container nope is not valid for pod web' k logs web -c nope
expect_err "an unscheduled pod" 'pod pending does not have a host assigned' k logs pending
kill -9 "${pids[1]}" 2>/dev/null; wait "${pids[1]}" 2>/dev/null
expect_err "a kubelet that does not answer" "dial kubelet https://127.0.0.1:$kport" k logs one

if ((failures)); then echo "--- master.log"; tail -20 "$work/master.log"; echo "$failures check(s) failed"; exit 1; fi
echo "all master logs checks passed"
