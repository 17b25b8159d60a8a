#include "kubelet/node/cert_rotation.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/node/join.hpp"

namespace skiff::kubelet::node {

int64_t rotation_deadline(int64_t not_before, int64_t not_after, double jitter) {
  jitter = std::clamp(jitter, 0.0, 1.0);
  double life = double(std::max<int64_t>(0, not_after - not_before));
  return not_before + std::llround(life * (0.7 + 0.2 * jitter));
}

Result<Kubeconfig> renew_client_certificate(ApiClient& api, const std::string& node,
                                            const std::string& kubeconfig_path,
                                            const Kubeconfig& current,
                                            std::chrono::milliseconds timeout) {
  auto kr = TRY(make_node_key_and_csr(node));
  Json csr = {{"apiVersion", "certificates.k8s.io/v1"},
              {"kind", "CertificateSigningRequest"},
              {"metadata", {{"generateName", "csr-"}}},
              {"spec",
               {{"request", api::base64_encode(kr.csr_pem)},
                {"signerName", "kubernetes.io/kube-apiserver-client-kubelet"},
                {"usages", {"digital signature", "key encipherment", "client auth"}}}}};
  auto created = TRY_CTX(
      api.request("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr.dump()),
      "send the renewal's certificate request");
  if (created.status != 201)
    return error("create the renewal's certificate request: HTTP ", created.status, ": ",
                 created.message());
  auto created_json = TRY(parse_json(created.body, "the created CSR"));
  std::string name = api::str_at(created_json, {"metadata", "name"});
  std::string cert = TRY(wait_for_certificate(api, name, timeout));
  auto not_after = TRY_CTX(certificate_not_after(cert), "the renewed certificate");

  // The files join wrote, each replaced by a rename: a reader sees the old or the new one.
  std::string dir = kubeconfig_path.substr(0, kubeconfig_path.rfind('/'));
  Kubeconfig next = current;
  next.cert_pem = cert;
  next.key_pem = kr.key_pem;
  TRY(write_file_atomic(dir + "/kubelet-client.key", kr.key_pem, 0600));
  TRY(write_file_atomic(dir + "/kubelet-client.crt", cert, 0600));
  TRY(write_file_atomic(kubeconfig_path, render_kubeconfig(next, "system:node:" + node), 0600));
  log::info("client certificate renewed (CSR ", name, "), valid until ",
            api::rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(not_after))));
  return next;
}

void run_certificate_rotation(ApiClient& api, const RotationOptions& o, Kubeconfig current,
                              const std::function<void(const Kubeconfig&)>& renewed,
                              const std::function<bool(std::chrono::milliseconds)>& sleep) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  auto backoff = std::chrono::milliseconds(std::chrono::seconds(5));
  while (true) {
    auto nb = certificate_not_before(current.cert_pem);
    auto na = certificate_not_after(current.cert_pem);
    if (!nb || !na) {
      log::warn("certificate rotation: cannot read the client certificate: ",
                (!nb ? nb.error() : na.error()).what());
      return;
    }
    int64_t deadline = rotation_deadline(*nb, *na, jitter(rng));
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    auto wait = std::chrono::milliseconds(deadline * 1000) - now;
    log::info("client certificate valid until ",
              api::rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(*na))),
              "; renewal in ", std::max<int64_t>(0, wait.count() / 1000), " s");
    if (wait.count() > 0 && !sleep(wait)) return;
    while (true) {
      auto next = renew_client_certificate(api, o.node_name, o.kubeconfig_path, current, o.timeout);
      if (next) {
        current = std::move(*next);
        if (auto r = api.set_client_certificate(current.cert_pem, current.key_pem); !r)
          log::warn("certificate rotation: ", r.error().what());
        renewed(current);
        backoff = std::chrono::seconds(5);
        break;
      }
      log::warn("certificate rotation: ", next.error().what(), " (again in ",
                backoff.count() / 1000, " s)");
      if (!sleep(backoff)) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::minutes(5));
    }
  }
}

}  // namespace skiff::kubelet::node
