#include "master/controllers/csr_signer.hpp"

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/log.hpp"

#include <cstring>

namespace skiff::master {

Result<void> CsrSigner::start() {
  watcher_ = TRY(registry_.store().watch("/certificatesigningrequests.certificates.k8s.io/", 0));
  running_ = true;
  thread_ = std::thread([this] {
    std::vector<WatchEvent> events;
    while (running_) {
      events.clear();
      if (!watcher_->next(events, std::chrono::milliseconds(500))) {
        if (!running_) return;
        auto w = registry_.store().watch("/certificatesigningrequests.certificates.k8s.io/", 0);
        if (!w.ok()) return;
        watcher_ = *w;
        continue;
      }
      for (const auto& e : events)
        if (e.type != EventType::kDeleted) maybe_sign(*e.object.json);
    }
  });
  return ok();
}

void CsrSigner::stop() {
  if (!running_.exchange(false)) return;
  if (watcher_) watcher_->close();
  if (thread_.joinable()) thread_.join();
}

void CsrSigner::maybe_sign(const Json& csr) {
  std::string signer = api::str_at(csr, {"spec", "signerName"});
  if (signer != "kubernetes.io/kube-apiserver-client" &&
      signer != "kubernetes.io/kube-apiserver-client-kubelet")
    return;
  if (!api::str_at(csr, {"status", "certificate"}).empty()) return;
  bool approved = false, denied = false;
  if (const Json* cs = api::at_path(csr, {"status", "conditions"}); cs && cs->is_array())
    for (const auto& c : *cs) {
      if (c.value("status", "True") != "True") continue;
      if (c.value("type", "") == "Approved") approved = true;
      if (c.value("type", "") == "Denied") denied = true;
    }
  std::string name = api::str_at(csr, {"metadata", "name"});
  const api::KindInfo& kind =
      *api::find_resource("certificates.k8s.io", "certificatesigningrequests");
  std::string username = api::str_at(csr, {"spec", "username"});
  bool bootstrap = username.rfind("system:bootstrap:", 0) == 0;
  bool node_user = username.rfind("system:node:", 0) == 0;
  if (!approved && !denied && signer == "kubernetes.io/kube-apiserver-client-kubelet" &&
      (bootstrap || node_user)) {
    // A node joining with a valid bootstrap token asks for CN=system:node:NAME, O=system:nodes:
    // approve it (kube's csrapproving controller for nodeclient requests); a node renewing its
    // own certificate asks with that certificate for the same name (selfnodeclient).
    auto pem = api::base64_decode(api::str_at(csr, {"spec", "request"}));
    if (!pem) return;
    auto subject = csr_subject(*pem);
    const std::string prefix = "system:node:";
    if (subject.ok() && subject->first.rfind(prefix, 0) == 0 &&
        subject->first.size() > prefix.size() &&
        subject->second == std::vector<std::string>{"system:nodes"} &&
        (bootstrap || subject->first == username)) {
      Json conds =
          Json::array({{{"type", "Approved"},
                        {"status", "True"},
                        {"reason", "AutoApproved"},
                        {"message", bootstrap ? "Auto approving kubelet client certificate after "
                                                "bootstrap token authentication."
                                              : "Auto approving self kubelet client certificate "
                                                "after SubjectAccessReview."},
                        {"lastUpdateTime", api::now_rfc3339()}}});
      (void)registry_.update(kind, "", name, "approval", Json{{"status", {{"conditions", conds}}}});
    }
    return;  // the approval's MODIFIED event brings it back here to be signed
  }
  if (!approved || denied) return;
  auto pem = api::base64_decode(api::str_at(csr, {"spec", "request"}));
  Result<std::string> cert = pem ? sign_csr(pki_, *pem, validity_)
                                 : Result<std::string>(error("spec.request is not base64"));
  Json conditions = csr["status"].value("conditions", Json::array());
  Json status;
  if (cert.ok()) {
    status = {{"conditions", conditions}, {"certificate", api::base64_encode(*cert)}};
  } else {
    log::warn("csr ", quote(name), ": ", cert.error().what());
    conditions.push_back({{"type", "Failed"},
                          {"status", "True"},
                          {"reason", "SignerValidationFailure"},
                          {"message", cert.error().what()},
                          {"lastUpdateTime", api::now_rfc3339()}});
    status = {{"conditions", conditions}};
  }
  (void)registry_.patch(kind, "", name, "status", api::PatchType::kMerge, Json{{"status", status}});
}

}  // namespace skiff::master
