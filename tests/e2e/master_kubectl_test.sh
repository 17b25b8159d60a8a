#!/usr/bin/env bash
# skiff-master driven by the real kubectl (Debian's kubernetes-client, 1.20): a master on
# 127.0.0.1:<free port> with a temporary data dir; apply/get/describe/label/annotate/scale/patch/
# delete with each cascade, watch, the error cases as kubectl prints them, authentication, and a
# restart (SIGTERM and SIGKILL) that keeps everything. Exit 77 (skip) when kubectl is missing.
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
fi
if [[ -z $kubectl ]]; then
  kubectl=$(command -v kubectl || true)
  [[ -n $kubectl ]] || { echo "SKIP: no kubectl (apt-get install kubernetes-client)"; exit 77; }
  echo "note: kubectl 1.20 not found; using $("$kubectl" version --client 2>/dev/null | head -1)"
fi
command -v python3 >/dev/null || { echo "SKIP: python3 needed to pick a free port"; exit 77; }

work=$(mktemp -d /tmp/skiff-master-e2e.XXXXXX)
pid=
etcd_pid=
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ -n $etcd_pid ]] && kill -9 "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
# SKIFF_MASTER_STORE=etcd: the same suite on a real etcd started here (master_kubectl_etcd_test.sh).
store_flags=()
if [[ ${SKIFF_MASTER_STORE:-sqlite} == etcd ]]; then
  command -v etcd >/dev/null || { echo "SKIP: no etcd (apt-get install etcd-server)"; exit 77; }
  free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  ec=$(free) ep=$(free)
  etcd --name e2e --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$ec" \
    --advertise-client-urls "http://127.0.0.1:$ec" --listen-peer-urls "http://127.0.0.1:$ep" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ep" \
    --initial-cluster "e2e=http://127.0.0.1:$ep" --log-level error >"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  store_flags=(--store etcd --etcd-endpoints "http://127.0.0.1:$ec")
  echo "store: etcd at http://127.0.0.1:$ec"
