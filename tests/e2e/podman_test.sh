#!/usr/bin/env bash
# E2E: podman drives $SKIFF_BIN as its OCI runtime (runc's CLI contract, through conmon).
# Offline: the image is the busybox fixture imported from an OCI layout (scripts/fixtures).
#
#   SKIFF_BIN=/path/to/skiff tests/e2e/podman_test.sh
#
# Exit 0 pass, 77 skip (reason printed as "SKIP: ..."), 1 fail. Needs root, podman, conmon,
# skopeo, jq, busybox-static. Everything it creates (containers, storage, mounts, empty
# /libpod_parent cgroups) lives in a temp podman environment that is removed on exit.
# PODMAN_TEST_KEEP=1 keeps that environment for a post-mortem (its path is printed).
#
# Checked against peers on the Debian 12 hybrid-cgroup host: SKIFF_BIN=/usr/sbin/runc passes as
# is; crun 1.8 refuses hybrid cgroups, and passes through the wrapper from
# podman_env_crun_wrapper (scripts/fixtures/podman-env.sh).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fixtures="$repo/scripts/fixtures"

skip() {
  echo "SKIP: $*"
  exit 77
}

[[ -n "${SKIFF_BIN:-}" ]] || skip "SKIFF_BIN is not set (the skiff runtime binary to test)"
[[ -x "$SKIFF_BIN" ]] || skip "SKIFF_BIN \`$SKIFF_BIN' does not exist or is not executable (build skiff first)"
[[ "$(id -u)" -eq 0 ]] || skip "needs root (rootful podman)"
for tool in podman conmon skopeo jq timeout; do
  command -v "$tool" >/dev/null || skip "\`$tool' not installed (scripts/install-deps.sh)"
done
[[ -x /bin/busybox ]] || skip "/bin/busybox not installed (busybox-static)"

SKIFF_BIN="$(realpath "$SKIFF_BIN")"
export SKIFF_BIN
export PODMAN_SKIFF_TIMEOUT="${PODMAN_SKIFF_TIMEOUT:-60}"

# shellcheck source=scripts/fixtures/podman-env.sh
source "$fixtures/podman-env.sh" "$(mktemp -d /tmp/skiff-e2e-podman.XXXXXX)" ||
  { echo "FAIL: podman-env setup"; exit 1; }

