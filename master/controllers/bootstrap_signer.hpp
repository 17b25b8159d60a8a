#pragma once
// kubeadm's bootstrap signer: publishes kube-public/cluster-info (a kubeconfig with the CA and
// the server URL, readable anonymously) and signs it for every bootstrap token that allows
// signing (data key `jws-kubeconfig-<token id>`: an HS256 JWS with a detached payload, keyed by
// the token secret). A joining node trusts cluster-info only when that signature verifies with
// its token, and the CA only when its public key matches the pin in the join command.

#include <atomic>
#include <string>
#include <thread>

#include "master/registry/registry.hpp"

namespace skiff::master {

// The compact JWS of `payload` with the payload left out ("HEADER..SIGNATURE"), header
// {"alg":"HS256","kid":token_id}: what kubeadm's bootstrap signer writes and its join verifies.
std::string detached_jws(std::string_view payload, const std::string& token_id,
                         const std::string& token_secret);

// cluster-info's kubeconfig: one cluster (CA data and server), no users.
std::string cluster_info_kubeconfig(const std::string& ca_pem, const std::string& server_url);

class BootstrapSigner {
 public:
  BootstrapSigner(Registry& registry, std::string ca_pem, std::string server_url)
      : registry_(registry), ca_pem_(std::move(ca_pem)), server_url_(std::move(server_url)) {}
  ~BootstrapSigner() { stop(); }
  // Publishes cluster-info now, then follows the bootstrap-token Secrets (and expiry).
  Result<void> start();
  void stop();
  // Makes cluster-info current: the kubeconfig and one signature per valid signing token.
  void sync();

 private:
  Registry& registry_;
  std::string ca_pem_, server_url_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
};

}  // namespace skiff::master
