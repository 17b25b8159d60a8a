#!/usr/bin/env bash
# Network benchmark, one run, on a 2-node netns cluster (scripts/netns-cluster.sh):
#   1. iperf3 pod -> pod across nodes through skiff's overlay (skiff-bridge + skiff-net/wireguard-go)
#   2. iperf3 node -> node through a bare wireguard-go tunnel (configured with wg(8)) between the
#      same two nodes, same MTU, and pod -> pod through that bare tunnel (the same two pods, routed
#      over it by more specific routes for the run): this isolates skiff's overlay from the pod
#      plumbing (veth + bridge + forwarding on both nodes), which costs CPU per packet that the
#      CPU-bound wireguard-go then lacks
#   3. iperf3 node -> node over the plain veth underlay
#   4. CNI ADD (and DEL) latency: skiff-bridge + skiff-ipam vs the reference bridge + host-local
#      (containernetworking-plugins, cniVersion 1.0.0), rounds alternating, medians.
# Besides throughput it reports the CPU the two wireguard-go processes burn per GB moved (less
# sensitive to other load on a shared machine than Gbit/s).
# Targets: overlay >= 0.95x the bare tunnel; skiff ADD <= 0.3x the reference.
#   scripts/bench/network.sh [--kernel] [SECONDS per iperf3 run (3)] [ADD rounds (31)]
#                            [iperf3 rounds (6)]
# --kernel: the same inside the VM lane (scripts/vm/run.sh, Debian's kernel under qemu): skiff's
# overlay on its kernel backend vs a bare kernel WireGuard tunnel (ip link add type wireguard +
# wg set); the CPU column is then the whole guest's busy CPU per GB (kernel WireGuard works in
# softirq and kworkers, not in a process). Under TCG absolute figures are ~100x lower than the
# host's: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=wireguard-go
if [[ ${1-} == --kernel ]]; then
  shift
  exec scripts/vm/run.sh --timeout 1500 -- bash scripts/bench/network.sh --in-vm "$@"
elif [[ ${1-} == --in-vm ]]; then
  shift
  mode=kernel
fi
secs=${1:-3}
rounds=${2:-31}
iperf_rounds=${3:-6}
[[ $(id -u) -eq 0 ]] || { echo "network.sh: needs root" >&2; exit 1; }
tools=(iperf3 wg jq python3)
[[ $mode == kernel ]] || tools+=(wireguard-go)
for tool in "${tools[@]}"; do
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
  for i in 1 2; do nc_exec "$i" ip link del "skbnbare$i" 2>/dev/null || true; done
  for p in "${bare_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f /var/run/wireguard/skbnbare1.sock /var/run/wireguard/skbnbare2.sock
  nc_down >/dev/null 2>&1 || true
  rm -rf "$NC_ROOT"
}
trap cleanup EXIT

nc_up 2
p1=$(nc_pod_add 1 a)
p2=$(nc_pod_add 2 a)
if [[ $mode == kernel ]]; then
  echo "guest kernel $(uname -r); skiff-net backend: $(_nc_net 1 show --format json | jq -r .backend)"
  [[ $(_nc_net 1 show --format json | jq -r .backend) == kernel ]] ||
    { echo "network.sh: skiff-net did not pick the kernel backend" >&2; exit 1; }
fi

# The bare tunnel: a second wireguard-go device per node, keys and peers set with wg(8).
# Each in its own session, as skiff-net's supervisor runs the overlay's: with autogroup
# scheduling (kernel.sched_autogroup_enabled=1, the default) a session is a scheduling group, so
# two daemons sharing this script's session would get half the CPU share the overlay's get.
# --kernel: a kernel wireguard link instead.
for i in 1 2; do
  if [[ $mode == kernel ]]; then
    nc_exec "$i" ip link add "skbnbare$i" type wireguard
    continue
  fi
  nc_exec "$i" setsid env WG_PROCESS_FOREGROUND=1 wireguard-go -f "skbnbare$i" >/dev/null 2>&1 &
  bare_pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 200); do
    [[ $mode == kernel || -S /var/run/wireguard/skbnbare$i.sock ]] && break
    sleep 0.01
  done
  (umask 077 && wg genkey >"$NC_ROOT/bare$i.key")
  wg pubkey <"$NC_ROOT/bare$i.key" >"$NC_ROOT/bare$i.pub"
done
for i in 1 2; do
  j=$((3 - i))
  nc_exec "$i" wg set "skbnbare$i" private-key "$NC_ROOT/bare$i.key" listen-port 51821 \
    peer "$(cat "$NC_ROOT/bare$j.pub")" endpoint "10.$NC_UNDERLAY.0.$j:51821" \
    allowed-ips "10.99.0.$j/32,10.$NC_POD_NET.$j.0/24"
  nc_exec "$i" ip addr add "10.99.0.$i/24" dev "skbnbare$i"
  nc_exec "$i" ip link set "skbnbare$i" mtu "$(_nc_mtu)" up
