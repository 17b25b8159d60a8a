#!/usr/bin/env bash
# Runtime benchmark: N sequential `run` of /bin/true with skiff, crun and runc on one busybox
# bundle, alternating runtimes each round, in one private mount namespace (crun 1.8 refuses this
# host's hybrid cgroups unless /sys/fs/cgroup/unified is unmounted there; all three get the same
# view). Prints per-container median/p90 wall time, median peak RSS, and skiff's ratios.
#   scripts/bench/runtime.sh [N]        (default 50)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-50}
skiff=${SKIFF_BIN:-$PWD/build/runtime/skiff}
[[ -x $skiff ]] || { echo "build skiff first (scripts/build.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/fixtures/make-busybox-bundle.sh "$work/bundle" -- /bin/true

if [[ ${SKIFF_BENCH_INNER:-0} != 1 ]]; then
  exec unshare -m env SKIFF_BENCH_INNER=1 SKIFF_BIN="$skiff" "$0" "$n"
fi
mount --make-rprivate /
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi

runtimes=("skiff=$skiff")
command -v crun >/dev/null && runtimes+=("crun=$(command -v crun)")
command -v runc >/dev/null && runtimes+=("runc=$(command -v runc)")

python3 - "$n" "$work" "${runtimes[@]}" <<'PY'
import os, sys, time, statistics

n = int(sys.argv[1]); work = sys.argv[2]
runtimes = [a.split("=", 1) for a in sys.argv[3:]]
bundle = os.path.join(work, "bundle")
devnull = os.open(os.devnull, os.O_RDWR)
times = {name: [] for name, _ in runtimes}
rss = {name: [] for name, _ in runtimes}
failures = {name: 0 for name, _ in runtimes}

def spawn(argv):
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull, 0); os.dup2(devnull, 1); os.dup2(devnull, 2)
        os.execv(argv[0], argv)
    _, status, _ = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status)

def once(name, path, i):
    root = os.path.join(work, "state-" + name)
    argv = [path, "--root", root, "run", "--bundle", bundle, f"b{i}-{name}"]
    t0 = time.perf_counter_ns()
    code = spawn(argv)
    t1 = time.perf_counter_ns()
    if code != 0:
        failures[name] += 1
        return
    times[name].append((t1 - t0) / 1e6)

# Peak RSS in a separate pass through GNU time (a small C parent): a fork of this Python process
# would carry Python's own RSS into ru_maxrss.
def rss_once(name, path, i):
    root = os.path.join(work, "state-" + name)
    out = os.path.join(work, "rss")
    argv = ["/usr/bin/time", "-f", "%M", "-o", out, path, "--root", root, "run", "--bundle",
            bundle, f"r{i}-{name}"]
    if spawn(argv) == 0:
        rss[name].append(int(open(out).read().split()[-1]))  # KiB, max of the runtime's processes

for name, path in runtimes:  # warm-up: page cache, first cgroup creation
    for i in range(3):
        once(name, path, f"warm{i}")
for i in range(n):
    order = runtimes if i % 2 == 0 else list(reversed(runtimes))
    for name, path in order:
        once(name, path, i)

for i in range(min(n, 15)):
    for name, path in (runtimes if i % 2 == 0 else list(reversed(runtimes))):
        rss_once(name, path, i)

def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]

print(f"runtime benchmark: {n} x `run /bin/true`, alternating; kernel {os.uname().release}")
print(f"{'runtime':8} {'median ms':>10} {'p90 ms':>8} {'peak RSS KiB':>13} {'failed':>7}")
for name, _ in runtimes:
    if not times[name]:
        print(f"{name:8} {'-':>10} {'-':>8} {'-':>13} {failures[name]:>7}")
        continue
    print(f"{name:8} {statistics.median(times[name]):10.2f} {q(times[name], 0.9):8.2f} "
          f"{int(statistics.median(rss[name])):13d} {failures[name]:>7}")
if times.get("skiff"):
    for name, _ in runtimes:
        if name != "skiff" and times[name]:
            print(f"skiff/{name}: time {statistics.median(times['skiff']) / statistics.median(times[name]):.2f}x, "
                  f"peak RSS {statistics.median(rss['skiff']) / statistics.median(rss[name]):.2f}x")
PY
