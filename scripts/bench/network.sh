#!/usr/bin/env bash
# Network benchmark, one run, on a 2-node netns cluster (scripts/netns-cluster.sh):
#   1. iperf3 pod -> pod across nodes through skiff's overlay (skiff-bridge + skiff-net/wireguard-go)
#   2. iperf3 node -> node through a bare wireguard-go tunnel (configured with wg(8)) between the
#      same two nodes, same MTU
#   3. iperf3 node -> node over the plain veth underlay
#   4. CNI ADD (and DEL) latency: skiff-bridge + skiff-ipam vs the reference bridge + host-local
#      (containernetworking-plugins, cniVersion 1.0.0), rounds alternating, medians.
# Targets: overlay >= 0.95x the bare tunnel; skiff ADD <= 0.3x the reference.
#   scripts/bench/network.sh [SECONDS per iperf3 run (3)] [ADD rounds (31)] [iperf3 rounds (4)]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
rounds=${2:-31}
iperf_rounds=${3:-4}
[[ $(id -u) -eq 0 ]] || { echo "network.sh: needs root" >&2; exit 1; }
for tool in iperf3 wireguard-go wg jq python3; do
  command -v "$tool" >/dev/null || { echo "network.sh: \`$tool' missing (scripts/install-deps.sh)" >&2; exit 1; }
done
export SKIFF_NET=${SKIFF_NET:-$PWD/build/cni/skiff-net} SKIFF_CNI_DIR=${SKIFF_CNI_DIR:-$PWD/build/cni}
export NC_NAME=skbn NC_ROOT
NC_ROOT=$(mktemp -d /tmp/skiff-bench-net.XXXXXX)
# shellcheck source=scripts/netns-cluster.sh
source scripts/netns-cluster.sh
bare_pids=()
cleanup() {
  local i
  for i in 1 2; do nc_exec "$i" ip link del skbnbare 2>/dev/null || true; done
  for p in "${bare_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f /var/run/wireguard/skbnbare1.sock /var/run/wireguard/skbnbare2.sock
  nc_down >/dev/null 2>&1 || true
  rm -rf "$NC_ROOT"
}
trap cleanup EXIT

nc_up 2
p1=$(nc_pod_add 1 a)
p2=$(nc_pod_add 2 a)

# The bare tunnel: a second wireguard-go device per node, keys and peers set with wg(8).
for i in 1 2; do
  nc_exec "$i" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "skbnbare$i" >/dev/null 2>&1 &
  bare_pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 200); do [[ -S /var/run/wireguard/skbnbare$i.sock ]] && break; sleep 0.01; done
  (umask 077 && wg genkey >"$NC_ROOT/bare$i.key")
  wg pubkey <"$NC_ROOT/bare$i.key" >"$NC_ROOT/bare$i.pub"
done
for i in 1 2; do
  j=$((3 - i))
  nc_exec "$i" wg set "skbnbare$i" private-key "$NC_ROOT/bare$i.key" listen-port 51821 \
    peer "$(cat "$NC_ROOT/bare$j.pub")" endpoint "10.$NC_UNDERLAY.0.$j:51821" allowed-ips "10.99.0.$j/32"
  nc_exec "$i" ip addr add "10.99.0.$i/24" dev "skbnbare$i"
  nc_exec "$i" ip link set "skbnbare$i" mtu "$(_nc_mtu)" up
done

iperf() {  # iperf SERVER CLIENT DEST -> bits/s received
  local server=$1 client=$2 dest=$3 bps
  nc_exec "$server" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local spid=$!
  for _ in $(seq 100); do nc_exec "$client" ping -c1 -W1 "$dest" >/dev/null 2>&1 && break; done
  sleep 0.2
  bps=$(nc_exec "$client" iperf3 -c "$dest" -p 5201 -t "$secs" -J | jq '.end.sum_received.bits_per_second')
  wait "$spid" || true
  echo "$bps"
}

# Paths measured in turns, the order rotating every round: the machine is shared, and whatever
# runs first or last in a round must not always be the same path.
declare -A results dest=([overlay-pod]="2/a 1/a $p2" [overlay-node]="2 1 10.$NC_POD_NET.2.0"
  [bare]="2 1 10.99.0.2" [veth]="2 1 10.$NC_UNDERLAY.0.2")