done

# Pod traffic over the bare tunnel: /25 routes on both nodes beat the overlay's /24 ones.
bare_routes() {  # bare_routes add|del
  local i j h
  for i in 1 2; do
    j=$((3 - i))
    for h in 0 128; do nc_exec "$i" ip route "$1" "10.$NC_POD_NET.$j.$h/25" dev "skbnbare$i"; done
  done
}
wg_cpu() {  # wg_cpu IFNAME-PREFIX -> CPU ticks (utime + stime) of both nodes' wireguard-go
  local t=0 p
  if [[ $mode == kernel ]]; then  # the whole guest: user nice system irq softirq steal
    awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
    return
  fi
  for p in $(pgrep -f "^wireguard-go -f $1[12]\$"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
iperf() {  # iperf WG-PREFIX SERVER CLIENT DEST -> "bits/s received,wireguard-go CPU s per GB"
  local wg=$1 server=$2 client=$3 dest=$4 json c0 c1
  nc_exec "$server" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local spid=$!
  for _ in $(seq 100); do nc_exec "$client" ping -c1 -W1 "$dest" >/dev/null 2>&1 && break; done
  sleep 0.2
  c0=$(wg_cpu "$wg")
  json=$(nc_exec "$client" iperf3 -c "$dest" -p 5201 -t "$secs" -J)
  c1=$(wg_cpu "$wg")
  wait "$spid" || true
  jq -r --argjson ticks $((c1 - c0)) --argjson hz "$(getconf CLK_TCK)" \
    '.end.sum_received | "\(.bits_per_second),\($ticks / $hz / (.bytes / 1e9))"' <<<"$json"
}

# Paths measured in turns, the order rotating every round: the machine is shared, and whatever
# runs first or last in a round must not always be the same path.
declare -A results dest=([overlay-pod]="${NC_NAME}wg 2/a 1/a $p2"
  [overlay-node]="${NC_NAME}wg 2 1 10.$NC_POD_NET.2.0" [bare-pod]="skbnbare 2/a 1/a $p2"
  [bare]="skbnbare 2 1 10.99.0.2" [veth]="none 2 1 10.$NC_UNDERLAY.0.2")
paths=(overlay-pod overlay-node bare-pod bare veth)
for ((r = 0; r < iperf_rounds; r++)); do
  for ((k = 0; k < ${#paths[@]}; k++)); do
    path=${paths[$(((k + r) % ${#paths[@]}))]}
    [[ $path == bare-pod ]] && bare_routes add
    # shellcheck disable=SC2086
    results[$path]+=" $(iperf ${dest[$path]})"
    [[ $path == bare-pod ]] && bare_routes del
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (numbers above nproc make single runs noisy)"
echo "== iperf3 TCP, $secs s x $iperf_rounds rounds, median Gbit/s received (all runs) =="
python3 - "$mode" "${results[overlay-pod]}" "${results[overlay-node]}" "${results[bare-pod]}" \
  "${results[bare]}" "${results[veth]}" <<'PY'
import statistics, sys
bare = "kernel WireGuard" if sys.argv[1] == "kernel" else "wireguard-go"
names = ["skiff overlay, pod -> pod across nodes", "skiff overlay, node -> node (wg device)",
         f"bare {bare} tunnel, pod -> pod", f"bare {bare} tunnel, node -> node",
         "plain veth underlay, node -> node"]
med, cpu = [], []
what = "guest CPU-s/GB" if sys.argv[1] == "kernel" else "wg CPU-s/GB"
print(f"{'':42s} {'Gbit/s':>7s}  {what:>14s}  (runs, Gbit/s)")
for name, runs in zip(names, sys.argv[2:]):
    v = [tuple(map(float, x.split(","))) for x in runs.split()]
    med.append(statistics.median(b / 1e9 for b, _ in v))
    cpu.append(statistics.median(c for _, c in v))
    c = f"{cpu[-1]:14.2f}" if "veth" not in name else f"{'-':>14s}"
    print(f"{name:42s} {med[-1]:7.3f}  {c}  ({', '.join(f'{b / 1e9:.3f}' for b, _ in v)})")
print(f"overlay pod->pod / bare node->node:   {med[0] / med[3]:.2f}x (target >= 0.95); "
      f"CPU per GB {cpu[0] / cpu[3]:.2f}x")
print(f"overlay pod->pod / bare pod->pod:     {med[0] / med[2]:.2f}x; CPU per GB {cpu[0] / cpu[2]:.2f}x")
print(f"overlay node->node / bare node->node: {med[1] / med[3]:.2f}x; CPU per GB {cpu[1] / cpu[3]:.2f}x")
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
