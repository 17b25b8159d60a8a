#!/usr/bin/env bash
# skiff-master under load: NODES hollow nodes, PODS pods created at RATE/s, a hollow kubelet pool
# reporting every bound pod Running. Prints p50/p99 create latency, pods scheduled per second,
# create-to-Running, and the master's RSS and CPU. SQLite store (etcd: not implemented yet).
#   scripts/bench/master.sh [PODS=30000] [NODES=1000] [RATE=300] [THREADS=8]
set -euo pipefail
pods=${1:-30000} nodes=${2:-1000} rate=${3:-300} threads=${4:-8}
root=$(cd "$(dirname "$0")/../.." && pwd)
master=${SKIFF_MASTER_BIN:-$root/build/master/skiff-master}
[[ -x $master ]] || { echo "build skiff-master first ($master)"; exit 1; }
work=$(mktemp -d /tmp/skiff-master-bench.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$master" --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/master.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -qs "serving on" "$work/master.log" && break; sleep 0.1; done
echo "skiff-master $(git -C "$root" rev-parse --short HEAD), store sqlite, $(nproc) cores"
python3 "$root/scripts/bench/master_load.py" "$work/data" "$port" "$pid" "$nodes" "$pods" "$rate" "$threads"
echo "state.db: $(du -sh "$work/data/state.db"* | awk '{print $1}' | paste -sd+)"
