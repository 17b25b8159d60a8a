#pragma once
// The kubelet API (HTTPS, default :10250): a self-signed serving certificate made at start (the
// kubelet's default without serverTLSBootstrap); clients must present a certificate from the
// cluster CA. GET /healthz, /pods (the pods bound to this node, a PodList) and
// /containerLogs/NS/POD/CONTAINER (through `skiff-pod logs`), /stats/summary, /metrics and
// /metrics/resource.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet::node {

struct KubeletServerOptions {
  std::string address = "0.0.0.0";
  int port = 10250;
  std::string ca_pem;          // client certificates must chain to it
  std::string node_name;       // the serving certificate's CN
  std::string node_ip;         // and its IP SAN
  std::function<Json()> pods;  // the PodList
  // Logs of one container (`previous`: its last terminated run): the text, or an error (404).
  std::function<Result<std::string>(const std::string& ns, const std::string& pod,
                                    const std::string& container, bool previous)>
      logs;
  // /stats/* and /metrics* (stats.hpp): {content type, body}, or nullopt for a 404.
  std::function<std::optional<std::pair<std::string, std::string>>(const std::string& path)>
      node_stats;
};

// The last `n` lines of `text` (kubectl logs --tail=N).
std::string tail_lines(const std::string& text, int64_t n);

class KubeletServer {
 public:
  static Result<std::unique_ptr<KubeletServer>> start(KubeletServerOptions o);
  ~KubeletServer();
  int port() const { return port_; }
  void stop();
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace skiff::kubelet::node
