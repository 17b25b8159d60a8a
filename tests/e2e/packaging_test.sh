#!/usr/bin/env bash
# Packaging: `cpack -G DEB` in the build dir makes the skiff, skiff-kubelet and skiff-master
# packages (timed). Each holds exactly its files (binaries in /usr/bin, CNI plugins in
# /usr/lib/cni, units in /lib/systemd/system, flags in /etc/default as conffiles), has the right
# control fields (Package, Version, Architecture, Depends from dpkg-shlibdeps and the dlopen()ed
# libraries, skiff-kubelet on skiff and WireGuard), maintainer scripts that parse, binaries that
# are stripped and carry no RPATH/RUNPATH. `systemd-analyze verify` checks the units. Then the
# three packages are extracted into one temporary root (never dpkg -i on this host) and a
# one-master one-worker cluster runs FROM THAT TREE ONLY, in a mount namespace where the build dir
# is hidden under an empty tmpfs and in a network namespace of its own (loopback only): the
# master, `skiff-master kubeconfig`, `skiff-master token create`, `skiff-kubelet join … --run`,
# the node Ready, a pod Running with an address from the kubelet's default network (plugins from
# the tree's /usr/lib/cni), `skiff pod ls`, `kubectl delete pod` leaving nothing on the node.
# kubectl: Debian's 1.20 where there is one (scripts/cluster/common.sh's find_kubectl).
# Exit 77 (skip) without root, cpack, dpkg-deb, readelf, kubectl or the built binaries.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() {
  echo "SKIP: $*"
  exit 77
}
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
# shellcheck source=SCRIPTDIR/../../scripts/cluster/common.sh
source "$repo/scripts/cluster/common.sh"  # cl_wait, find_kubectl