fi
export HOME=$work/home KUBECONFIG=$work/kubeconfig
mkdir -p "$HOME"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
k() { "$kubectl" --request-timeout=20s "$@"; }
# expect_out DESC PATTERN CMD...: CMD succeeds and its output matches PATTERN (grep -E).
expect_out() {
  local desc=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [[ $rc -eq 0 ]] && grep -qE -- "$pattern" <<<"$out"; then pass "$desc"; else
    fail "$desc: rc=$rc, wanted /$pattern/, got:"; sed 's/^/    /' <<<"$out"; fi
}
# expect_err DESC PATTERN CMD...: CMD fails and its output matches PATTERN (grep -F: exact text).
expect_err() {
  local desc=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [[ $rc -ne 0 ]] && grep -qF -- "$pattern" <<<"$out"; then pass "$desc"; else
    fail "$desc: rc=$rc, wanted '$pattern', got:"; sed 's/^/    /' <<<"$out"; fi
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: a raw HTTPS request as admin (or anonymous with
# ANON=1); prints the status code and the body. python3 is in the dependency list, curl is not.
api() {
  python3 - "$@" <<'PY'
import http.client, os, ssl, sys
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3] if len(sys.argv) > 3 else None
ctype = sys.argv[4] if len(sys.argv) > 4 else "application/merge-patch+json"
ctx = ssl.create_default_context(cafile=os.environ["DATA"] + "/pki/ca.crt")
if not os.environ.get("ANON"):
    ctx.load_cert_chain(os.environ["DATA"] + "/pki/admin.crt", os.environ["DATA"] + "/pki/admin.key")
c = http.client.HTTPSConnection("127.0.0.1", int(os.environ["PORT"]), context=ctx, timeout=20)
c.request(method, path, body=body, headers={"Content-Type": ctype} if body else {})
r = c.getresponse()
print(r.status, r.read().decode())
PY
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$work/data
export DATA=$data PORT=$port
start_master() {
  "$master" --data-dir "$data" --listen "127.0.0.1:$port" --service-cidr 10.97.0.0/16 "${store_flags[@]}" \
    --cluster-cidr 10.250.0.0/16 ${extra_flags:---node-monitor-grace-period 10m} \
    >>"$work/master.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q "serving on" "$work/master.log" 2>/dev/null && [[ $(grep -c "serving on" "$work/master.log") -ge $1 ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: skiff-master did not start:"; cat "$work/master.log"; exit 1
}
start_master 1
"$master" kubeconfig --data-dir "$data" >"$KUBECONFIG" || { echo "FAIL: kubeconfig"; exit 1; }
echo "kubectl: $("$kubectl" version --client --short 2>/dev/null || "$kubectl" version --client | head -1)"

# PKI: keys are private.
for f in ca.key apiserver.key admin.key; do
  mode=$(stat -c %a "$data/pki/$f")
  [[ $mode == 600 ]] && pass "pki/$f is 0600" || fail "pki/$f has mode $mode"
done

expect_out "version" 'Server Version.*v1\.20\.0-skiff' k version
expect_out "readyz" '^ok$' k get --raw /readyz
expect_out "default namespaces" 'kube-system +Active' k get ns
expect_out "kubernetes service gets the first ClusterIP" 'kubernetes +ClusterIP +10\.97\.0\.1 ' k get svc
expect_out "default service account" '^default ' k get sa

cat >"$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx:1.25
    ports: [{containerPort: 80}]
YAML
expect_out "apply creates" 'pod/web created' k apply -f "$work/pod.yaml"
expect_out "apply again is unchanged" 'pod/web unchanged' k apply -f "$work/pod.yaml"
sed -i 's/nginx:1.25/nginx:1.26/' "$work/pod.yaml"
expect_out "apply with a new image configures" 'pod/web configured' k apply -f "$work/pod.yaml"
expect_out "the image changed" '^nginx:1\.26$' k get pod web -o 'jsonpath={.spec.containers[0].image}'
expect_out "get pods columns" '^NAME +READY +STATUS +RESTARTS +AGE$' k get pods
expect_out "get pods row" '^web +0/1 +Pending +0 +[0-9]+s$' k get pods
expect_out "get -o wide adds IP and NODE" '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE ' k get pods -o wide
expect_out "get -o yaml" 'resourceVersion: "[0-9]+"' k get pod web -o yaml
expect_out "get -o json" '"uid": "[0-9a-f-]{36}"' k get pod web -o json
expect_out "defaults are filled" '^Always/ClusterFirst/IfNotPresent/TCP$' \
  k get pod web -o 'jsonpath={.spec.restartPolicy}/{.spec.dnsPolicy}/{.spec.containers[0].imagePullPolicy}/{.spec.containers[0].ports[0].protocol}'
expect_out "describe" 'QoS Class: +BestEffort' k describe pod web
expect_out "explain pods.spec.containers (OpenAPI v2 with descriptions)" \
  'RESOURCE: containers <\[\]Object>' k explain pods.spec.containers
expect_out "explain lists the container's fields" $'image\t<string>' k explain pods.spec.containers
expect_out "explain pods" 'Pod is a collection of containers' k explain pods
expect_out "the OpenAPI document as JSON" '"io.k8s.api.core.v1.PodSpec"' k get --raw /openapi/v2
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec:\n  containers: [{name: c, image: x, imagee: y}]\n' >"$work/typo.yaml"
expect_err "kubectl validates pods against the schema" \
  'unknown field "imagee" in io.k8s.api.core.v1.Container' k apply -f "$work/typo.yaml"

# The other served kinds have definitions too: explain, validation, and apply merging lists by
# their patch merge keys (a Service's ports by port: the defaulted protocol and targetPort do not
# make a re-apply a change).
expect_out "explain deployment.spec" $'template\t<Object> -required-' k explain deployment.spec
expect_out "explain deployment.spec.template.spec.containers" 'RESOURCE: containers <\[\]Object>' \
  k explain deployment.spec.template.spec.containers
expect_out "explain service.spec.ports" $'targetPort\t<' k explain service.spec.ports
for kind in replicaset configmap secret node namespace; do
  expect_out "explain $kind" 'FIELDS:' k explain "$kind"
done
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\nspec:\n  replica: 1\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}\n' >"$work/typo-deploy.yaml"
expect_err "kubectl validates deployments against the schema" \
  'unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec' k apply -f "$work/typo-deploy.yaml"
cat >"$work/kinds.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: applied}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: applied}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: https, port: 443}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: applied}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: applied}
data: {password: aHVudGVyMg==}
YAML
expect_out "apply of a namespace, service, configmap and secret" 'secret/sec created' k apply -f "$work/kinds.yaml"
expect_out "applied again: all unchanged" '^namespace/applied unchanged.service/svc unchanged.configmap/cfg unchanged.secret/sec unchanged.$' \
  bash -c "\"$kubectl\" apply -f \"$work/kinds.yaml\" | tr '\n' '.'"
sed -i 's/{name: https, port: 443}/{name: https, port: 8443}/' "$work/kinds.yaml"
expect_out "a changed port configures the service" 'service/svc configured' k apply -f "$work/kinds.yaml"
expect_out "the ports merged by port" '^80 8443$' k get svc -n applied svc -o 'jsonpath={.spec.ports[*].port}'
k delete ns applied --wait=false >/dev/null

cat >"$work/bad.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web2}
spec:
  containers:
  - name: web
YAML
expect_err "invalid pod, as kubectl prints it" \
  'The Pod "web2" is invalid: spec.containers[0].image: Required value' k apply -f "$work/bad.yaml"
expect_err "an invalid pod stores nothing" 'pods "web2" not found' k get pod web2

expect_out "label" 'pod/web labeled' k label pod web tier=front
expect_out "annotate" 'pod/web annotated' k annotate pod web note=hello
expect_out "label selector" '^web ' k get pods -l 'tier=front,app in (web,api),!canary'
expect_out "label selector that matches nothing" 'No resources found' k get pods -l tier=back
expect_err "bad label selector" 'unable to parse requirement' k get --raw '/api/v1/namespaces/default/pods?labelSelector=app%20in%20web'
expect_out "field selector" '^web ' k get pods --field-selector metadata.name=web,status.phase=Pending
expect_out "annotation stored" '^hello$' k get pod web -o 'jsonpath={.metadata.annotations.note}'

# Patches: JSON patch, merge patch, strategic merge patch (what kubectl edit sends).
expect_out "json patch" 'patched' k patch pod web --type=json -p '[{"op":"add","path":"/metadata/labels/j","value":"1"}]'
expect_out "merge patch" 'patched' k patch pod web --type=merge -p '{"metadata":{"labels":{"m":"2"}}}'
expect_out "patched labels" 'j:1 m:2' k get pod web -o 'go-template={{range $k,$v := .metadata.labels}}{{$k}}:{{$v}} {{end}}'
expect_err "forbidden pod spec change" 'pod updates may not change fields other than' \
  k patch pod web -p '{"spec":{"restartPolicy":"Never"}}'

# Optimistic concurrency: a replace with a stale resourceVersion is a 409.
k get pod web -o json >"$work/web.json"
k label pod web bump=1 >/dev/null
expect_err "stale resourceVersion" \
  'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again' \
  k replace -f "$work/web.json"

cat >"$work/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: c, image: "busybox:1.36"}
YAML
expect_out "deployment created" 'deployment.apps/app created' k apply -f "$work/deploy.yaml"
expect_out "deployment columns" '^app +0/2 ' k get deploy
expect_out "scale" 'scaled' k scale deploy app --replicas=3
expect_out "scaled replicas" '^3$' k get deploy app -o 'jsonpath={.spec.replicas}'
expect_out "strategic patch of a container by name" 'patched' \
  k patch deploy app -p '{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}'
expect_out "patched image, one container, generation bumped" '^busybox:1\.37 3$' \
  k get deploy app -o 'jsonpath={.spec.template.spec.containers[*].image} {.metadata.generation}'

# Watch: events for a pod created while kubectl get -w runs.
k get pods -w >"$work/watch.out" 2>&1 &
wpid=$!
sleep 1
k run watched --image=busybox >/dev/null
for _ in $(seq 50); do grep -q '^watched ' "$work/watch.out" && break; sleep 0.1; done
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
grep -q '^watched ' "$work/watch.out" && pass "get -w sees a new pod" || { fail "get -w"; cat "$work/watch.out"; }
expect_out "watch from a resourceVersion" '"type":"ADDED"' \
  k get --raw "/api/v1/namespaces/default/pods?watch=1&resourceVersion=1&timeoutSeconds=1"

# A watch with a label selector: an object relabelled out of the selection is DELETED for it and
# relabelled back in ADDED (kube-apiserver's cacher semantics).
k create configmap sel --from-literal=a=b >/dev/null && k label cm sel tier=a >/dev/null
k get --raw "/api/v1/namespaces/default/configmaps?watch=1&labelSelector=tier%3Da&timeoutSeconds=3" \
  >"$work/selwatch" 2>&1 &
swpid=$!
sleep 0.5
k label cm sel tier=b --overwrite >/dev/null
k label cm sel tier=a --overwrite >/dev/null
k label cm sel x=1 >/dev/null
k label cm sel tier=c --overwrite >/dev/null
k label cm sel y=1 >/dev/null
wait "$swpid"
expect_out "selector watch: out of the selection is DELETED, back in is ADDED" \
  '^ADDED\.DELETED\.ADDED\.MODIFIED\.DELETED\.$' \
  bash -c "grep -o '\"type\":\"[A-Z]*\"' '$work/selwatch' | cut -d'\"' -f4 | tr '\n' '.'"
k delete cm sel >/dev/null

# List paging.
for i in 1 2 3; do k create configmap "page$i" --from-literal=a=b >/dev/null; done
expect_out "limit and continue" '"continue":"' k get --raw '/api/v1/namespaces/default/configmaps?limit=2'
expect_out "kubectl pages with --chunk-size" 'page3' k get cm --chunk-size=1

# Scheduler: filters, scores, Binding, FailedScheduling as kubectl describe shows it.
for n in n1 n2 n3; do
  disk=hdd; [[ $n == n3 ]] && disk=ssd
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {disk: $disk}}
status:
  conditions: [{type: Ready, status: "True"}]
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
  nodeInfo: {kubeletVersion: v1.20.0-skiff}
