#include "kubelet/node/join.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/node/api_client.hpp"
#include "kubelet/node/credentials.hpp"

namespace skiff::kubelet::node {

std::string credentials_dir(const std::string& data_dir) { return data_dir + "/credentials"; }
std::string kubeconfig_path(const std::string& data_dir) {
  return credentials_dir(data_dir) + "/kubeconfig";
}

std::string default_node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  std::string name = host;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return api::check_dns_subdomain(name).empty() ? name : "";
}

namespace {

bool token_part_ok(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace

Result<std::string> wait_for_certificate(ApiClient& client, const std::string& name,
                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string path = "/apis/certificates.k8s.io/v1/certificatesigningrequests/" + name;
  while (true) {
    auto csr = TRY(client.get_json(path));
    if (auto cert = api::str_at(csr, {"status", "certificate"}); !cert.empty()) {
      auto pem = api::base64_decode(cert);
      if (!pem) return error("CSR ", quote(name), ": status.certificate is not base64");
      return *pem;
    }
    if (const Json* cs = api::at_path(csr, {"status", "conditions"}); cs && cs->is_array())
      for (const auto& c : *cs) {
        std::string type = c.value("type", "");
        if ((type == "Denied" || type == "Failed") && c.value("status", "True") == "True")
          return error("CSR ", quote(name), " was ", type == "Denied" ? "denied" : "not signed",
                       ": ", c.value("reason", ""), " ", c.value("message", ""));
      }
    if (std::chrono::steady_clock::now() > deadline)
      return error("CSR ", quote(name), " was not approved and signed within ",
                   std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
                   " s (is the CSR signer running? kubectl get csr)");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<std::string> join(const JoinOptions& o) {
  // --- arguments ---
  auto dot = o.token.find('.');
  if (dot == std::string::npos || !token_part_ok(std::string_view(o.token).substr(0, dot), 6) ||
      !token_part_ok(std::string_view(o.token).substr(dot + 1), 16))
    return error(
        "--token: expected ID.SECRET ([a-z0-9]{6}.[a-z0-9]{16}), as `skiff-master token "
        "create` prints it");
  std::string token_id = o.token.substr(0, dot), secret = o.token.substr(dot + 1);
  std::string pin = o.ca_cert_hash;
  for (char& c : pin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!pin.starts_with("sha256:") || pin.size() != 7 + 64 ||
      pin.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
    return error("--ca-cert-hash: expected sha256:<64 hex digits>, got ", quote(o.ca_cert_hash));
  std::string node = o.node_name.empty() ? default_node_name() : o.node_name;
  if (node.empty()) return error("--node-name: required (the host name is not a valid node name)");
  if (auto why = api::check_dns_subdomain(node); !why.empty())
    return error("--node-name ", quote(node), ": ", why);
  std::string final_dir = credentials_dir(o.data_dir);
  if (path_exists(final_dir))
    return error("this node has joined already: ", quote(final_dir),
                 " exists (remove it to join again)");

  // --- discovery: cluster-info, signed with our token, CA pinned ---
  ClientConfig anon;
  anon.server = o.server;
  anon.insecure = true;
  anon.timeout = std::chrono::seconds(10);
  auto discovery = TRY(ApiClient::create(anon));
  // Only a master that cannot be reached is tried again (each second, up to the discovery
  // timeout); any answer — a wrong token, an unknown one, a bad signature — ends the join.
  auto give_up = std::chrono::steady_clock::now() + o.discovery_timeout;
  int attempts = 1;
  auto r = discovery->request("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info");
  while (!r && std::chrono::steady_clock::now() + std::chrono::seconds(1) < give_up) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    attempts++;
    r = discovery->request("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info");
  }
  if (!r)
    return r.error().wrap(cat("cannot reach the master at ", o.server, " (", attempts,
                              attempts == 1 ? " attempt" : " attempts", " in ",
                              o.discovery_timeout.count() / 1000, " s)"));
  if (r->status != 200)
    return error("read cluster-info from ", o.server, ": HTTP ", r->status, ": ", r->message());
  auto cm = TRY(parse_json(r->body, "cluster-info"));
  std::string kubeconfig_text = api::str_at(cm, {"data", "kubeconfig"});
  if (kubeconfig_text.empty()) return error("cluster-info from ", o.server, " has no kubeconfig");
  std::string jws = api::str_at(cm, {"data", ("jws-kubeconfig-" + token_id).c_str()});
  if (jws.empty())
    return error("token ", quote(token_id), " is not known to the master at ", o.server,
                 " (no signature for it in cluster-info: wrong, expired or deleted token; "
                 "make one with `skiff-master token create`)");
  if (!verify_detached_jws(jws, kubeconfig_text, token_id, secret))
    return error("cluster-info's signature for token ", quote(token_id),
                 " does not verify with the token's secret: wrong token");
  auto cluster = TRY_CTX(parse_kubeconfig(kubeconfig_text), "cluster-info");
  if (cluster.ca_pem.empty()) return error("cluster-info has no certificate-authority-data");
  std::string hash = TRY_CTX(public_key_hash(cluster.ca_pem), "cluster-info's CA");
  if (hash != pin)
    return error("the master's CA public key hash ", hash, " does not match --ca-cert-hash ", pin,
                 ": refusing to trust it");

  // --- TLS bootstrap: our key, a CSR with the token, the signed certificate ---
  ClientConfig boot;
  boot.server = o.server;  // the address the node reached; cluster-info's may be the master's own
  boot.ca_pem = cluster.ca_pem;
  boot.token = o.token;
  auto client = TRY(ApiClient::create(boot));
  auto kr = TRY(make_node_key_and_csr(node));
  Json csr = {{"apiVersion", "certificates.k8s.io/v1"},
              {"kind", "CertificateSigningRequest"},
              {"metadata", {{"generateName", "node-csr-"}}},
              {"spec",
               {{"request", api::base64_encode(kr.csr_pem)},
                {"signerName", "kubernetes.io/kube-apiserver-client-kubelet"},
                {"usages", {"digital signature", "key encipherment", "client auth"}}}}};
  auto created =
      TRY_CTX(client->request("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                              csr.dump()),
              "send the certificate request");
  if (created.status == 401)
    return error("the master refused token ", quote(token_id), ": ", created.message());
  if (created.status != 201)
    return error("create the certificate request: HTTP ", created.status, ": ", created.message());
  auto created_json = TRY(parse_json(created.body, "the created CSR"));
  std::string csr_name = api::str_at(created_json, {"metadata", "name"});
  std::string cert = TRY(wait_for_certificate(*client, csr_name, o.timeout));

  // --- a node of that name must not be running already ---
  ClientConfig mine;
  mine.server = o.server;
  mine.ca_pem = cluster.ca_pem;
  mine.cert_pem = cert;
  mine.key_pem = kr.key_pem;
  auto node_client = TRY(ApiClient::create(mine));
  auto existing = TRY_CTX(node_client->request("GET", "/api/v1/nodes/" + node),
                          "check for a node named ", quote(node));
  if (existing.status == 200) {
    auto n = TRY(parse_json(existing.body, "node " + node));
    if (const Json* cs = api::at_path(n, {"status", "conditions"}); cs && cs->is_array())
      for (const auto& c : *cs)
        if (c.value("type", "") == "Ready" && c.value("status", "") == "True")
          return error("a node named ", quote(node),
                       " is already Ready in the cluster: pick another --node-name (or delete "
                       "that node first)");
  } else if (existing.status != 404) {
    return error("check for a node named ", quote(node), ": HTTP ", existing.status, ": ",
                 existing.message());
  }

  // --- write it all, or nothing ---
  TRY(mkdir_p(o.data_dir, 0700));
  std::string tmp = cat(o.data_dir, "/.credentials.tmp-", getpid());
  (void)remove_tree(tmp);
  if (::mkdir(tmp.c_str(), 0700) < 0) return errno_error("create ", quote(tmp));
  Defer drop([&] { (void)remove_tree(tmp); });
  Kubeconfig k{o.server, cluster.ca_pem, cert, kr.key_pem};
  TRY(write_file_atomic(tmp + "/kubeconfig", render_kubeconfig(k, "system:node:" + node), 0600));
  TRY(write_file_atomic(tmp + "/ca.crt", cluster.ca_pem, 0600));
  TRY(write_file_atomic(tmp + "/kubelet-client.crt", cert, 0600));
  TRY(write_file_atomic(tmp + "/kubelet-client.key", kr.key_pem, 0600));
  TRY(write_file_atomic(tmp + "/node-name", node + "\n", 0600));
  if (::rename(tmp.c_str(), final_dir.c_str()) < 0)
    return errno_error("rename ", quote(tmp), " to ", quote(final_dir));
  return node;
}

}  // namespace skiff::kubelet::node
