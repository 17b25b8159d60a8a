#!/usr/bin/env bash
# launch.sh CGROUP LOG PIDFILE [--net NETNS_FILE] [--mount MNTNS_FILE] -- CMD...
# Starts CMD in the background, in its own session, in v2 cgroup CGROUP (a path under the
# unified hierarchy), in the given namespaces (nsenter execs: PIDFILE gets CMD's pid), stdio to LOG.
set -uo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# >= 3)) || die "usage: launch.sh CGROUP LOG PIDFILE [--net F] [--mount F] -- CMD..."
cgroup=$1 log=$2 pidfile=$3
shift 3
ns=()
while (($#)); do
  case "$1" in
    --net) ns+=("--net=$2"); shift 2 ;;
    --mount) ns+=("--mount=$2"); shift 2 ;;
    --) shift; break ;;
    *) die "unknown option \`$1'" ;;
  esac
done
(($#)) || die "no command"
rm -f "$pidfile"
((${#ns[@]})) && ns=(nsenter "${ns[@]}")
mkdir -p "$cgv2/$cgroup" || die "cgroup \`$cgv2/$cgroup'"
(
  echo "$BASHPID" >"$cgv2/$cgroup/cgroup.procs" || exit 1
  echo "$BASHPID" >"$pidfile" || exit 1
  # Nothing but stdio: an inherited lock (flock(1)'s) or pipe must not live on in the daemon.
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  exec setsid "${ns[@]}" "$@"
) </dev/null >>"$log" 2>&1 &
# The child is in its cgroup and wrote its pid before it execs: wait for the pid file.
for _ in $(seq 50); do
  [[ -s "$pidfile" ]] && exit 0
  cl_alive $! || die "\`$1' did not start (see $log)"
  sleep 0.02
done
die "\`$1' did not start (see $log)"
