#include "master/controllers/bootstrap_signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/log.hpp"

namespace skiff::master {

namespace {

constexpr const char* kJwsPrefix = "jws-kubeconfig-";

std::string base64url(std::string_view data) {
  std::string s = api::base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

}  // namespace

std::string detached_jws(std::string_view payload, const std::string& token_id,
                         const std::string& token_secret) {
  std::string header = base64url(Json{{"alg", "HS256"}, {"kid", token_id}}.dump());
  std::string input = cat(header, ".", base64url(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), token_secret.data(), static_cast<int>(token_secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return cat(header, "..", base64url(std::string_view(reinterpret_cast<char*>(mac), len)));
}

std::string cluster_info_kubeconfig(const std::string& ca_pem, const std::string& server_url) {
  return cat("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ",
             api::base64_encode(ca_pem), "\n    server: ", server_url,
             "\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\n"
             "preferences: {}\nusers: null\n");
}

void BootstrapSigner::sync() {
  std::string kubeconfig = cluster_info_kubeconfig(ca_pem_, server_url_);
  Json data = {{"kubeconfig", kubeconfig}};
  auto secrets = registry_.store().list(list_prefix("secrets", "kube-system"), "", 0, [](auto& s) {
    return api::str_at(s, {"type"}) == "bootstrap.kubernetes.io/token";
  });
  auto now = std::chrono::system_clock::now();
  for (const auto& s : secrets.items) {
    auto field = [&](const char* k) {
      auto v = api::base64_decode(api::str_at(*s.json, {"data", k}));
      return v ? *v : std::string();
    };
    std::string id = field("token-id"), secret = field("token-secret");
    if (id.size() != 6 || secret.size() != 16 || field("usage-bootstrap-signing") != "true")
      continue;
    if (api::str_at(*s.json, {"metadata", "name"}) != "bootstrap-token-" + id) continue;
    if (auto exp = api::parse_rfc3339(field("expiration")); exp && *exp < now) continue;
    data[kJwsPrefix + id] = detached_jws(kubeconfig, id, secret);
  }
  const api::KindInfo& kind = *api::find_resource("", "configmaps");
  Object current = registry_.store().get(object_key("configmaps", "kube-public", "cluster-info"));
  if (!current) {
    Json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "cluster-info"}, {"namespace", "kube-public"}}},
               {"data", data}};
    auto o = registry_.create(kind, "kube-public", cm, Identity{"system:bootstrap-signer", {}});
    if (!o.ok() && o.code != 409) log::warn("create kube-public/cluster-info: ", o.error->message);
    return;
  }
  if (current.json->value("data", Json::object()) == data) return;
  Json updated = *current.json;
  updated["data"] = data;
  auto o = registry_.update(kind, "kube-public", "cluster-info", "", updated);
  if (!o.ok() && o.code != 409) log::warn("update kube-public/cluster-info: ", o.error->message);
}

Result<void> BootstrapSigner::start() {
  sync();
  watcher_ = TRY(registry_.store().watch(list_prefix("secrets", "kube-system"), 0));
  running_ = true;
  thread_ = std::thread([this] {
    std::vector<WatchEvent> events;
    auto last = std::chrono::steady_clock::now();
    while (running_) {
      events.clear();
      if (!watcher_->next(events, std::chrono::milliseconds(500))) {
        if (!running_) return;
        auto w = registry_.store().watch(list_prefix("secrets", "kube-system"), 0);
        if (!w.ok()) return;
        watcher_ = *w;
        continue;
      }
      // Token changes at once; expiry (and a deleted cluster-info) within a few seconds.
      auto now = std::chrono::steady_clock::now();
      if (!events.empty() || now - last > std::chrono::seconds(5)) {
        sync();
        last = now;
      }
    }
  });
  return ok();
}

void BootstrapSigner::stop() {
  if (!running_.exchange(false)) return;
  if (watcher_) watcher_->close();
  if (thread_.joinable()) thread_.join();
}

}  // namespace skiff::master