YAML
done
expect_out "nodes" '^n3 +Ready +<none> ' k get nodes
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: too-big}
spec:
  containers: [{name: c, image: busybox, resources: {requests: {memory: 8Gi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-ssd}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: busybox, resources: {requests: {cpu: 500m}}}]
YAML
for _ in $(seq 50); do [[ -n $(k get pod on-ssd -o 'jsonpath={.spec.nodeName}') ]] && break; sleep 0.1; done
expect_out "nodeSelector pod bound to the matching node" '^n3$' k get pod on-ssd -o 'jsonpath={.spec.nodeName}'
expect_out "-o wide shows the node" '^on-ssd +0/1 +Pending +0 +[0-9]+s +<none> +n3 ' k get pods -o wide
for _ in $(seq 50); do k get events 2>/dev/null | grep -q FailedScheduling && break; sleep 0.1; done
expect_out "FailedScheduling as describe shows it" 'FailedScheduling .*0/3 nodes are available: 3 Insufficient memory\.' k describe pod too-big
expect_out "PodScheduled=False" '^Unschedulable$' k get pod too-big -o 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}'
# A bound pod is deleted gracefully: Terminating until its node (or --force) finishes it.
k delete pod on-ssd --wait=false >/dev/null
expect_out "a bound pod is Terminating" '^on-ssd +0/1 +Terminating ' k get pod on-ssd
expect_out "force delete finishes it" 'deleted' k delete pod on-ssd --grace-period=0 --force
expect_err "gone after force" 'pods "on-ssd" not found' k get pod on-ssd
k delete pod too-big >/dev/null

