#pragma once
// The node's credentials: its own key (made here, never sent anywhere), the certificate request
// the master signs, kubeadm's CA pin and cluster-info signature checks, and the kubeconfig the
// kubelet runs with.

#include <string>

#include "common/error.hpp"

namespace skiff::kubelet::node {

struct KeyAndRequest {
  std::string key_pem;  // PKCS#8 EC P-256 private key
  std::string csr_pem;  // CN=system:node:NAME, O=system:nodes
};
// A new key and a certificate request for the node `node_name`.
Result<KeyAndRequest> make_node_key_and_csr(const std::string& node_name);

// kubeadm's pin: "sha256:" + hex sha256 of the certificate's DER SubjectPublicKeyInfo.
Result<std::string> public_key_hash(const std::string& cert_pem);

// True when `jws` ("HEADER..SIGNATURE", HS256, kid = token id) signs `payload` with the secret.
bool verify_detached_jws(const std::string& jws, const std::string& payload,
                         const std::string& token_id, const std::string& token_secret);

// A self-signed serving certificate for the kubelet API (CN and SANs: the node name and IP),
// valid a year: {cert_pem, key_pem}.
Result<std::pair<std::string, std::string>> self_signed_serving_cert(const std::string& node_name,
                                                                     const std::string& node_ip);

// NotAfter of a PEM certificate, seconds since the epoch.
Result<int64_t> certificate_not_after(const std::string& cert_pem);
// NotBefore of a PEM certificate, seconds since the epoch.
Result<int64_t> certificate_not_before(const std::string& cert_pem);

struct Kubeconfig {
  std::string server;
  std::string ca_pem;
  std::string cert_pem, key_pem;  // empty for cluster-info
};
// Parses a kubeconfig (YAML or JSON): the current context's cluster and user, with data fields
// or file paths (relative ones against the kubeconfig's directory).
Result<Kubeconfig> parse_kubeconfig(const std::string& text, const std::string& path = "");
Result<Kubeconfig> load_kubeconfig(const std::string& path);
// A kubeconfig with everything embedded.
std::string render_kubeconfig(const Kubeconfig& k, const std::string& user);

}  // namespace skiff::kubelet::node
