#pragma once
// Join tokens, kubeadm's scheme: `skiff-master token create` stores a bootstrap token
// (kube-system/bootstrap-token-ID) through the running master's API and prints the command a
// node runs; the CA hash in it pins the master's CA public key.

#include <chrono>
#include <string>

#include "common/error.hpp"

namespace skiff::master {

struct AdminResponse {
  int status = 0;
  std::string body;
};
// One HTTPS request to the master whose data dir is `data_dir`, as admin (its client
// certificate), at the URL the master recorded when it started.
Result<AdminResponse> admin_request(const std::string& data_dir, const std::string& method,
                                    const std::string& path, const std::string& body = "");

// Creates a token valid for `ttl` (0: never expires); returns the join command line.
Result<std::string> token_create(const std::string& data_dir, std::chrono::seconds ttl);
// "TOKEN  TTL  EXPIRES" lines.
Result<std::string> token_list(const std::string& data_dir);
Result<void> token_delete(const std::string& data_dir, const std::string& id_or_token);

}  // namespace skiff::master