# ReplicaSet and Deployment controllers: `kubectl rollout status` across an image change, with a
# stand-in kubelet that reports bound pods Running+Ready and finishes graceful deletions.
fake_kubelet() {
  while :; do
    for p in $(k get pods -o 'jsonpath={range .items[?(@.spec.nodeName)]}{.metadata.name},{.metadata.deletionTimestamp},{.status.phase}{" "}{end}' 2>/dev/null); do
      IFS=, read -r name deleting phase <<<"$p"
      if [[ -n $deleting ]]; then
        k delete pod "$name" --grace-period=0 --force >/dev/null 2>&1
      elif [[ $phase != Running ]]; then
        api PATCH "/api/v1/namespaces/default/pods/$name/status" \
          '{"status":{"phase":"Running","podIP":"10.244.1.2","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"busybox","imageID":"","state":{"running":{}}}]}}' >/dev/null
      fi
    done
    sleep 0.2
  done
}
fake_kubelet &
kpid=$!
k apply -f "$work/deploy.yaml" >/dev/null
expect_out "rollout status of a new deployment" 'successfully rolled out' timeout 60 "$kubectl" rollout status deploy app
expect_out "replicaset stamped with pod-template-hash" '^app-[a-z0-9]+ +2 +2 +2 ' k get rs
expect_out "deployment columns" '^app +2/2 +2 +2 ' k get deploy app
expect_out "set image" 'image updated' k set image deploy/app c=busybox:1.37
expect_out "rollout status across an image change" 'successfully rolled out' timeout 60 "$kubectl" rollout status deploy app
for _ in $(seq 100); do
  [[ $(k get pods -l app=app -o 'jsonpath={.items[*].spec.containers[0].image}') == *1.36* ]] || break
  sleep 0.1
