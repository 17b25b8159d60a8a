#!/usr/bin/env bash
# skiff-master under load, SQLite and etcd side by side: NODES hollow nodes, PODS pods created at
# RATE/s, a hollow kubelet pool reporting every bound pod Running. Prints p50/p99 create latency,
# pods scheduled per second, create-to-Running, a kubelet's fieldSelector=spec.nodeName list
# (indexed) next to a scanning field selector, and the master's RSS and CPU.
#   scripts/bench/master.sh [PODS=30000] [NODES=1000] [RATE=300] [THREADS=16]
#   STORES="sqlite etcd" (default both; etcd needs Debian's etcd-server, started here)
set -euo pipefail
pods=${1:-30000} nodes=${2:-1000} rate=${3:-300} threads=${4:-16}
root=$(cd "$(dirname "$0")/../.." && pwd)
master=${SKIFF_MASTER_BIN:-$root/build/master/skiff-master}
[[ -x $master ]] || { echo "build skiff-master first ($master)"; exit 1; }
work=$(mktemp -d /tmp/skiff-master-bench.XXXXXX)
pid= etcd_pid=
stop() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  if [[ -n $etcd_pid ]]; then kill "$etcd_pid" 2>/dev/null; wait "$etcd_pid" 2>/dev/null || true; fi
  pid= etcd_pid=
}
trap 'stop; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status=0
for store in ${STORES:-sqlite etcd}; do
  flags=()
  if [[ $store == etcd ]]; then
    command -v etcd >/dev/null || { echo "etcd: not installed (etcd-server), skipped"; continue; }
    ec=$(free_port) ep=$(free_port)
    etcd --name bench --data-dir "${ETCD_DIR:-$work/etcd}" --listen-client-urls "http://127.0.0.1:$ec" \
      --advertise-client-urls "http://127.0.0.1:$ec" --listen-peer-urls "http://127.0.0.1:$ep" \
      --initial-advertise-peer-urls "http://127.0.0.1:$ep" --initial-cluster "bench=http://127.0.0.1:$ep" \
      --quota-backend-bytes 8589934592 --log-level error >"$work/etcd.log" 2>&1 &
    etcd_pid=$!
    flags=(--store etcd --etcd-endpoints "http://127.0.0.1:$ec")
  fi
  port=$(free_port)
  "$master" --data-dir "$work/data-$store" --listen "127.0.0.1:$port" "${flags[@]}" >"$work/master.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do grep -qs "serving on" "$work/master.log" && break; sleep 0.1; done
  echo "== skiff-master $(git -C "$root" rev-parse --short HEAD), store $store, $(nproc) cores"
  python3 "$root/scripts/bench/master_load.py" "$work/data-$store" "$port" "$pid" "$nodes" "$pods" "$rate" "$threads" ${etcd_pid:+"$etcd_pid"} || status=1
  if [[ $store == sqlite ]]; then
    echo "state.db: $(du -shc "$work/data-$store/state.db"* | tail -1 | awk '{print $1}')"
  else
    echo "etcd data: $(du -sh "${ETCD_DIR:-$work/etcd}" | awk '{print $1}')"
  fi
  stop
done
exit $status
