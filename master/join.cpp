#include "master/join.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <memory>

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/json_util.hpp"
#include "common/strings.hpp"
#include "master/pki/pki.hpp"

namespace skiff::master {

namespace {

Error tls_error(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown TLS error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return error(what, ": ", buf);
}

std::string random_token_part(size_t n) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  unsigned char buf[64];
  RAND_bytes(buf, static_cast<int>(n));
  for (size_t i = 0; i < n; i++) out.push_back(kAlphabet[buf[i] % 36]);
  return out;
}

Result<std::string> server_url(const std::string& data_dir) {
  auto url = read_file(data_dir + "/server-url");
  if (!url.ok())
    return error("no ", quote(data_dir + "/server-url"),
                 ": is skiff-master running with --data-dir ", quote(data_dir), "?");
  return std::string(trim(*url));
}

}  // namespace

Result<AdminResponse> admin_request(const std::string& data_dir, const std::string& method,
                                    const std::string& path, const std::string& body) {
  std::string url = TRY(server_url(data_dir));
  if (url.rfind("https://", 0) != 0) return error("server URL ", quote(url), " is not https");
  std::string hostport = url.substr(8);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  std::string pki = data_dir + "/pki";
  if (SSL_CTX_load_verify_locations(ctx.get(), (pki + "/ca.crt").c_str(), nullptr) != 1 ||
      SSL_CTX_use_certificate_file(ctx.get(), (pki + "/admin.crt").c_str(), SSL_FILETYPE_PEM) !=
          1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), (pki + "/admin.key").c_str(), SSL_FILETYPE_PEM) != 1)
    return tls_error(cat("load the admin credentials from ", quote(pki)));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_ssl_connect(ctx.get()), BIO_free_all);
  BIO_set_conn_hostname(bio.get(), hostport.c_str());
  if (BIO_do_connect(bio.get()) <= 0) return tls_error(cat("connect to ", url));
  std::string host = hostport.substr(0, hostport.rfind(':'));
  std::string req = cat(method, " ", path, " HTTP/1.1\r\nHost: ", host,
                        "\r\nAccept: application/json\r\nConnection: close\r\n");
  if (!body.empty())
    req += cat("Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n");
  req += "\r\n" + body;
  if (BIO_write(bio.get(), req.data(), static_cast<int>(req.size())) !=
      static_cast<int>(req.size()))
    return tls_error(cat("send to ", url));
  std::string resp;
  char buf[16384];
  int n;
  while ((n = BIO_read(bio.get(), buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  auto sp = resp.find(' ');
  auto end = resp.find("\r\n\r\n");
  if (sp == std::string::npos || end == std::string::npos)
    return error("malformed response from ", url);
  AdminResponse out;
  out.status = parse_int<int>(resp.substr(sp + 1, 3)).value_or(0);
  out.body = resp.substr(end + 4);
  return out;
}

Result<std::string> token_create(const std::string& data_dir, std::chrono::seconds ttl) {
  std::string id = random_token_part(6), secret = random_token_part(16);
  Json data = {
      {"token-id", api::base64_encode(id)},
      {"token-secret", api::base64_encode(secret)},
      {"usage-bootstrap-authentication", api::base64_encode("true")},
      {"usage-bootstrap-signing", api::base64_encode("true")},
      {"auth-extra-groups", api::base64_encode("system:bootstrappers:kubeadm:default-node-token")}};
  if (ttl.count() > 0)
    data["expiration"] = api::base64_encode(api::rfc3339(std::chrono::system_clock::now() + ttl));
  Json secret_obj = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", "bootstrap-token-" + id}, {"namespace", "kube-system"}}},
      {"type", "bootstrap.kubernetes.io/token"},
      {"data", data}};
  auto r = TRY(
      admin_request(data_dir, "POST", "/api/v1/namespaces/kube-system/secrets", secret_obj.dump()));
  if (r.status != 201) return error("create the token: HTTP ", r.status, ": ", r.body);
  std::string ca = TRY(read_file(data_dir + "/pki/ca.crt"));
  std::string hash = TRY(ca_public_key_hash(ca));
  return cat("skiff-kubelet join ", TRY(server_url(data_dir)), " --token ", id, ".", secret,
             " --ca-cert-hash ", hash);
}

Result<std::string> token_list(const std::string& data_dir) {
  auto r =
      TRY(admin_request(data_dir, "GET",
                        "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap."
                        "kubernetes.io%2Ftoken"));
  if (r.status != 200) return error("list tokens: HTTP ", r.status, ": ", r.body);
  auto list = TRY(parse_json(r.body, "the token list"));
  std::string out = "TOKEN                     EXPIRES\n";
  for (const auto& s : list.value("items", Json::array())) {
    auto field = [&](const char* k) {
      auto v = api::base64_decode(api::str_at(s, {"data", k}));
      return v ? *v : std::string();
    };
    std::string exp = field("expiration");
    out += cat(field("token-id"), ".<secret>          ", exp.empty() ? "<never>" : exp, "\n");
  }
  return out;
}

Result<void> token_delete(const std::string& data_dir, const std::string& id_or_token) {
  std::string id = id_or_token.substr(0, id_or_token.find('.'));
  auto r = TRY(admin_request(data_dir, "DELETE",
                             "/api/v1/namespaces/kube-system/secrets/bootstrap-token-" + id));
  if (r.status == 404) return error("token ", quote(id), " not found");
  if (r.status != 200) return error("delete token ", quote(id), ": HTTP ", r.status, ": ", r.body);
  return ok();
}

}  // namespace skiff::master