done
expect_out "old pods terminated, new pods run the new image" '^busybox:1\.37 busybox:1\.37$' \
  k get pods -l app=app -o 'jsonpath={.items[*].spec.containers[0].image}'
expect_out "two revisions" '^2$' k get deploy app -o 'jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}'
expect_out "scale through the controller" 'scaled' k scale deploy app --replicas=3
expect_out "three replicas roll out" 'successfully rolled out' timeout 60 "$kubectl" rollout status deploy app
expect_out "delete the deployment (background cascade)" 'deleted' k delete deploy app
for _ in $(seq 100); do [[ -z $(k get rs,pods -l app=app -o name 2>/dev/null) ]] && break; sleep 0.1; done
expect_out "its replicasets and pods are collected" '^$' k get rs,pods -l app=app -o name
k apply -f "$work/deploy.yaml" >/dev/null

# Cascading deletion through ownerReferences.
owned() {
  local uid; uid=$(k get deploy app -o 'jsonpath={.metadata.uid}')
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: $1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: app, uid: "$uid", blockOwnerDeletion: true}]
data: {a: b}
YAML
}
owned dep-fg
expect_out "foreground delete" 'deleted' k delete deploy app --cascade=foreground
expect_err "foreground removed the dependent first" 'configmaps "dep-fg" not found' k get cm dep-fg
k apply -f "$work/deploy.yaml" >/dev/null; owned dep-orphan
expect_out "orphan delete" 'deleted' k delete deploy app --cascade=orphan
expect_out "orphan keeps the dependent without the owner" '^\[?\]?$' k get cm dep-orphan -o 'jsonpath={.metadata.ownerReferences}'
k apply -f "$work/deploy.yaml" >/dev/null; owned dep-bg
expect_out "background delete" 'deleted' k delete deploy app
for _ in $(seq 50); do k get cm dep-bg >/dev/null 2>&1 || break; sleep 0.1; done
expect_err "background collects the dependent" 'configmaps "dep-bg" not found' k get cm dep-bg

kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null

