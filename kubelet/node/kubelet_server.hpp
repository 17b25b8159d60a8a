#pragma once
// The kubelet API (HTTPS, default :10250): a self-signed serving certificate made at start (the
// kubelet's default without serverTLSBootstrap); clients must present a certificate from the
// cluster CA. GET /healthz, /pods (the pods bound to this node, a PodList) and
// /containerLogs/NS/POD/CONTAINER (the CRI lines from `skiff-pod logs --raw`, the kubelet's
// options applied here: kubelet/logs/log_filter.hpp), /stats/summary, /metrics and
// /metrics/resource. follow=true on /containerLogs streams new lines until the container ends.
// Streaming (kubectl exec, attach, port-forward through the master): /exec/NS/POD/CONTAINER,
// /attach/NS/POD/CONTAINER and /portForward/NS/POD upgrade to SPDY/3.1 (spdy.hpp) and negotiate
// X-Stream-Protocol-Version; exec runs `skiff-pod exec` on the node's roots (pipes, or a pty for
// tty), attach takes a session from the pod's shim (its output from now on, its stdin or pty
// master: shim.hpp), resize messages set a pty's size (TIOCSWINSZ), port-forward connects to
// 127.0.0.1:PORT inside the pod's network namespace.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "kubelet/engine/config.hpp"

namespace skiff::kubelet::node {

struct KubeletServerOptions {
  std::string address = "0.0.0.0";
  int port = 10250;
  std::string ca_pem;          // client certificates must chain to it
  std::string node_name;       // the serving certificate's CN
  std::string node_ip;         // and its IP SAN
  std::function<Json()> pods;  // the PodList
  // Logs of one container (`previous`: its last terminated run): the text, or an error (404).
  // Only without skiff_pod (which serves /containerLogs with all its options).
  std::function<Result<std::string>(const std::string& ns, const std::string& pod,
                                    const std::string& container, bool previous)>
      logs;
  // /stats/* and /metrics* (stats.hpp): {content type, body}, or nullopt for a 404.
  std::function<std::optional<std::pair<std::string, std::string>>(const std::string& path)>
      node_stats;
  NodeConfig node;        // the node's roots: exec, attach and logs -f run skiff-pod on them
  std::string skiff_pod;  // the skiff-pod binary ("": no exec, attach, follow)
};

// A query string's pairs in order, repeated keys kept (exec's command=…&command=…),
// percent- and '+'-decoded.
std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view query);

// X-Stream-Protocol-Version negotiation: the first protocol of `supported` the client offers
// (`offered` as sent: values may be comma-separated); "" when the client offered none; nullopt
// when it offered some but none is supported.
std::optional<std::string> negotiate_protocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string>& supported);

// What the v4.channel.k8s.io error stream carries when the command ended: a metav1.Status,
// Success, or Failure with reason NonZeroExitCode and an ExitCode cause (kubectl exits with it).
std::string exec_status_v4(int exit_code);

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