# --- the smoke test's inner half: runs in its own mount namespace (see the end of the script) ---
if [[ ${1:-} == --smoke ]]; then
  work=$2 build=$3 netns=$4 kubectl=$5
  root="$work/root"
  # The build tree is gone for everything started from here on.
  mount -t tmpfs -o ro,size=4k skiff-no-build-tree "$build" || {
    echo "FAIL: hide the build tree"
    exit 1
  }
  [[ -z "$(ls -A "$build")" ]] || {
    echo "FAIL: the build tree is still visible"
    exit 1
  }
  export PATH="$root/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  innet() { nsenter --net="/run/netns/$netns" "$@"; }
  k() { innet "$kubectl" --kubeconfig "$work/admin.kubeconfig" --request-timeout=20s "$@"; }
  node="$work/node"
  roots=(--state-root "$node/state" --run-root "$node/run" --log-root "$node/log"
    --image-root "$node/images" --snapshot-root "$node/snapshots" --cni-conf-dir "$node/net.d"
    --cni-cache-dir "$node/cni-cache" --cni-data-dir "$node/cni-data")
  pods() { innet skiff pod "${roots[@]:0:10}" ls -o json; }

  [[ "$(command -v skiff-master)" == "$root/usr/bin/skiff-master" ]] || fail "PATH: $PATH"
  # nsenter execs its command: $! is the daemon's pid.
  nsenter --net="/run/netns/$netns" skiff-master --data-dir "$work/master" --listen 127.0.0.1:6443 \
    --node-monitor-grace-period 10m >"$work/master.log" 2>&1 &
  echo $! >"$work/master.pid"
  cl_wait 20 test -s "$work/master/server-url" || {
    cat "$work/master.log"
    echo "FAIL: skiff-master up"
    exit 1
  }
  pass "skiff-master (from the package) serves on $(cat "$work/master/server-url")"
  skiff-master kubeconfig --data-dir "$work/master" >"$work/admin.kubeconfig" ||
    fail "skiff-master kubeconfig"
  join=$(innet skiff-master token create --data-dir "$work/master" --ttl 1h) ||
    fail "skiff-master token create"
  token=$(sed -E 's/.*--token ([^ ]+).*/\1/' <<<"$join")
  hash=$(sed -E 's/.*--ca-cert-hash ([^ ]+).*/\1/' <<<"$join")
  [[ $join == *"skiff-kubelet join https://127.0.0.1:6443"* && -n $token && $hash == sha256:* ]] &&
    pass "token create prints the join command" || fail "join command: $join"

  "$repo/scripts/fixtures/make-busybox-bundle.sh" "$work/bb" --rootfs-only \
    --oci-layout "$work/bb-oci" >/dev/null 2>&1 || fail "build the busybox fixture image"
  skiff image import --image-root "$node/images" "$work/bb-oci" busybox:1.35 >/dev/null ||
    fail "skiff image import (the packaged skiff)"

  nsenter --net="/run/netns/$netns" skiff-kubelet join https://127.0.0.1:6443 --token "$token" --ca-cert-hash "$hash" --run \
    --node-name pkgnode --data-dir "$node/kubelet" "${roots[@]}" >"$work/kubelet.log" 2>&1 &
  echo $! >"$work/kubelet.pid"
  ready() {
    [[ "$(k get node pkgnode -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
  }
  if cl_wait 30 ready; then
    pass "pkgnode joined and is Ready"
    k get nodes -o wide | sed 's/^/    /'
  else
    fail "node Ready"
    k get nodes -o wide
    cat "$work/kubelet.log"
  fi
  [[ -s "$node/kubelet/credentials/kubeconfig" ]] &&
    pass "join wrote credentials/kubeconfig (skiff-kubelet.service's start condition)" ||
    fail "no $node/kubelet/credentials/kubeconfig"

  k apply --validate=false -f - >/dev/null <<'YAML' || fail "apply pod"
apiVersion: v1
kind: Pod
metadata: {name: pkg-web}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, "trap 'exit 0' TERM; echo started; sleep 600 & wait"]
YAML
  running() { [[ "$(k get pod pkg-web -o jsonpath='{.status.phase}')" == Running ]]; }
  if cl_wait 60 running; then
    ip=$(k get pod pkg-web -o jsonpath='{.status.podIP}')
    [[ $ip == 10.85.* ]] && pass "pod Running with $ip from the default network (plugins in the tree)" ||
      fail "pod IP $ip"
    rec=$(innet skiff pod "${roots[@]:0:10}" ls -o json)
    [[ "$(jq length <<<"$rec")" == 1 ]] && pass "skiff pod ls (skiff -> skiff-pod) sees it" ||
      fail "skiff pod ls: $rec"
    # What skiff-pod resolved for the shim (next to itself, <its dir>/../lib/cni): the tree's.
    pj=$(find "$node/state" -name pod.json | head -1)
    [[ "$(jq -r .node.pauseBinary "$pj")" == "$root/usr/bin/skiff-pause" &&
      "$(jq -r .node.pullBinary "$pj")" == "$root/usr/bin/skiff-pull" &&
      "$(jq -r '.node.cniBinDirs[0]' "$pj")" == "$root/usr/lib/cni" ]] &&
      pass "the pod's pause, pull and first CNI dir are the tree's" ||
      fail "pod.json node: $(jq -c '.node | {pauseBinary, pullBinary, cniBinDirs}' "$pj")"
  else
    fail "pod Running"
    k get pod pkg-web -o yaml | sed -n '/^status:/,$p'
    cat "$work/kubelet.log"
  fi
  if k delete pod pkg-web --wait=true >/dev/null; then
    no_pods() { [[ "$(pods | jq length)" == 0 ]]; }
    cl_wait 20 no_pods && pass "kubectl delete pod: nothing left on the node" ||
      fail "still on the node: $(pods)"
  else
    fail "kubectl delete pod"
  fi
  # Whatever is left (a failed check above): removed here, inside this mount namespace.
  for p in $(pods 2>/dev/null | jq -r '.[] | "\(.namespace)/\(.name)"'); do
    innet skiff pod "${roots[@]:0:10}" -n "${p%%/*}" rm -f "${p#*/}" >/dev/null 2>&1
  done
  daemons=("$(cat "$work/kubelet.pid")" "$(cat "$work/master.pid")")
  kill -TERM "${daemons[@]}" 2>/dev/null
  (for _ in {1..50}; do sleep 0.2; done; kill -9 "${daemons[@]}" 2>/dev/null) &
  killer=$!
  wait "${daemons[@]}" 2>/dev/null
  kill "$killer" 2>/dev/null
  exit $((failures > 0))
fi

# --- the outer half ---
[[ "$(id -u)" -eq 0 ]] || skip "needs root (network and mount namespaces, pods)"
for tool in cpack dpkg-deb readelf jq nsenter unshare ip; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
kubectl=$(find_kubectl) || skip "no kubectl (apt-get install kubernetes-client)"
build="$(dirname "$(dirname "$(realpath "${SKIFF_BIN:-$repo/build/runtime/skiff}")")")"
[[ -f "$build/CPackConfig.cmake" ]] || skip "no $build/CPackConfig.cmake (re-run cmake)"
for b in runtime/skiff runtime/skiff-pull kubelet/skiff-pod kubelet/skiff-shim kubelet/skiff-pause \
  cni/skiff-net cni/skiff-bridge cni/skiff-ipam kubelet/skiff-kubelet master/skiff-master; do
  [[ -x "$build/$b" ]] || skip "\`$build/$b' not built (cpack packages the built binaries)"
done
version=$(sed -nE 's/^set\(CPACK_PACKAGE_VERSION "([^"]+)"\)/\1/p' "$build/CPackConfig.cmake")
arch=$(dpkg --print-architecture)

work="$(mktemp -d /tmp/skiff-e2e-pkg.XXXXXX)"
netns="skpkg$(($$ % 100000))"
cleanup() {
  local f
  for f in "$work"/kubelet.pid "$work"/master.pid; do
    [[ -s $f ]] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  # Shims of a pod a failed run left behind (they run detached): by their pod dirs.
  for f in /proc/[0-9]*; do
    [[ "$(tr '\0' ' ' <"$f/cmdline" 2>/dev/null)" == *"--pod-dir $work/"* ]] && kill -9 "${f#/proc/}"
  done 2>/dev/null
  wait 2>/dev/null
  ip netns del "$netns" 2>/dev/null
  # Mounts under the work dir live in the smoke test's mount namespace, gone with its processes.
  rm -rf "$work"
}
trap cleanup EXIT

# --- the packages ---
t0=$(date +%s%N)
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log"
  fail "cpack -G DEB"
  exit 1
fi
ms=$((($(date +%s%N) - t0) / 1000000))
((ms < 90000)) && pass "cpack -G DEB: three packages in ${ms} ms" || fail "cpack took ${ms} ms"
deb() { echo "$work/out/${1}_${version}_${arch}.deb"; }
for p in skiff skiff-kubelet skiff-master; do
  [[ -f "$(deb "$p")" ]] || {
    ls -l "$work/out"
    fail "no $(deb "$p")"
    exit 1
  }
  echo "    $(basename "$(deb "$p")"): $(du -k "$(deb "$p")" | cut -f1) KiB"
done

files() { dpkg-deb -c "$(deb "$1")" | awk '$1 !~ /^d/ {print $6}' | sort | tr '\n' ' '; }
expect_files() {  # expect_files PACKAGE PATH...: exactly these files (no directories)
  local p=$1 want got
  shift
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  got=$(files "$p")
  [[ $got == "$want" ]] && pass "$p holds ${#@} files: $got" || fail "$p files: $got (want $want)"
}
expect_files skiff ./usr/bin/skiff ./usr/bin/skiff-pull ./usr/bin/skiff-pod ./usr/bin/skiff-shim \
  ./usr/bin/skiff-pause ./usr/bin/skiff-net ./usr/lib/cni/skiff-bridge ./usr/lib/cni/skiff-ipam
expect_files skiff-kubelet ./usr/bin/skiff-kubelet ./lib/systemd/system/skiff-kubelet.service \
  ./etc/default/skiff-kubelet
expect_files skiff-master ./usr/bin/skiff-master ./lib/systemd/system/skiff-master.service \
  ./etc/default/skiff-master

field() { dpkg-deb -f "$(deb "$1")" "$2"; }
for p in skiff skiff-kubelet skiff-master; do
  [[ "$(field "$p" Package)" == "$p" && "$(field "$p" Version)" == "$version" &&
    "$(field "$p" Architecture)" == "$arch" ]] &&
    pass "$p: Package $p, Version $version, Architecture $arch" ||
    fail "$p: $(dpkg-deb -f "$(deb "$p")" Package Version Architecture | tr '\n' ' ')"
  [[ -n "$(field "$p" Maintainer)" && -n "$(field "$p" Description)" ]] ||
    fail "$p: no Maintainer or Description"
  echo "    $p Depends: $(field "$p" Depends)"
done
has_deps() {  # has_deps PACKAGE DEP...: every DEP is one of the package's Depends entries
  local p=$1 d deps
  shift
  deps=",$(field "$p" Depends | sed 's/, */,/g'),"
  for d in "$@"; do
    [[ $deps == *",$d"[,\ ]* ]] || {
      fail "$p Depends lacks $d"
      return
    }
  done
  pass "$p Depends on $*"
}
# libc6 and libseccomp2/libcap2 from dpkg-shlibdeps; libarchive13, libnftables1 added (dlopen).
has_deps skiff libc6 libseccomp2 libcap2 libarchive13 libnftables1 libssl3
has_deps skiff-kubelet libc6 "skiff (= $version)" "wireguard-go | wireguard-modules"
has_deps skiff-master libc6 libsqlite3-0 libssl3
for p in skiff-kubelet skiff-master; do
  ctl="$work/ctl-$p"
  dpkg-deb -e "$(deb "$p")" "$ctl"
  [[ "$(cat "$ctl/conffiles")" == "/etc/default/$p" ]] && pass "$p: /etc/default/$p is a conffile" ||
    fail "$p conffiles: $(cat "$ctl/conffiles" 2>&1)"
  for s in postinst prerm postrm; do
    [[ -x "$ctl/$s" ]] && sh -n "$ctl/$s" && grep -q "$p.service" "$ctl/$s" ||
      fail "$p $s: missing, not executable, or does not parse"
  done
  grep -q 'if \[ -d /run/systemd/system \]' "$ctl/postinst" ||
    fail "$p postinst reloads systemd even when it is not running"
done

# --- one root with the three packages ---
root="$work/root"
for p in skiff skiff-kubelet skiff-master; do dpkg-deb -x "$(deb "$p")" "$root"; done
stripped=0 bytes=0
for f in "$root"/usr/bin/* "$root"/usr/lib/cni/*; do
  sections=$(readelf -SW "$f" 2>/dev/null)
  [[ -n $sections ]] || {
    fail "$f is no ELF file"
    continue
  }
  if grep -qE '\.debug_|\.symtab' <<<"$sections"; then
    fail "$(basename "$f") is not stripped"
  else
    stripped=$((stripped + 1))
  fi
  bytes=$((bytes + $(stat -c %s "$f")))
  dyn=$(readelf -dW "$f" 2>/dev/null)
  grep -qE '\((RPATH|RUNPATH)\)' <<<"$dyn" && fail "$(basename "$f") has $(grep -E 'R(UN)?PATH' <<<"$dyn")"
  grep -q "$build" <<<"$dyn" && fail "$(basename "$f")'s dynamic section names the build tree"
done
((stripped == 10)) &&
  pass "10 binaries stripped, no RPATH/RUNPATH ($((bytes / 1024)) KiB together; the build's are $(du -ck "$build"/runtime/skiff "$build"/kubelet/skiff-kubelet "$build"/master/skiff-master | tail -1 | cut -f1) KiB for three of them)" ||
  fail "$stripped of 10 binaries stripped"
for p in skiff-kubelet skiff-master; do
  grep -q "^ExecStart=/usr/bin/$p " "$root/lib/systemd/system/$p.service" &&
    grep -q "^EnvironmentFile=-/etc/default/$p$" "$root/lib/systemd/system/$p.service" ||
    fail "$p.service: ExecStart/EnvironmentFile not rendered for /usr"
done
grep -q '^ConditionPathExists=/var/lib/skiff-kubelet/credentials/kubeconfig$' \
  "$root/lib/systemd/system/skiff-kubelet.service" && grep -q '^KillMode=process$' \
  "$root/lib/systemd/system/skiff-kubelet.service" &&
  pass "skiff-kubelet.service starts after join and leaves the shims running" ||
  fail "skiff-kubelet.service condition/KillMode"

if command -v systemd-analyze >/dev/null; then
  # Copies whose ExecStart points into the tree (the host has no /usr/bin/skiff-*), verified
  # against the host's units; verify exits 0 on warnings, so any output is a failure.
  mkdir -p "$work/verify"
  for p in skiff-master skiff-kubelet; do
    sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$root/lib/systemd/system/$p.service" \
      >"$work/verify/$p.service"
  done
  if out=$(systemd-analyze verify "$work"/verify/skiff-{master,kubelet}.service 2>&1) && [[ -z $out ]]; then
    pass "systemd-analyze verify: both units clean"
  else
    fail "systemd-analyze verify: $out"
  fi
else
  echo "skipped: systemd-analyze verify (systemd-analyze not installed)"
fi

# --- the cluster, from the tree only ---
ip netns add "$netns" && ip -n "$netns" link set lo up || {
  fail "netns $netns"
  exit 1
}
t0=$SECONDS
unshare --mount --propagation private bash "${BASH_SOURCE[0]}" --smoke "$work" "$build" "$netns" \
  "$kubectl"
rc=$?
((rc == 0)) && pass "one-master one-worker cluster from the extracted packages ($((SECONDS - t0)) s)" ||
  fail "the cluster from the extracted packages (exit $rc)"

((failures == 0)) || {
  echo "$failures failure(s)"
  exit 1
}
echo "PASS"