cleanup() {
  if [[ "${PODMAN_TEST_KEEP:-0}" == 1 ]]; then
    echo "kept podman environment: $PODMAN_ENV_DIR (CONTAINERS_CONF=$CONTAINERS_CONF)"
    return
  fi
  podman_env_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

name="skiff-e2e-$$"
image="localhost/busybox:latest"
checks=0
failures=0
out=""
rc=0

# run CMD...: runs it, keeps stdout+stderr in $out and the exit code in $rc.
run() {
  out="$("$@" 2>&1)"
  rc=$?
}

step() {
  checks=$((checks + 1))
  echo "== $*"
}

ok() {
  echo "   ok${1:+: $1}"
}

# fail WHAT: reports the failed check with the last command's output.
fail() {
  failures=$((failures + 1))
  echo "   FAIL: $1"
  echo "   exit code: $rc"
  if [[ -n "$out" ]]; then
    echo "   output:"
    local line
    while IFS= read -r line; do echo "     | $line"; done <<<"$out"
  fi
}

# expect_eq WHAT WANT: compares $out (trailing blank lines ignored) with WANT, and $rc with 0.
expect_eq() {
  if ((rc == 0)) && [[ "$out" == "$2" ]]; then
    ok "$1 = \"$2\""
  else
    fail "$1: want \"$2\" and exit 0"
  fi
}

cgroup_fs="$(stat -fc %T /sys/fs/cgroup)"
echo "runtime: $SKIFF_BIN"
echo "podman:  $(podman --version), storage driver $PODMAN_ENV_DRIVER, /sys/fs/cgroup is $cgroup_fs"
echo "env:     $PODMAN_ENV_DIR"

# --- image ------------------------------------------------------------------------------------
step "import the busybox fixture (OCI layout -> containers-storage) as $image"
run podman_env_import_busybox latest
if ((rc == 0)); then
  run podman_skiff image exists "$image"
fi
if ((rc != 0)); then
  fail "import $image"
  echo "FAIL: cannot continue without the image"
  exit 1
fi
ok

# --- run --rm ---------------------------------------------------------------------------------
step "podman run --rm $image echo hi: prints \"hi\""
run podman_skiff run --rm "$image" echo hi
expect_eq "output" "hi"

step "podman run --rm: the container's exit code (3) comes back"
run podman_skiff run --rm "$image" sh -c 'exit 3'
if ((rc == 3)); then ok "exit code 3"; else fail "want exit code 3"; fi

step "podman run --rm: args, env, cwd, hostname and user reach the process"
# shellcheck disable=SC2016  # expanded by the container's shell
run podman_skiff run --rm -e SKIFF_E2E=yes -w /tmp --hostname skiffhost --user 1000:1000 "$image" \
  sh -c 'echo "$1|$SKIFF_E2E|$(pwd)|$(hostname)|$(id -u):$(id -g)"' sh 'a b'
expect_eq "output" "a b|yes|/tmp|skiffhost|1000:1000"

# --- run -d, exec, logs, stop, rm --------------------------------------------------------------
# The trap makes SIGTERM a clean exit 0, so `stop` also checks that the runtime's kill delivers it.
step "podman run -d --name $name: container is running"
run podman_skiff run -d --name "$name" "$image" \
  sh -c 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done'
detached=0
if ((rc == 0)); then
  run podman_skiff inspect -f '{{.State.Status}} {{.State.Pid}}' "$name"
  if ((rc == 0)) && [[ "$out" == "running "[1-9]* ]]; then
    detached=1
    ok "status: $out"
  else
    fail "inspect: want \"running <pid>\""
  fi
else
  fail "podman run -d"
fi

if ((detached)); then
  step "podman exec $name echo from-exec: prints \"from-exec\""
  run podman_skiff exec "$name" echo from-exec
  expect_eq "output" "from-exec"

  step "podman exec: joins the container's pid namespace (its pid 1 is the sh loop)"
  run podman_skiff exec "$name" sh -c 'tr "\0" " " </proc/1/cmdline'
  if ((rc == 0)) && [[ "$out" == "sh -c trap "* ]]; then ok "pid 1: $out"; else fail "pid 1 cmdline"; fi

  step "podman exec: the exec'd process's exit code (5) comes back"
  run podman_skiff exec "$name" sh -c 'exit 5'
  if ((rc == 5)); then ok "exit code 5"; else fail "want exit code 5"; fi

  step "podman logs $name: contains \"started\""
  run podman_skiff logs "$name"
  if ((rc == 0)) && grep -qx started <<<"$out"; then ok; else fail "logs lack \"started\""; fi

  step "podman stop -t 10 $name: SIGTERM ends it cleanly (exited, exit code 0)"
  run podman_skiff stop -t 10 "$name"
  if ((rc == 0)); then
    run podman_skiff inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$name"
    if ((rc == 0)) && [[ "$out" == "exited 0" ]]; then
      ok "$out"
    else
      fail "want \"exited 0\" (137 means SIGTERM was not delivered and podman used SIGKILL)"
    fi
  else
    fail "podman stop"
  fi

  step "podman logs $name after stop: the trap ran (\"got-term\")"
  run podman_skiff logs "$name"
  if ((rc == 0)) && grep -qx got-term <<<"$out"; then ok; else fail "logs lack \"got-term\""; fi

  step "podman rm $name: the container is gone"
  run podman_skiff rm "$name"
  if ((rc == 0)); then
    run podman_skiff container exists "$name"
    if ((rc == 1)); then ok; else fail "container still exists after rm"; fi
  else
    fail "podman rm"
  fi
fi

# --- memory limit -----------------------------------------------------------------------------
want=67108864
if [[ "$cgroup_fs" == cgroup2fs ]]; then
  memory_ok=0
  grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null && memory_ok=1
  inside_file=/sys/fs/cgroup/memory.max
else
  memory_ok=0
  [[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]] && memory_ok=1
  inside_file=/sys/fs/cgroup/memory/memory.limit_in_bytes
fi

if ((memory_ok)); then
  step "podman run --rm --memory 64m: $inside_file inside the container is $want"
  run podman_skiff run --rm --memory 64m "$image" cat "$inside_file"
  expect_eq "$inside_file" "$want"

  step "podman run -d --memory 64m: the host's view of the container's cgroup says $want too"
  run podman_skiff run -d --name "$name-mem" --memory 64m "$image" sleep 600
  if ((rc == 0)); then
    run podman_skiff inspect -f '{{.State.Pid}}' "$name-mem"
    pid="$out"
    if [[ "$cgroup_fs" == cgroup2fs ]]; then
      cg="$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)"
      host_file="/sys/fs/cgroup$cg/memory.max"
    else
      cg="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)"
      host_file="/sys/fs/cgroup/memory$cg/memory.limit_in_bytes"
    fi
    out="$(cat "$host_file" 2>&1)"
    rc=$?
    expect_eq "$host_file" "$want"
    run podman_skiff rm -f -t 0 "$name-mem"
    ((rc == 0)) || fail "podman rm -f $name-mem"
  else
    fail "podman run -d --memory 64m"
  fi
else
  echo "== SKIP memory limit: no memory controller on this host ($cgroup_fs)"
fi

# --- nothing left behind ----------------------------------------------------------------------
step "podman ps -a: no containers left"
run podman_skiff ps -aq
if ((rc == 0)) && [[ -z "$out" ]]; then ok; else fail "containers left behind"; fi

echo
if ((failures)); then
  echo "FAIL: $failures of $checks checks failed (runtime $SKIFF_BIN)"
  exit 1
fi
echo "PASS: $checks checks (runtime $SKIFF_BIN)"
