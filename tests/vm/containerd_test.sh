#!/usr/bin/env bash
# containerd drives skiff (ctr --runc-binary: containerd-shim-runc-v2 calls skiff with runc's
# contract: --root, --log --log-format json, create --bundle --pid-file [--console-socket], start,
# state, exec --process --detach, pause/resume, kill, delete). In the VM lane on a pure cgroup v2
# kernel; with --here on this host as it is (tests/e2e/containerd_test.sh: hybrid v1 here).
#
# Checks: the busybox fixture imported as an OCI archive; a detached container running with a
# 64 MiB --memory-limit seen in its cgroup on the host (memory.max, or v1 memory.limit_in_bytes);
# exec with output and exit status; pause/resume (cgroup.freeze / freezer); SIGKILL reported as
# 137; delete leaving neither skiff's state nor the container's cgroup; a container past a 32 MiB
# limit OOM-killed (137) with containerd's /tasks/oom event; skiff's create error reaching ctr; a
# terminal through the console socket.
#
# The daemon is our own: temp root, state, socket and config (no CRI plugin), stopped at the end.
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/vm/containerd_test.sh [--here]
set -uo pipefail
src=${SKIFF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${SKIFF_BINARY_DIR:-$src/build}
skiff=${SKIFF_BIN:-$bin/runtime/skiff}

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ -x $skiff ]] || skip "$skiff is not built"
for t in containerd ctr containerd-shim-runc-v2; do
  command -v $t >/dev/null || skip "$t not installed (scripts/install-deps.sh: containerd)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root"

case ${1-} in
  --in-guest) ;;
  --here) ;;
  *) cd "$src" && exec scripts/vm/run.sh --timeout 600 -- bash "$src/tests/vm/containerd_test.sh" --in-guest ;;
esac

if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then mode=v2; else mode=v1; fi
picked=$("$skiff" features | jq -r '.annotations["org.skiff.cgroup.mode"]')
echo "kernel: $(uname -r); cgroup mode (skiff features): $picked;" \
  "$(containerd --version | cut -d' ' -f1,3)"
if [[ ${1-} == --in-guest && $mode != v2 ]]; then
  echo "FAIL: the guest is not pure cgroup v2"
  exit 1
fi

work=$(mktemp -d /tmp/skiff-containerd.XXXXXX)
ns=skiff-test-$$
sock=$work/containerd.sock
daemon= events=
cleanup() {
  local c
  for c in $(ctr -a "$sock" -n "$ns" task ls -q 2>/dev/null); do
    ctr -a "$sock" -n "$ns" task kill -s KILL "$c" >/dev/null 2>&1
    ctr -a "$sock" -n "$ns" task delete -f "$c" >/dev/null 2>&1
  done
  for c in $(ctr -a "$sock" -n "$ns" containers ls -q 2>/dev/null); do
    ctr -a "$sock" -n "$ns" containers delete "$c" >/dev/null 2>&1
  done
  [[ -n $events ]] && kill "$events" 2>/dev/null
  if [[ -n $daemon ]]; then
    kill "$daemon" 2>/dev/null
    wait "$daemon" 2>/dev/null
  fi
  grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work" "/run/containerd/runc/$ns"
  # The namespace's parent cgroup (containerd's cgroupsPath is /<namespace>/<id>).
  find /sys/fs/cgroup -maxdepth 2 -type d -name "$ns" -exec rmdir {} + 2>/dev/null
  true
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  [[ -f $work/containerd.log ]] && { echo "--- containerd log (tail)"; tail -n 20 "$work/containerd.log"; }
  exit 1
}

cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
daemon=$!
ctr_() { ctr -a "$sock" -n "$ns" "$@"; }
for _ in $(seq 300); do
  [[ -S $sock ]] && ctr_ version >/dev/null 2>&1 && break
  kill -0 "$daemon" 2>/dev/null || fail "containerd exited at start"
  sleep 0.1
done
ctr_ version >/dev/null 2>&1 || fail "containerd did not answer on $sock within 30 s"

ctr_ events >"$work/events" 2>&1 &
events=$!

bash "$src/scripts/fixtures/make-busybox-bundle.sh" "$work/bundle" --oci-layout "$work/layout" \
  --tag latest || fail "make-busybox-bundle"
tar -C "$work/layout" -cf "$work/busybox.tar" . || fail "tar of the OCI layout"
ctr_ images import --base-name localhost/busybox "$work/busybox.tar" >/dev/null ||
  fail "ctr images import"
image=localhost/busybox:latest
run_opts=(--runc-binary "$skiff")

# A running container with a memory limit.
ctr_ run -d "${run_opts[@]}" --memory-limit $((64 << 20)) "$image" c1 sleep 1000 ||
  fail "ctr run -d c1"
