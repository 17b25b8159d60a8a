#!/usr/bin/env python3
"""Load driver for scripts/bench/master.sh: registers NODES nodes, creates PODS pods at RATE/s
from THREADS client threads (HTTPS keep-alive, admin client certificate), plays hollow kubelets
(Leases renewed every 10 s; one watch on all pods; every bound pod is reported Running), and prints p50/p99 of the
creates, pods scheduled per second, create-to-Running times and the master's RSS and CPU."""
import http.client, json, os, queue, ssl, sys, threading, time

data, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
NODES, PODS, RATE, THREADS = (int(x) for x in sys.argv[4:8])
ETCD_PID = int(sys.argv[8]) if len(sys.argv) > 8 else 0
ctx = ssl.create_default_context(cafile=f"{data}/pki/ca.crt")
ctx.load_cert_chain(f"{data}/pki/admin.crt", f"{data}/pki/admin.key")

def conn():
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)

def call(c, method, path, body=None, ctype="application/json"):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": ctype} if body is not None else {})
    r = c.getresponse()
    return r.status, r.read()

def proc_stats(pid=pid):
    with open(f"/proc/{pid}/status") as f:
        st = dict(l.split(":", 1) for l in f if ":" in l)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return int(st["VmRSS"].split()[0]) // 1024, int(st["VmHWM"].split()[0]) // 1024, cpu

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")

# Nodes: Ready, 110 pods each, roomy allocatable.
c = conn()
t0 = time.time()
for i in range(NODES):
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"hollow-{i:05d}",
            "labels": {"kubernetes.io/hostname": f"hollow-{i:05d}"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.20.0-hollow"}}}
    s, b = call(c, "POST", "/api/v1/nodes", node)
    if s not in (201, 409): sys.exit(f"node create: {s} {b[:200]}")
print(f"nodes: {NODES} registered in {time.time() - t0:.1f}s")

created, bound, running = {}, {}, {}
lock = threading.Lock()
patchq = queue.Queue()

relists = 0
def hollow_watch():
    # The master closes a watch that falls too far behind (as kube-apiserver): watch again from
    # resourceVersion=0, which starts with every current pod (a re-list).
    global relists
    while True:
        try:
            watch_once()
        except (OSError, http.client.HTTPException, ValueError):
            pass
        relists += 1
        time.sleep(0.2)

def watch_once():
    c = conn()
    c.request("GET", "/api/v1/pods?watch=1&resourceVersion=0&fieldSelector=metadata.namespace=bench")
    r = c.getresponse()
    buf = b""
    while True:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
        if not chunk: return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            ev = json.loads(line)
            if ev.get("type") == "ERROR": return
            o = ev["object"]
            name = o["metadata"]["name"]
            now = time.time()
            node = o.get("spec", {}).get("nodeName")
            phase = o.get("status", {}).get("phase")
            with lock:
                if node and name not in bound:
                    bound[name] = now
                    patchq.put(name)
                if phase == "Running" and name not in running:
                    running[name] = now

def hollow_kubelet():
    c = conn()
    while True:
        name = patchq.get()
        st = {"status": {"phase": "Running", "podIP": "10.244.0.2",
              "conditions": [{"type": "Ready", "status": "True"}],
              "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "pause",
                                     "imageID": "", "state": {"running": {}}}]}}
        call(c, "PATCH", f"/api/v1/namespaces/bench/pods/{name}/status", st, "application/merge-patch+json")