# Finalizers hold a deletion until they are removed.
k create configmap held --from-literal=a=b >/dev/null
k patch cm held -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
k delete cm held --wait=false >/dev/null
expect_out "finalizer keeps the object with a deletionTimestamp" 'T' k get cm held -o 'jsonpath={.metadata.deletionTimestamp}'
k patch cm held --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
expect_err "removing the finalizer deletes it" 'configmaps "held" not found' k get cm held

# Namespace termination removes its content.
k create ns scratch >/dev/null && k -n scratch create configmap x --from-literal=a=b >/dev/null
expect_out "namespace delete" 'deleted' k delete ns scratch
expect_err "namespace and content gone" 'namespaces "scratch" not found' k get ns scratch
expect_err "creating in a missing namespace" 'namespaces "nowhere" not found' k -n nowhere create configmap x

# Bad input.
printf '{"apiVersion":"v1","kind":"ConfigMap",' >"$work/broken.json"
expect_err "malformed JSON is a 400" "couldn't decode the body" \
  k create --raw /api/v1/namespaces/default/configmaps -f "$work/broken.json"
python3 -c 'import json; print(json.dumps({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"x"*(4*1024*1024)}}))' >"$work/big.json"
expect_err "bodies over 3 MiB are refused" 'the request body is larger than the limit' \
  k create --raw /api/v1/namespaces/default/configmaps -f "$work/big.json"
expect_err "an oversized request stores nothing" 'configmaps "big" not found' k get cm big
expect_err "duplicate create" 'configmaps "page1" already exists' k create configmap page1

# Authentication and authorization.
expect_out "anonymous is 401" '^401 .*"reason":"Unauthorized"' env ANON=1 bash -c "$(declare -f api); api GET /api/v1/namespaces/default/pods"
expect_out "anonymous may read /healthz" '^200 ok$' env ANON=1 bash -c "$(declare -f api); api GET /healthz"
expect_err "unknown bearer token is 401" 'Unauthorized' \
  "$kubectl" --server "https://127.0.0.1:$port" --insecure-skip-tls-verify --kubeconfig=/dev/null --token=nope get pods
"$master" kubeconfig --data-dir "$data" --user bob >"$work/bob.kubeconfig"
expect_err "a user without rights gets 403" \
  'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"' \
  "$kubectl" --kubeconfig "$work/bob.kubeconfig" get pods
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/O=system:masters/CN=mallory" \
  -keyout "$work/evil.key" -out "$work/evil.crt" 2>/dev/null
expect_err "a client certificate from another CA is refused" 'error' \
  "$kubectl" --server "https://127.0.0.1:$port" --certificate-authority "$data/pki/ca.crt" \
  --client-certificate "$work/evil.crt" --client-key "$work/evil.key" --kubeconfig=/dev/null get pods

# Node authorizer: system:node:n1 sees its own pods and what they use, nothing of other nodes.
k create secret generic n1-secret --from-literal=k=v >/dev/null
k create secret generic other-secret --from-literal=k=v >/dev/null
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: on-n1}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox, envFrom: [{secretRef: {name: n1-secret}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-n2}
spec:
  nodeName: n2
  containers: [{name: c, image: busybox}]
YAML
"$master" kubeconfig --data-dir "$data" --user system:node:n1 --group system:nodes >"$work/n1.kubeconfig"
n1() { "$kubectl" --kubeconfig "$work/n1.kubeconfig" --request-timeout=20s "$@"; }
expect_out "a node reads its own pod" '^on-n1 ' n1 get pod on-n1
expect_out "a node lists the pods bound to it" '^on-n1 ' n1 get pods --field-selector spec.nodeName=n1
expect_err "a node cannot read another node's pod" 'pods "on-n2" is forbidden' n1 get pod on-n2
expect_err "a node cannot list every pod" 'forbidden' n1 get pods
expect_out "a node reads a secret its pod uses" '^n1-secret ' n1 get secret n1-secret
expect_err "a node cannot read other secrets" 'forbidden' n1 get secret other-secret
expect_out "a node updates its own status" 'patched' n1 patch node n1 -p '{"metadata":{"labels":{"seen":"yes"}}}'
expect_err "a node cannot write another node" 'forbidden' n1 patch node n2 -p '{"metadata":{"labels":{"x":"y"}}}'
expect_err "a node cannot delete pods of another node" 'forbidden' n1 delete pod on-n2
k delete pod on-n1 on-n2 --grace-period=0 --force >/dev/null 2>&1

# CSR signing: an approved request for the kube-apiserver-client signer gets a certificate from
# the master's CA, and the master then knows its holder.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=dev/CN=carol" \
  -keyout "$work/carol.key" -out "$work/carol.csr" 2>/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: carol}
