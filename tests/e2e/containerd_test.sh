#!/usr/bin/env bash
# containerd drives skiff on this host as it is (hybrid v1 here): tests/vm/containerd_test.sh
# --here (the VM lane runs the same checks on pure cgroup v2).
# Exit 0 pass, 77 skip (reason printed), else fail. By hand: bash tests/e2e/containerd_test.sh
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/vm/containerd_test.sh" --here