def hollow_leases():
    # Every hollow node renews its Lease every 10 s, spread over the period.
    c = conn()
    while True:
        t = time.time()
        for i in range(NODES):
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": f"hollow-{i:05d}", "namespace": "kube-node-lease"},
                     "spec": {"holderIdentity": f"hollow-{i:05d}", "leaseDurationSeconds": 40, "renewTime": now}}
            s, _ = call(c, "PUT", f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hollow-{i:05d}", lease)
            if s == 404:
                call(c, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)
            time.sleep(max(0.0, (t + 10.0 * (i + 1) / NODES) - time.time()))

call(c, "POST", "/api/v1/namespaces", {"metadata": {"name": "bench"}})
threading.Thread(target=hollow_leases, daemon=True).start()
threading.Thread(target=hollow_watch, daemon=True).start()
for _ in range(8): threading.Thread(target=hollow_kubelet, daemon=True).start()
time.sleep(0.5)

latencies = []
start = time.time()
def creator(tid):
    c = conn()
    for i in range(tid, PODS, THREADS):
        due = start + i / RATE
        delay = due - time.time()
        if delay > 0: time.sleep(delay)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i:06d}", "namespace": "bench",
               "labels": {"app": f"a{i % 100}"}},
               "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}
        t = time.time()
        s, b = call(c, "POST", "/api/v1/namespaces/bench/pods", pod)
        dt = time.time() - t
        if s != 201: print(f"create p{i}: {s} {b[:200]}", file=sys.stderr)
        with lock:
            latencies.append(dt)
            created[f"p{i:06d}"] = t + dt
threads = [threading.Thread(target=creator, args=(t,)) for t in range(THREADS)]
for t in threads: t.start()
peak_rss = 0
while any(t.is_alive() for t in threads):
    time.sleep(1)
    peak_rss = max(peak_rss, proc_stats()[0])
create_end = time.time()
deadline = time.time() + 120
while time.time() < deadline:
    with lock:
        if len(running) >= PODS: break
    time.sleep(0.5)
end = time.time()
rss, hwm, cpu = proc_stats()
with lock:
    sched = sorted(bound.values())
    c2r = [running[n] - created[n] for n in running if n in created]
print(f"pods: {len(created)} created in {create_end - start:.1f}s ({len(created) / (create_end - start):.0f}/s offered {RATE}/s, {THREADS} client threads)")
print(f"create latency: p50 {pct(latencies, 0.5) * 1000:.1f} ms, p99 {pct(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
if len(sched) > 1:
    print(f"scheduled: {len(sched)} pods, {len(sched) / max(1e-9, sched[-1] - start):.0f} pods/s (first create to last binding)")
print(f"create-to-Running: {len(c2r)} pods, p50 {pct(c2r, 0.5) * 1000:.0f} ms, p99 {pct(c2r, 0.99) * 1000:.0f} ms")
print(f"hollow watch: re-listed {relists} times (closed for falling behind)")
print(f"master: RSS {rss} MiB now, peak {max(hwm, peak_rss)} MiB; CPU {cpu:.1f} s over {end - t0:.0f} s wall")
try:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        roll = dict(l.split(":", 1) for l in f if ":" in l and not l.startswith("0"))
    with open(f"/proc/{pid}/status") as f:
        nthreads = next(l.split()[1] for l in f if l.startswith("Threads:"))
    print("master smaps_rollup: " + ", ".join(f"{k} {int(roll[k].split()[0]) // 1024} MiB"
          for k in ("Rss", "Anonymous", "Private_Dirty", "Shared_Clean") if k in roll) + f"; {nthreads} threads")
except OSError:
    pass
if ETCD_PID:
    erss, ehwm, ecpu = proc_stats(ETCD_PID)
    print(f"etcd: RSS {erss} MiB now, peak {ehwm} MiB; CPU {ecpu:.1f} s")

# A kubelet's list of its own pods (fieldSelector=spec.nodeName, served from the node index) next
# to a field selector the master can only answer by scanning every pod.
def timed(path, n=50):
    c = conn()
    ts, items = [], 0
    for _ in range(n):
        t = time.time()
        s, b = call(c, "GET", path)
        ts.append(time.time() - t)
        items = len(json.loads(b).get("items", []))
    return pct(ts, 0.5) * 1000, pct(ts, 0.99) * 1000, items
ix = timed("/api/v1/pods?fieldSelector=spec.nodeName%3Dhollow-00001")
sc = timed("/api/v1/pods?fieldSelector=spec.restartPolicy%3DNever")
print(f"list pods of one node (fieldSelector=spec.nodeName, indexed): p50 {ix[0]:.2f} ms, p99 {ix[1]:.2f} ms ({ix[2]} pods of {len(created)}); "
      f"scanning field selector: p50 {sc[0]:.2f} ms, p99 {sc[1]:.2f} ms")
ok = len(created) == PODS and len(running) == PODS
sys.exit(0 if ok else 1)