spec:
  request: $(base64 -w0 "$work/carol.csr")
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
YAML
expect_out "a new CSR is Pending" '^carol +[0-9]+s +kubernetes.io/kube-apiserver-client +admin +Pending$' k get csr carol
expect_out "kubectl certificate approve" 'approved' k certificate approve carol
for _ in $(seq 50); do [[ -n $(k get csr carol -o 'jsonpath={.status.certificate}') ]] && break; sleep 0.1; done
expect_out "approved and issued" 'Approved,Issued' k get csr carol
k get csr carol -o 'jsonpath={.status.certificate}' | base64 -d >"$work/carol.crt"
expect_err "the issued certificate authenticates carol" 'User "carol" cannot list resource "pods"' \
  "$kubectl" --server "https://127.0.0.1:$port" --certificate-authority "$data/pki/ca.crt" \
  --client-certificate "$work/carol.crt" --client-key "$work/carol.key" --kubeconfig=/dev/null get pods
expect_err "a CSR without a request is invalid" 'spec.request: Required value' \
  k create --raw /apis/certificates.k8s.io/v1/certificatesigningrequests -f <(echo '{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"empty"},"spec":{"signerName":"kubernetes.io/kube-apiserver-client"}}')

# Join: a bootstrap token lets a new node ask for its client certificate, which is approved and
# signed at once; the token is pinned to the CA by its hash, expires, and can be deleted.
join=$("$master" token create --data-dir "$data" --ttl 1h)
expect_out "token create prints the join command" '^skiff-kubelet join https://127\.0\.0\.1:[0-9]+ --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash sha256:[0-9a-f]{64}$' echo "$join"
token=$(sed -E 's/.*--token ([^ ]+).*/\1/' <<<"$join")
expect_out "the CA hash matches the CA's public key" "$(openssl x509 -in "$data/pki/ca.crt" -pubkey -noout | openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -c1-64)" echo "$join"
expect_out "token list" "^${token%%.*}\." "$master" token list --data-dir "$data"
boot() { "$kubectl" --server "https://127.0.0.1:$port" --certificate-authority "$data/pki/ca.crt" --kubeconfig=/dev/null --token "$1" "${@:2}"; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=system:nodes/CN=system:node:n9" \
  -keyout "$work/n9.key" -out "$work/n9.csr" 2>/dev/null
cat >"$work/n9-csr.yaml" <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: node-csr-n9}
spec:
  request: $(base64 -w0 "$work/n9.csr")
  signerName: kubernetes.io/kube-apiserver-client-kubelet
  usages: [digital signature, key encipherment, client auth]
