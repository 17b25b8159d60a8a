#!/usr/bin/env bash
# Cluster benchmark on `scripts/cluster/up.sh 3`: the busybox image is pulled onto every node first
# (a warm-up Deployment, deleted), then
#   latency: a 30-replica Deployment applied, ROUNDS times (default 3; deleted in between): per
#            pod, from its ADDED event to the first event with phase Running, both seen on one
#            watch of the pods (p50, p90, p99, max), the apply-to-all-Running time and the CPU
#            all processes used meanwhile (per pod); then the median of the bursts' p99s (one
#            burst's p99 moves by 0.1-0.4 s between runs on this shared VM);
#   shim:    RSS (and Pss) per pod's skiff-shim and pause, settled (10 s after the last start),
#            and of each node's shim zygote;
#   idle:    every kubelet's RSS and CPU (own + children, % of one core) over 30 s with the 30
#            pods running;
#   churn:   scale 30 -> 0 -> 30 (all gone, all Running again): the kubelets' CPU over it and
#            their RSS after it and at its peak (VmHWM).
# Targets: p99 <= 1 s, kubelet RSS <= 30 MiB, idle CPU <= 0.5 % of one core.
#   [ROUNDS=N] scripts/bench/cluster.sh   (root; the cluster uses 10.242.0.0/24 and 10.243.0.0/16)
set -euo pipefail
cd "$(dirname "$0")/../.."
name=skbench net=242
work=$(mktemp -d /tmp/skiff-bench-cluster.XXXXXX)
dir="$work/c"
cleanup() {
  scripts/cluster/down.sh --name "$name" --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/cluster/up.sh 3 --name "$name" --dir "$dir" --net "$net" >"$work/up.log" 2>&1 ||
  { cat "$work/up.log" >&2; exit 1; }
image=$(sed -n 's/^image: //p' "$work/up.log")
k() { kubectl --kubeconfig "$dir/admin.kubeconfig" --request-timeout=30s "$@"; }
deployment() {  # deployment NAME REPLICAS
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - {name: c, image: "$image", command: [sh, -c, "trap 'exit 0' TERM; sleep 100000 & wait"]}
YAML
}
gone() { [[ -z "$(k get pods -l "app=$1" -o name)" ]]; }
wait_gone() {
  for _ in $(seq 600); do gone "$1" && return 0; sleep 0.2; done
  echo "cluster.sh: pods of $1 still there" >&2
  return 1
}

# Warm-up: the image pulled onto each node (6 replicas spread over the 3 nodes).
deployment warm 6 | k apply --validate=false -f - >/dev/null
k rollout status deployment/warm --timeout=180s >/dev/null
nodes_with=$(k get pods -l app=warm -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort -u | wc -l)
k delete deployment warm >/dev/null
wait_gone warm
((nodes_with == 3)) || echo "cluster.sh: note: the warm-up ran on $nodes_with of 3 nodes" >&2
sleep 3
deployment bench 30 >"$work/bench30.yaml"

python3 - "$dir" "$work" <<'PY'
import http.client, json, os, ssl, statistics, subprocess, sys, threading, time

d, work = sys.argv[1], sys.argv[2]
pki = d + "/master/pki"
server = open(d + "/master/server-url").read().strip().split("//")[1]
host, port = server.rsplit(":", 1)
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.check_hostname = False
ctx.load_cert_chain(pki + "/admin.crt", pki + "/admin.key")
kubectl = ["kubectl", "--kubeconfig", d + "/admin.kubeconfig", "--request-timeout=60s"]
hz = os.sysconf("SC_CLK_TCK")
kubelets = [int(open(f"{d}/n{i}/kubelet.pid").read()) for i in (1, 2, 3)]

def k(*args, stdin=None):
    subprocess.run(kubectl + list(args), input=stdin, check=True, text=True,
                   stdout=subprocess.DEVNULL)

def ticks(pid):  # own + waited-for children
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in f[11:15])

def own_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

def status_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0

def rollup_kb(pid, key):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]

def cpu_over(seconds=None, until=None):
    """CPU of the kubelets (% of one core, all three summed and the busiest) over an interval."""
    t0 = time.monotonic()
    a = {p: (ticks(p), own_ticks(p)) for p in kubelets}
    if until:
        until()
    else:
        time.sleep(seconds)
    dt = time.monotonic() - t0
    b = {p: (ticks(p), own_ticks(p)) for p in kubelets}
    tot = [(b[p][0] - a[p][0]) / hz / dt * 100 for p in kubelets]
    own = [(b[p][1] - a[p][1]) / hz / dt * 100 for p in kubelets]
    return dt, tot, own

# --- latency: one watch, 30 pods; ROUNDS bursts (deleted and applied again between them) ---
def busy_ticks():  # every core's non-idle time since boot
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4]

