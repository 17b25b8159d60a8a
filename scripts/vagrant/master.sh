#!/usr/bin/env bash
# Guest side, as root: the master. skiff-master as a systemd service on SKIFF_MASTER_IP:6443 with
# the cluster CA the Vagrantfile made (uploaded to /tmp/skiff-ca.{crt,key}), an admin kubeconfig
# for root and the vagrant user (~/.kube/config), and the bootstrap token SKIFF_TOKEN (ID.SECRET)
# stored as kube-system/bootstrap-token-ID, the Secret `skiff-master token create` makes.
set -euo pipefail
: "${SKIFF_MASTER_IP:?}" "${SKIFF_TOKEN:?}" "${SKIFF_CLUSTER_CIDR:=10.244.0.0/16}"
[[ $SKIFF_TOKEN =~ ^([a-z0-9]{6})\.([a-z0-9]{16})$ ]] ||
  { echo "master.sh: SKIFF_TOKEN must be ID.SECRET ([a-z0-9]{6}.[a-z0-9]{16})" >&2; exit 1; }
id=${BASH_REMATCH[1]} secret=${BASH_REMATCH[2]}
data=/var/lib/skiff-master

install -d -m 0700 "$data" "$data/pki"
if [[ -f /tmp/skiff-ca.crt && -f /tmp/skiff-ca.key ]]; then
  install -m 0644 /tmp/skiff-ca.crt "$data/pki/ca.crt"
  install -m 0600 /tmp/skiff-ca.key "$data/pki/ca.key"
  rm -f /tmp/skiff-ca.crt /tmp/skiff-ca.key
fi
cat >/etc/systemd/system/skiff-master.service <<UNIT
[Unit]
Description=skiff-master (Kubernetes API, scheduler, controllers)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/skiff-master --data-dir $data --listen $SKIFF_MASTER_IP:6443 --cluster-cidr $SKIFF_CLUSTER_CIDR
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable skiff-master.service >/dev/null 2>&1
systemctl restart skiff-master.service
for _ in $(seq 1 300); do
  [[ -s $data/server-url ]] && break
  sleep 0.2
done
[[ -s $data/server-url ]] || { journalctl -u skiff-master --no-pager | tail -n 30; echo "master.sh: skiff-master did not come up" >&2; exit 1; }

install -d -m 0755 /etc/skiff
skiff-master kubeconfig --data-dir "$data" >/etc/skiff/admin.kubeconfig
chmod 0600 /etc/skiff/admin.kubeconfig
for home in /root /home/vagrant; do
  [[ -d $home ]] || continue
  install -d -m 0700 "$home/.kube"
  install -m 0600 /etc/skiff/admin.kubeconfig "$home/.kube/config"
  chown -R "$(stat -c %U:%G "$home")" "$home/.kube"
done

b64() { printf %s "$1" | base64 -w0; }
cat <<JSON | kubectl --kubeconfig /etc/skiff/admin.kubeconfig apply -f - >/dev/null
{"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
 "metadata": {"name": "bootstrap-token-$id", "namespace": "kube-system"},
 "data": {"token-id": "$(b64 "$id")", "token-secret": "$(b64 "$secret")",
          "usage-bootstrap-authentication": "$(b64 true)", "usage-bootstrap-signing": "$(b64 true)",
          "auth-extra-groups": "$(b64 system:bootstrappers:kubeadm:default-node-token)"}}
JSON
echo "master.sh: skiff-master on https://$SKIFF_MASTER_IP:6443, bootstrap token $id stored"