YAML
expect_out "a bootstrap token may create a CSR" 'created' boot "$token" create -f "$work/n9-csr.yaml"
expect_err "but nothing else" 'forbidden' boot "$token" get pods
for _ in $(seq 50); do [[ -n $(k get csr node-csr-n9 -o 'jsonpath={.status.certificate}') ]] && break; sleep 0.1; done
expect_out "the node's CSR is auto-approved and issued" 'Approved,Issued' k get csr node-csr-n9
k get csr node-csr-n9 -o 'jsonpath={.status.certificate}' | base64 -d >"$work/n9.crt"
expect_out "the issued certificate lets the node register itself" 'node/n9 created' \
  "$kubectl" --server "https://127.0.0.1:$port" --certificate-authority "$data/pki/ca.crt" \
  --client-certificate "$work/n9.crt" --client-key "$work/n9.key" --kubeconfig=/dev/null \
  create -f <(echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n9"}}')
expect_err "and only itself" 'forbidden' \
  "$kubectl" --server "https://127.0.0.1:$port" --certificate-authority "$data/pki/ca.crt" \
  --client-certificate "$work/n9.crt" --client-key "$work/n9.key" --kubeconfig=/dev/null \
  create -f <(echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n8"}}')
expect_out "token delete" 'deleted' "$master" token delete --data-dir "$data" "$token"
expect_err "a deleted token is refused" 'Unauthorized' boot "$token" get csr
short=$("$master" token create --data-dir "$data" --ttl 1s | sed -E 's/.*--token ([^ ]+).*/\1/')
sleep 1.5
expect_err "an expired token is refused" 'Unauthorized' boot "$short" get csr
expect_err "a forged token is refused" 'Unauthorized' boot "${token%%.*}.0000000000000000" get csr

# Restart keeps everything: graceful (SIGTERM) and killed (SIGKILL).
uid=$(k get pod web -o 'jsonpath={.metadata.uid}')
rv=$(k get pod web -o 'jsonpath={.metadata.resourceVersion}')
kill -TERM "$pid"; wait "$pid"; rc=$?
[[ $rc -eq 0 ]] && pass "SIGTERM exits 0" || fail "SIGTERM exit code $rc"
start_master 2
expect_out "after a restart the pod is there with its uid and resourceVersion" "^$uid $rv\$" \
  k get pod web -o 'jsonpath={.metadata.uid} {.metadata.resourceVersion}'
k create configmap after-restart --from-literal=a=b >/dev/null
kill -9 "$pid"; wait "$pid" 2>/dev/null
start_master 3
expect_out "an acknowledged write survives SIGKILL" '^after-restart ' k get cm after-restart
expect_out "watch resumes from a resourceVersion of before the restart" '"name":"after-restart"' \
  k get --raw "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv&timeoutSeconds=1"
expect_out "revisions keep growing" '^[0-9]+$' k get cm after-restart -o 'jsonpath={.metadata.resourceVersion}'

# Compaction: with history compacted, a watch from an old resourceVersion gets 410 Gone.
kill -TERM "$pid"; wait "$pid"
extra_flags="--compaction-interval 1s --node-monitor-grace-period 3s" start_master 4
for i in 1 2 3; do k label cm after-restart "n=$i" --overwrite >/dev/null; sleep 0.8; done
expect_out "a compacted resourceVersion is 410 Gone" '"type":"ERROR".*"code":410' \
  k get --raw "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2&timeoutSeconds=1"
expect_out "lists still work after compaction" '^after-restart ' k get cm after-restart

# Node lifecycle: a node whose Lease is renewed stays Ready, one without goes Unknown + tainted.
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: leased}
status:
  conditions: [{type: Ready, status: "True"}]
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
YAML
renew() {
  k apply -f - >/dev/null <<YAML
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leased, namespace: kube-node-lease}
spec: {holderIdentity: leased, leaseDurationSeconds: 40, renewTime: "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)"}
YAML
}
for _ in $(seq 9); do renew; sleep 0.5; done
expect_out "a node renewing its Lease stays Ready" '^leased +Ready ' k get node leased
expect_out "a node without a Lease becomes NotReady" '^n1 +NotReady ' k get node n1
expect_out "and gets the unreachable taints" 'node.kubernetes.io/unreachable:NoExecute' k describe node n1
expect_out "every node has a pod CIDR from --cluster-cidr" '^10\.250\.[0-9]+\.0/24$' k get node leased -o 'jsonpath={.spec.podCIDR}'

if ((failures > 0)); then
  echo "$failures check(s) failed; master log:"; tail -20 "$work/master.log"
  exit 1
fi
echo "all master e2e checks passed"
