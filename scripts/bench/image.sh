#!/usr/bin/env bash
# Image benchmark (issue 3): a multi-layer image (>= 50 MB compressed) built here from files of
# this machine (python, perl, gcc's cc1 and cc1plus — one gzip layer each) is pushed into a
# docker-registry on loopback; then, alternating each round, median of N:
#   pull:   `skiff image pull` into a fresh store  vs  `skopeo copy` to a fresh OCI layout
#   repull: a second `skiff image pull` of the same image (must move 0 blob bytes)
#   unpack: `skiff bundle create --image` with fresh snapshots  vs  `umoci unpack`
# Targets: pull <= 0.7x skopeo, unpack <= 0.7x umoci. Needs root (overlay mounts, umoci unpack).
#   scripts/bench/image.sh [N]        (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-5}
skiff=${SKIFF_BIN:-$PWD/build/runtime/skiff}
[[ -x $skiff ]] || { echo "build skiff first (scripts/build.sh)" >&2; exit 1; }
[[ -x $(dirname "$skiff")/skiff-pull ]] || { echo "build skiff-pull first" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "image.sh: needs root (overlay mounts, umoci unpack)" >&2; exit 1; }
for tool in docker-registry skopeo umoci python3; do
  command -v $tool >/dev/null || { echo "image.sh: needs $tool (scripts/install-deps.sh)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/skiff-bench-image.XXXXXX)
registry_pid=
cleanup() {
  if [[ -n $registry_pid ]]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The image: one gzip layer per directory or file (GNU tar and gzip; umoci 0.4.7's `insert`
# writes layers tar cannot read to the end), written as an OCI layout.
# SKIFF_BENCH_LAYOUT=DIR keeps the layout there and reuses it on the next run.
layout=${SKIFF_BENCH_LAYOUT:-$work/layout}
if [[ ! -f $layout/index.json ]]; then
  echo "image.sh: building the image in $layout ..." >&2
  rm -rf "$layout"
cc1=$(gcc -print-prog-name=cc1 2>/dev/null || true)
cc1plus=$(gcc -print-prog-name=cc1plus 2>/dev/null || true)
python3 - "$layout" /usr/lib/python3.11 /usr/lib/python3 /usr/share/perl "$cc1" \
  "$cc1plus" <<'PY'
import hashlib, json, os, platform, subprocess, sys
out = sys.argv[1]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)
    return h.hexdigest()
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
layers, diff_ids = [], []
for src in sys.argv[2:]:
    if not src or not os.path.exists(src): continue
    tar = os.path.join(out, "layer.tar")
    subprocess.run(["tar", "-C", "/", "--numeric-owner", "-cf", tar, src.lstrip("/")], check=True)
    diff_ids.append("sha256:" + sha(tar))
    subprocess.run(["gzip", "-n", tar], check=True)
    d = sha(tar + ".gz")
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + d, "size": os.path.getsize(tar + ".gz")})
    os.rename(tar + ".gz", os.path.join(blobs, d))
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
config = put(json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
config["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = put(json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": layers}).encode())
manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
manifest["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
json.dump({"schemaVersion": 2, "manifests": [manifest]}, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
PY
fi
size=$(python3 - "$layout" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
print(sum(l["size"] for l in m["layers"]), len(m["layers"]))
PY
)
read -r bytes layers <<<"$size"
((bytes >= 50000000)) || { echo "image.sh: image is only $bytes bytes (want >= 50 MB)" >&2; exit 1; }

# The registry: loopback, a free port, storage in $work.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.05
done
skopeo copy -q --dest-tls-verify=false "oci:$layout:bench" \
  "docker://127.0.0.1:$port/bench:latest" >/dev/null

python3 - "$n" "$work" "$skiff" "127.0.0.1:$port/bench:latest" "$bytes" "$layers" "$layout" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time

n = int(sys.argv[1]); work = sys.argv[2]; skiff = sys.argv[3]; ref = sys.argv[4]
image_bytes = int(sys.argv[5]); layers = int(sys.argv[6]); layout = sys.argv[7]
devnull = os.open(os.devnull, os.O_RDWR)

def timed(argv, out_path=None):
    """Wall time in ms of argv (fork/exec/wait4); stdout to out_path or /dev/null."""
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if out_path else devnull
    err_path = os.path.join(work, "stderr")
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    t0 = time.perf_counter_ns()
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull, 0); os.dup2(out, 1); os.dup2(err, 2)
        os.execvp(argv[0], argv)
    _, status, _ = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    if out_path: os.close(out)
    os.close(err)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"image.sh: {' '.join(argv)} failed:\n{open(err_path).read()}")
    return (t1 - t0) / 1e6

def fresh(name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path

def sync_drop():
    os.sync()

t = {k: [] for k in ("skiff pull", "skopeo copy", "skiff repull", "skiff unpack", "umoci unpack")}
repull_bytes = []

def pull_skiff():
    store = fresh("store")
    sync_drop()
    t["skiff pull"].append(timed([skiff, "image", "--image-root", store, "pull", "--insecure",
                                  "--quiet", ref]))
    out = os.path.join(work, "repull.json")
    sync_drop()
    t["skiff repull"].append(timed([skiff, "image", "--image-root", store, "pull", "--insecure",
                                    "--format", "json", ref], out))
    repull_bytes.append(json.load(open(out))["blobBytes"])

def pull_skopeo():
    dest = fresh("skopeo-oci")
    sync_drop()
    t["skopeo copy"].append(timed(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                   "docker://" + ref, "oci:" + dest + ":bench"]))

def unpack_skiff():
    snaps = fresh("snapshots"); bundle = fresh("bundle-skiff")
    sync_drop()
    t["skiff unpack"].append(timed([skiff, "bundle", "--image-root", os.path.join(work, "store"),
                                    "--snapshot-root", snaps, "create", "--image", ref, bundle]))
    timed([skiff, "bundle", "--image-root", os.path.join(work, "store"), "--snapshot-root", snaps,
           "rm", bundle])

def unpack_umoci():
    bundle = fresh("bundle-umoci")
    sync_drop()
    t["umoci unpack"].append(timed(["umoci", "unpack", "--image", layout + ":bench", bundle]))

pull_skiff(); pull_skopeo()  # warm-up: page cache, registry
for i in range(n):
    for f in ([pull_skiff, pull_skopeo] if i % 2 == 0 else [pull_skopeo, pull_skiff]): f()
for i in range(n):
    for f in ([unpack_skiff, unpack_umoci] if i % 2 == 0 else [unpack_umoci, unpack_skiff]): f()

med = {k: statistics.median(v) for k, v in t.items()}
print(f"image benchmark: {layers} layers, {image_bytes / 1e6:.1f} MB compressed, "
      f"median of {n}, alternating; registry on loopback")
for k, v in med.items():
    print(f"  {k:13} {v:9.1f} ms   (min {min(t[k]):.1f}, max {max(t[k]):.1f})")
print(f"  repull blob bytes: {sorted(set(repull_bytes))}")
pull_ratio = med["skiff pull"] / med["skopeo copy"]
unpack_ratio = med["skiff unpack"] / med["umoci unpack"]
print(f"skiff/skopeo pull:   {pull_ratio:.2f}x (target <= 0.70)")
print(f"skiff/umoci unpack:  {unpack_ratio:.2f}x (target <= 0.70)")
print(f"second pull moved {max(repull_bytes)} blob bytes (target 0)")
PY
