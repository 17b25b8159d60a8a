#include "kubelet/node/credentials.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "api/yaml.hpp"
#include "common/fs.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet::node {

namespace {

Error ssl_error(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown OpenSSL error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return error(what, ": ", buf);
}

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

std::string bio_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<X509Ptr> read_cert(const std::string& pem) {
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (!cert) return ssl_error("read the certificate");
  return cert;
}

std::string base64url(std::string_view data) {
  std::string s = api::base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

}  // namespace

Result<KeyAndRequest> make_node_key_and_csr(const std::string& node_name) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_error("generate the node key");
  ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  std::string cn = "system:node:" + node_name;
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("system:nodes"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
    return ssl_error("make the certificate request");
  BioPtr kb(BIO_new(BIO_s_mem())), rb(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509_REQ(rb.get(), req.get()) != 1)
    return ssl_error("encode the key and request");
  return KeyAndRequest{bio_string(kb.get()), bio_string(rb.get())};
}

Result<std::string> public_key_hash(const std::string& cert_pem) {
  X509Ptr cert = TRY(read_cert(cert_pem));
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  if (n <= 0) return ssl_error("encode the public key");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(der, static_cast<size_t>(n), md, &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; i++) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

bool verify_detached_jws(const std::string& jws, const std::string& payload,
                         const std::string& token_id, const std::string& token_secret) {
  auto dots = jws.find("..");
  if (dots == std::string::npos) return false;
  std::string header_b64 = jws.substr(0, dots), sig = jws.substr(dots + 2);
  // The header must be HS256 with our token as its key id.
  std::string std_b64 = header_b64;
  for (char& c : std_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (std_b64.size() % 4) std_b64.push_back('=');
  auto header_json = api::base64_decode(std_b64);
  if (!header_json) return false;
  auto header = Json::parse(*header_json, nullptr, false);
  if (!header.is_object() || header.value("alg", "") != "HS256" ||
      header.value("kid", "") != token_id)
    return false;
  std::string input = cat(header_b64, ".", base64url(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), token_secret.data(), static_cast<int>(token_secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  std::string want = base64url(std::string_view(reinterpret_cast<char*>(mac), len));
  return want.size() == sig.size() && CRYPTO_memcmp(want.data(), sig.data(), sig.size()) == 0;
}

Result<std::pair<std::string, std::string>> self_signed_serving_cert(const std::string& node_name,
                                                                     const std::string& node_ip) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_error("generate the serving key");
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 365L * 86400);
  X509_NAME* name = X509_get_subject_name(c.get());
  std::string cn = node_name + "@kubelet";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), name);
  X509_set_pubkey(c.get(), key.get());
  std::string san = "DNS:" + node_name + ",DNS:localhost,IP:127.0.0.1";
  if (!node_ip.empty()) san += ",IP:" + node_ip;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, c.get(), c.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                            {NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return ssl_error("serving certificate extension");
    X509_add_ext(c.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(c.get(), key.get(), EVP_sha256()))
    return ssl_error("sign the serving certificate");
  BioPtr cb(BIO_new(BIO_s_mem())), kb(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cb.get(), c.get()) != 1 ||
      PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ssl_error("encode the serving certificate");
  return std::make_pair(bio_string(cb.get()), bio_string(kb.get()));
}

Result<int64_t> certificate_not_after(const std::string& cert_pem) {
  X509Ptr cert = TRY(read_cert(cert_pem));
  const ASN1_TIME* t = X509_get0_notAfter(cert.get());
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return ssl_error("read NotAfter");
  return static_cast<int64_t>(timegm(&tm));
}

Result<int64_t> certificate_not_before(const std::string& cert_pem) {
  X509Ptr cert = TRY(read_cert(cert_pem));
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &tm) != 1)
    return ssl_error("read NotBefore");
  return static_cast<int64_t>(timegm(&tm));
}

Result<Kubeconfig> parse_kubeconfig(const std::string& text, const std::string& path) {
  std::string what = path.empty() ? "the kubeconfig" : quote(path);
  auto doc = api::yaml_to_json(text);
  if (!doc) return doc.error().wrap(what);
  const Json& j = *doc;
  if (!j.is_object()) return error(what, ": not a kubeconfig");
  std::string dir = path.empty() ? "" : path.substr(0, path.rfind('/') + 1);
  std::string context = j.value("current-context", "");
  std::string cluster_name, user_name;
  bool have_context = false;
  if (j.contains("contexts") && j["contexts"].is_array())
    for (const auto& c : j["contexts"])
      if (c.value("name", "") == context || context.empty()) {
        cluster_name = api::str_at(c, {"context", "cluster"});
        user_name = api::str_at(c, {"context", "user"});
        have_context = true;
        break;
      }
  auto pick = [&](const char* list, const std::string& name) -> const Json* {
    if (!j.contains(list) || !j[list].is_array() || j[list].empty()) return nullptr;
    for (const auto& e : j[list])
      if (!have_context || e.value("name", "") == name) return &e;
    return nullptr;
  };
  auto data_or_file = [&](const Json& obj, const char* data_key,
                          const char* file_key) -> Result<std::string> {
    if (obj.contains(data_key) && obj[data_key].is_string()) {
      auto v = api::base64_decode(obj[data_key].get<std::string>());
      if (!v) return error(what, ": ", data_key, " is not base64");
      return *v;
    }
    if (obj.contains(file_key) && obj[file_key].is_string()) {
      std::string f = obj[file_key].get<std::string>();
      if (!f.starts_with("/")) f = dir + f;
      return TRY_CTX(read_file(f), what);
    }
    return std::string();
  };
  Kubeconfig k;
  const Json* cluster = pick("clusters", cluster_name);
  if (!cluster || !(*cluster).contains("cluster")) return error(what, ": no cluster");
  k.server = api::str_at(*cluster, {"cluster", "server"});
  if (k.server.empty()) return error(what, ": clusters[].cluster.server: required");
  k.ca_pem = TRY(
      data_or_file((*cluster)["cluster"], "certificate-authority-data", "certificate-authority"));
  if (const Json* user = pick("users", user_name); user && user->contains("user")) {
    k.cert_pem =
        TRY(data_or_file((*user)["user"], "client-certificate-data", "client-certificate"));
    k.key_pem = TRY(data_or_file((*user)["user"], "client-key-data", "client-key"));
  }
  return k;
}

Result<Kubeconfig> load_kubeconfig(const std::string& path) {
  return parse_kubeconfig(TRY(read_file(path)), path);
}

std::string render_kubeconfig(const Kubeconfig& k, const std::string& user) {
  return cat(
      "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ",
      api::base64_encode(k.ca_pem), "\n    server: ", k.server,
      "\n  name: skiff\ncontexts:\n- context:\n    cluster: skiff\n    user: ", user,
      "\n  name: skiff\ncurrent-context: skiff\npreferences: {}\nusers:\n- name: ", user,
      "\n  user:\n    client-certificate-data: ", api::base64_encode(k.cert_pem),
      "\n    client-key-data: ", api::base64_encode(k.key_pem), "\n");
}

}  // namespace skiff::kubelet::node