def burst():
    seen = {}       # name -> [added, running]
    done = threading.Event()
    def watch():
        c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=120)
        c.request("GET", "/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dbench")
        r = c.getresponse()
        while not done.is_set():
            line = r.readline()
            if not line:
                break
            now = time.monotonic()
            ev = json.loads(line)
            o = ev["object"]
            n = o["metadata"]["name"]
            if ev["type"] == "ADDED" and n not in seen:
                seen[n] = [now, None]
            if n in seen and seen[n][1] is None and o.get("status", {}).get("phase") == "Running":
                seen[n][1] = now
            if len(seen) >= 30 and all(v[1] for v in seen.values()):
                done.set()
    threading.Thread(target=watch, daemon=True).start()
    time.sleep(1)  # the watch is open
    t_apply, b0 = time.monotonic(), busy_ticks()
    k("apply", "--validate=false", "-f", work + "/bench30.yaml")
    done.wait(180)
    t_all, busy = time.monotonic() - t_apply, (busy_ticks() - b0) / hz
    if not done.is_set():
        sys.exit(f"cluster.sh: only {sum(1 for v in seen.values() if v[1])} of 30 pods Running")
    return [v[1] - v[0] for v in seen.values()], t_all, busy

def gone():
    for _ in range(900):
        out = subprocess.run(kubectl + ["get", "pods", "-l", "app=bench", "-o", "name"],
                             capture_output=True, text=True).stdout
        if not out.strip():
            return
        time.sleep(0.2)
    sys.exit("cluster.sh: the bench pods did not go")

rounds = int(os.environ.get("ROUNDS", "3"))
print(f"cluster bench (up.sh 3, this host; {rounds} bursts of 30 pods)")
p99s = []
for i in range(rounds):
    if i:
        k("delete", "deployment", "bench")
        gone()
        time.sleep(3)
    lat, t_all, busy = burst()
    p99s.append(pct(lat, 99))
    print(f"  burst {i + 1}: ADDED -> Running per pod (watch): p50 {pct(lat,50):.2f} s, "
          f"p90 {pct(lat,90):.2f} s, p99 {pct(lat,99):.2f} s, max {max(lat):.2f} s; "
          f"apply -> all Running {t_all:.2f} s; CPU (all processes) {busy:.2f} s, "
          f"{busy / 30 * 1000:.0f} ms a pod")
print(f"  30-pod Deployment: p99 median {statistics.median(p99s):.2f} s over {rounds} bursts "
      f"(target p99 <= 1 s)")

# --- shims, settled ---
time.sleep(10)
shims = [int(p) for p in subprocess.run(["pgrep", "-f", f"skiff-shim --pod-dir {d}/"],
                                        capture_output=True, text=True).stdout.split()]
def ppid(p):
    return int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
# A pod's shim and its pause (the shim's child; also the pod's fd store).
pauses = [int(p) for p in subprocess.run(["pgrep", "-x", "pause"], capture_output=True,
                                         text=True).stdout.split() if ppid(int(p)) in shims]
# Each kubelet's shim zygote (its child; it forks the shims).
zygotes = [int(p) for p in subprocess.run(["pgrep", "-x", "skiff-zygote"], capture_output=True,
                                          text=True).stdout.split() if ppid(int(p)) in kubelets]
for what, ps, per in (("skiff-shim", shims, "per pod"), ("its pause and fd store", pauses, "per pod"),
                      ("skiff-zygote", zygotes, "per node")):
    if not ps:
        continue
    rss = [rollup_kb(p, "Rss") for p in ps]
    pss = [rollup_kb(p, "Pss") for p in ps]
    print(f"  {what} {per} ({len(ps)}), settled: RSS median {statistics.median(rss)/1024:.2f} MiB "
          f"(max {max(rss)/1024:.2f}), Pss median {statistics.median(pss)/1024:.2f} MiB")

# --- idle, 30 pods running ---
dt, tot, own = cpu_over(30)
rss_k = [status_kb(p, "VmRSS") / 1024 for p in kubelets]
print(f"  kubelet idle (10 pods each, {dt:.0f} s): CPU {', '.join(f'{x:.2f}' for x in tot)} % "
      f"of a core (own {', '.join(f'{x:.2f}' for x in own)}) (target <= 0.5 %); "
      f"RSS {', '.join(f'{x:.1f}' for x in rss_k)} MiB (target <= 30 MiB)")

# --- churn: 30 -> 0 -> 30 ---
def churn():
    k("scale", "deployment/bench", "--replicas=0")
    gone()
    k("scale", "deployment/bench", "--replicas=30")
    k("rollout", "status", "deployment/bench", "--timeout=180s")
dt, tot, own = cpu_over(until=churn)
rss_k = [status_kb(p, "VmRSS") / 1024 for p in kubelets]
hwm = [status_kb(p, "VmHWM") / 1024 for p in kubelets]
print(f"  churn 30 -> 0 -> 30 ({dt:.1f} s): kubelet CPU {', '.join(f'{x:.1f}' for x in tot)} % "
      f"(own {', '.join(f'{x:.1f}' for x in own)}); RSS after {', '.join(f'{x:.1f}' for x in rss_k)}"
      f" MiB, peak {', '.join(f'{x:.1f}' for x in hwm)} MiB")
PY
