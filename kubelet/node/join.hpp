#pragma once
// `skiff-kubelet join`: kubeadm's discovery and TLS bootstrap. Reads kube-public/cluster-info
// anonymously (TLS not yet verified), trusts it only when its JWS signature verifies with the
// bootstrap token and its CA's public key matches the pin, then makes the node's key, sends a
// CSR (kube-apiserver-client-kubelet, CN=system:node:NAME, O=system:nodes) with the token, waits
// for the signed certificate and writes <data dir>/credentials/ (kubeconfig, ca.crt, client
// certificate and key, all 0600) in one rename: a failed join writes nothing.

#include <chrono>
#include <string>

#include "common/error.hpp"

namespace skiff::kubelet::node {

struct JoinOptions {
  std::string server;        // https://HOST:PORT
  std::string token;         // ID.SECRET
  std::string ca_cert_hash;  // sha256:HEX
  std::string node_name;     // default: the host name
  std::string data_dir = "/var/lib/skiff-kubelet";
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // for the signed certificate
  // How long discovery keeps trying a master it cannot connect to (kubeadm's discovery timeout):
  // a node set up beside a master still starting joins once it answers.
  std::chrono::milliseconds discovery_timeout{std::chrono::seconds(60)};
};

// The directory join writes and run reads.
std::string credentials_dir(const std::string& data_dir);
std::string kubeconfig_path(const std::string& data_dir);

// The host name as a node name (lower case); "" when it is not a DNS subdomain.
std::string default_node_name();

class ApiClient;
// Waits until the CSR named `name` is signed and returns the certificate (PEM); Denied or Failed
// ends the wait with the reason (join, and the certificate's rotation).
Result<std::string> wait_for_certificate(ApiClient& client, const std::string& name,
                                         std::chrono::milliseconds timeout);

// Joins; returns the node name the certificate was issued for.
Result<std::string> join(const JoinOptions& o);

}  // namespace skiff::kubelet::node