status=$(ctr_ task ls | awk '$1 == "c1" {print $3}')
[[ $status == RUNNING ]] || fail "c1 is '$status', want RUNNING"
pid=$(ctr_ task ls | awk '$1 == "c1" {print $2}')
[[ -f /run/containerd/runc/$ns/c1/state.json ]] &&
  jq -e '.cgroup' "/run/containerd/runc/$ns/c1/state.json" >/dev/null ||
  fail "skiff's state.json is not in /run/containerd/runc/$ns/c1 (is skiff the runtime?)"
if [[ $mode == v2 ]]; then
  cg=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
  limit_file=$cg/memory.max
else
  cg=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid/cgroup")
  limit_file=$cg/memory.limit_in_bytes
fi
[[ $cg == */$ns/c1 ]] || fail "c1's cgroup is '$cg', want …/$ns/c1"
limit=$(cat "$limit_file") || fail "cannot read $limit_file"
[[ $limit == $((64 << 20)) ]] || fail "$limit_file is '$limit', want $((64 << 20))"
echo "ok: c1 runs (pid $pid) with $limit_file = $limit"

# exec: output and exit status pass through the shim.
out=$(ctr_ task exec --exec-id e1 c1 sh -c 'echo hello from exec; exit 3')
rc=$?
[[ $out == "hello from exec" && $rc == 3 ]] || fail "exec gave '$out' rc $rc, want 'hello from exec' rc 3"
echo "ok: exec output and exit status 3"

# pause/resume: the freezer.
ctr_ task pause c1 || fail "ctr task pause"
status=$(ctr_ task ls | awk '$1 == "c1" {print $3}')
[[ $status == PAUSED ]] || fail "c1 is '$status' after pause, want PAUSED"
if [[ $mode == v2 ]]; then
  [[ $(cat "$cg/cgroup.freeze") == 1 ]] || fail "$cg/cgroup.freeze is not 1 while paused"
fi
ctr_ task resume c1 || fail "ctr task resume"
status=$(ctr_ task ls | awk '$1 == "c1" {print $3}')
[[ $status == RUNNING ]] || fail "c1 is '$status' after resume, want RUNNING"
echo "ok: pause/resume"

# kill and delete: exit 137, no state and no cgroup left.
ctr_ task kill -s SIGKILL c1 || fail "ctr task kill"
for _ in $(seq 100); do
  [[ $(ctr_ task ls | awk '$1 == "c1" {print $3}') == STOPPED ]] && break
  sleep 0.1
done
ctr_ task delete c1 >/dev/null 2>&1 || fail "ctr task delete"
ctr_ containers delete c1 || fail "ctr containers delete"
grep -q '/tasks/exit {"container_id":"c1","id":"c1".*"exit_status":137' "$work/events" ||
  fail "no /tasks/exit with status 137 for c1: $(grep c1 "$work/events" | tail -3)"
[[ ! -e /run/containerd/runc/$ns/c1 ]] || fail "skiff's state /run/containerd/runc/$ns/c1 is left"
[[ ! -e $cg ]] || fail "c1's cgroup $cg is left after delete"
echo "ok: SIGKILL reported as 137; delete removed skiff's state and $cg"

# OOM: a process past its limit is killed and containerd says so.
ctr_ run --rm "${run_opts[@]}" --memory-limit $((32 << 20)) "$image" c2 sh -c 'tail /dev/zero'
rc=$?
[[ $rc == 137 ]] || fail "c2 past its 32 MiB limit exited $rc, want 137 (OOM kill)"
for _ in $(seq 50); do
  grep -q '/tasks/oom {"container_id":"c2"}' "$work/events" && break
  sleep 0.1
done
grep -q '/tasks/oom {"container_id":"c2"}' "$work/events" ||
  fail "no /tasks/oom event for c2: $(grep c2 "$work/events" | tail -3)"
echo "ok: OOM kill (137) seen by containerd as /tasks/oom"

# skiff's own error message reaches the user through the shim (--log-format json).
err=$(ctr_ run --rm "${run_opts[@]}" "$image" c3 /nonexistent 2>&1)
rc=$?
[[ $rc != 0 && $err == *'`/nonexistent`: No such file or directory'* ]] ||
  fail "a bad command gave rc $rc and '$err', want skiff's message about /nonexistent"
[[ -z $(ctr_ containers ls -q) ]] || fail "c3 is left after its failed start"
echo "ok: skiff's create error reached ctr: ${err##*failed: }"

# A terminal: the shim passes --console-socket and relays the pty.
out=$(timeout 60 script -qec "ctr -a $sock -n $ns run --rm -t --runc-binary $skiff $image c4 sh -c 'tty; exit 4'" /dev/null </dev/null)
rc=$?
[[ $rc == 4 && $out == */dev/pts/0* ]] || fail "ctr run -t gave rc $rc and '$out', want /dev/pts/0 and rc 4"
echo "ok: terminal through the console socket"

echo "ok: containerd $(containerd --version | cut -d' ' -f3) drives skiff on cgroup $picked"