paths=(overlay-pod overlay-node bare veth)
for ((r = 0; r < iperf_rounds; r++)); do
  for ((k = 0; k < ${#paths[@]}; k++)); do
    path=${paths[$(((k + r) % ${#paths[@]}))]}
    # shellcheck disable=SC2086
    results[$path]+=" $(iperf ${dest[$path]})"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (numbers above nproc make single runs noisy)"
echo "== iperf3 TCP, $secs s x $iperf_rounds rounds, median Gbit/s received (all runs) =="
python3 - "${results[overlay-pod]}" "${results[overlay-node]}" "${results[bare]}" "${results[veth]}" <<'PY'
import statistics, sys
names = ["skiff overlay, pod -> pod across nodes", "skiff overlay, node -> node (wg device)",
         "bare wireguard-go tunnel, node -> node", "plain veth underlay, node -> node"]
med = []
for name, runs in zip(names, sys.argv[1:]):
    v = [float(x) / 1e9 for x in runs.split()]
    med.append(statistics.median(v))
    print(f"{name:42s} {med[-1]:7.3f}   ({', '.join(f'{x:.3f}' for x in v)})")
print(f"overlay pod->pod / bare tunnel:   {med[0] / med[2]:.2f}x (target >= 0.95)")
print(f"overlay node->node / bare tunnel: {med[1] / med[2]:.2f}x")
PY

echo "== CNI ADD latency, median of $rounds rounds (alternating) =="
nc_exec 1 python3 - "$rounds" "$SKIFF_CNI_DIR" /usr/lib/cni "$NC_ROOT" "$NC_NAME" <<'PY'
import json, os, statistics, subprocess, sys, time
rounds, ours_dir, ref_dir, root, name = int(sys.argv[1]), *sys.argv[2:]
def conf(t, ipam, subnet, bridge, ver):
    return json.dumps({"cniVersion": ver, "name": f"bench-{t}", "type": t, "bridge": bridge,
        "isDefaultGateway": True,
        "ipam": {"type": ipam, "dataDir": f"{root}/leases-{t}",
                 "ranges": [[{"subnet": subnet}]]}})
sides = [("skiff-bridge", ours_dir, conf("skiff-bridge", "skiff-ipam", "10.213.0.0/24", "skbench1", "1.1.0")),
         ("bridge", ref_dir, conf("bridge", "host-local", "10.214.0.0/24", "skbench2", "1.0.0"))]
times = {s[0]: {"ADD": [], "DEL": []} for s in sides}
for t, _, _ in sides:
    subprocess.run(["ip", "netns", "add", f"{name}-bench-{t}"], check=True)
try:
    for i in range(rounds + 1):
        for t, d, c in sides:
            for verb in ("ADD", "DEL"):
                env = {"CNI_COMMAND": verb, "CNI_CONTAINERID": "bench", "CNI_IFNAME": "eth0",
                       "CNI_NETNS": f"/run/netns/{name}-bench-{t}",
                       "CNI_PATH": f"{d}:{ours_dir}", "PATH": os.environ["PATH"]}
                t0 = time.perf_counter()
                r = subprocess.run([f"{d}/{t}"], input=c.encode(), env=env, capture_output=True)
                dt = (time.perf_counter() - t0) * 1000
                if r.returncode != 0:
                    sys.exit(f"{t} {verb} failed: {r.stdout.decode()} {r.stderr.decode()}")
                if i > 0:  # the first round creates the bridge
                    times[t][verb].append(dt)
finally:
    for t, _, _ in sides:
        subprocess.run(["ip", "netns", "del", f"{name}-bench-{t}"])
m = {t: {v: statistics.median(x) for v, x in vs.items()} for t, vs in times.items()}
print(f"skiff-bridge + skiff-ipam: ADD {m['skiff-bridge']['ADD']:.2f} ms, DEL {m['skiff-bridge']['DEL']:.2f} ms")
print(f"bridge + host-local (ref): ADD {m['bridge']['ADD']:.2f} ms, DEL {m['bridge']['DEL']:.2f} ms")
print(f"ADD ratio: {m['skiff-bridge']['ADD'] / m['bridge']['ADD']:.2f}x (target <= 0.30)")
PY
