#pragma once
// The node's client certificate, renewed before it expires, as the kubelet's certificate manager
// does: at a random point between 70 % and 90 % of its life (so a fleet joined together does not
// renew together), a new key and a CSR for system:node:NAME sent with the current certificate
// (the master approves a node's request for itself), the signed certificate awaited, and the
// credentials (kubeconfig, kubelet-client.crt, kubelet-client.key) replaced atomically, 0600.
// The kubelet's API clients then present the new certificate on new connections.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "kubelet/node/api_client.hpp"
#include "kubelet/node/credentials.hpp"

namespace skiff::kubelet::node {

// When to renew a certificate valid from `not_before` to `not_after` (seconds since the epoch):
// at (70 + 20 * jitter) % of its life, jitter in [0, 1).
int64_t rotation_deadline(int64_t not_before, int64_t not_after, double jitter);

// One renewal through `api` (authenticated with the current certificate); writes the new
// credentials next to `kubeconfig_path` and returns them.
Result<Kubeconfig> renew_client_certificate(ApiClient& api, const std::string& node,
                                            const std::string& kubeconfig_path,
                                            const Kubeconfig& current,
                                            std::chrono::milliseconds timeout);

struct RotationOptions {
  std::string node_name;
  std::string kubeconfig_path;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // for the signature
};

// Renews at every deadline until `sleep` returns false (stopping); a failed renewal is tried
// again after 5 s, then 10, 20 … up to 5 minutes. `renewed` gets each new kubeconfig.
void run_certificate_rotation(ApiClient& api, const RotationOptions& o, Kubeconfig current,
                              const std::function<void(const Kubeconfig&)>& renewed,
                              const std::function<bool(std::chrono::milliseconds)>& sleep);

}  // namespace skiff::kubelet::node
