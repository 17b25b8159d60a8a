#!/usr/bin/env bash
# The whole kubectl suite of master_kubectl_test.sh, on a real etcd the suite starts.
SKIFF_MASTER_STORE=etcd exec bash "$(dirname "$0")/master_kubectl_test.sh" "$@"
