#!/usr/bin/env bash
# Guest side, as root: a worker. Joins the master with the bootstrap token and the CA pin
# (`skiff-kubelet join`, retried while the master is still coming up — the VMs boot in parallel),
# then runs the kubelet as a systemd service with the overlay (kernel WireGuard) on its private
# address. Stopping the service stops the kubelet, not the pods (KillMode=process).
set -euo pipefail
: "${SKIFF_MASTER_IP:?}" "${SKIFF_TOKEN:?}" "${SKIFF_CA_HASH:?}" "${SKIFF_NODE_NAME:?}" "${SKIFF_NODE_IP:?}"
: "${SKIFF_CLUSTER_CIDR:=10.244.0.0/16}" "${SKIFF_JOIN_TIMEOUT:=900}"
data=/var/lib/skiff-kubelet

if [[ ! -s $data/credentials/kubeconfig ]]; then
  end=$((SECONDS + SKIFF_JOIN_TIMEOUT))
  until out=$(skiff-kubelet join "https://$SKIFF_MASTER_IP:6443" --token "$SKIFF_TOKEN" \
    --ca-cert-hash "$SKIFF_CA_HASH" --node-name "$SKIFF_NODE_NAME" --node-ip "$SKIFF_NODE_IP" \
    --data-dir "$data" 2>&1); do
    if ((SECONDS >= end)); then
      echo "$out" >&2
      echo "worker.sh: could not join https://$SKIFF_MASTER_IP:6443 in ${SKIFF_JOIN_TIMEOUT}s" >&2
      exit 1
    fi
    sleep 3
  done
fi
cat >/etc/systemd/system/skiff-kubelet.service <<UNIT
[Unit]
Description=skiff-kubelet (node $SKIFF_NODE_NAME)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/skiff-kubelet run --data-dir $data --node-ip $SKIFF_NODE_IP --overlay --cluster-cidr $SKIFF_CLUSTER_CIDR
Restart=on-failure
RestartSec=2
KillMode=process
Delegate=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable skiff-kubelet.service >/dev/null 2>&1
systemctl restart skiff-kubelet.service
echo "worker.sh: $SKIFF_NODE_NAME joined https://$SKIFF_MASTER_IP:6443, skiff-kubelet running"
