#include "master/pki/pki.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace skiff::master {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Req = std::unique_ptr<X509_REQ, Free>;
using Bio = std::unique_ptr<BIO, Free>;

Error ssl_error(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown OpenSSL error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return error(what, ": ", buf);
}

std::string bio_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> key_pem(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr))
    return ssl_error("encode private key");
  return bio_string(b.get());
}

Result<std::string> cert_pem(X509* c) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(b.get(), c)) return ssl_error("encode certificate");
  return bio_string(b.get());
}

Result<Key> load_key(const std::string& path) {
  auto text = TRY(read_file(path));
  Bio b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  Key k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  if (!k) return ssl_error(cat("read private key ", quote(path)));
  return k;
}

Result<Cert> parse_cert(const std::string& pem, std::string_view what) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) return ssl_error(cat("read certificate ", what));
  return c;
}

Result<Cert> load_cert(const std::string& path) {
  auto text = TRY(read_file(path));
  return parse_cert(text, quote(path));
}

Result<Key> new_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) return ssl_error("generate EC P-256 key");
  return k;
}

Result<void> add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return ssl_error(cat("certificate extension ", quote(value)));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok();
}

// Builds and signs a certificate; `issuer`/`issuer_key` null means self-signed.
Result<Cert> make_cert(const Subject& subject, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                       long seconds, bool is_ca, const std::string& usage, const std::string& san) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  // Backdated for clocks a little behind ours; a short-lived certificate by a tenth of its life.
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -std::min(300L, seconds / 10));
  X509_gmtime_adj(X509_getm_notAfter(c.get()), seconds);
  X509_NAME* name = X509_get_subject_name(c.get());
  for (const auto& o : subject.organizations)
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(subject.common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(c.get(), key);
  X509* iss = issuer ? issuer : c.get();
  if (is_ca) {
    TRY(add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE"));
    TRY(add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
    TRY(add_ext(c.get(), iss, NID_subject_key_identifier, "hash"));
  } else {
    TRY(add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE"));
    TRY(add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    TRY(add_ext(c.get(), iss, NID_ext_key_usage, usage));
    TRY(add_ext(c.get(), iss, NID_authority_key_identifier, "keyid:always"));
  }
  if (!san.empty()) TRY(add_ext(c.get(), iss, NID_subject_alt_name, san));
  if (!X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()))
    return ssl_error("sign certificate");
  return c;
}

Result<void> write_pair(const std::string& cert_path, X509* cert, const std::string& key_path,
                        EVP_PKEY* key) {
  TRY(write_file_atomic(key_path, TRY(key_pem(key)), 0600));
  TRY(write_file_atomic(cert_path, TRY(cert_pem(cert)), 0644));
  return ok();
}

std::string san_for(const std::vector<std::string>& hosts) {
  std::vector<std::string> parts = {"DNS:localhost", "IP:127.0.0.1"};
  for (const auto& h : hosts) {
    if (h.empty() || h == "localhost" || h == "127.0.0.1" || h == "0.0.0.0") continue;
    in6_addr a6;
    in_addr a4;
    bool ip = inet_pton(AF_INET, h.c_str(), &a4) == 1 || inet_pton(AF_INET6, h.c_str(), &a6) == 1;
    parts.push_back((ip ? "IP:" : "DNS:") + h);
  }
  return join(parts, ",");
}

bool cert_covers(X509* cert, const std::vector<std::string>& hosts) {
  for (const auto& h : hosts) {
    if (h.empty() || h == "0.0.0.0") continue;
    if (X509_check_host(cert, h.c_str(), h.size(), 0, nullptr) == 1) continue;
    if (X509_check_ip_asc(cert, h.c_str(), 0) == 1) continue;
    return false;
  }
  return true;
}

}  // namespace

Result<PkiFiles> ensure_pki(const std::string& dir, const std::vector<std::string>& hosts) {
  PkiFiles f;
  f.dir = dir;
  f.ca_cert = dir + "/ca.crt";
  f.ca_key = dir + "/ca.key";
  f.serving_cert = dir + "/apiserver.crt";
  f.serving_key = dir + "/apiserver.key";
  f.admin_cert = dir + "/admin.crt";
  f.admin_key = dir + "/admin.key";
  TRY(mkdir_p(dir, 0700));
  if (!path_exists(f.ca_cert) || !path_exists(f.ca_key)) {
    auto key = TRY(new_key());
    auto ca =
        TRY(make_cert({"skiff-ca", {}}, key.get(), nullptr, nullptr, 3650L * 86400, true, "", ""));
    TRY_CTX(write_pair(f.ca_cert, ca.get(), f.ca_key, key.get()), "write the CA");
  }
  auto ca = TRY(load_cert(f.ca_cert));
  auto ca_key = TRY(load_key(f.ca_key));
  bool serving_ok = false;
  if (path_exists(f.serving_cert) && path_exists(f.serving_key)) {
    auto existing = load_cert(f.serving_cert);
    serving_ok = existing.ok() && cert_covers(existing->get(), hosts);
  }
  if (!serving_ok) {
    auto key = TRY(new_key());
    auto cert = TRY(make_cert({"skiff-apiserver", {}}, key.get(), ca.get(), ca_key.get(),
                              365L * 86400, false, "serverAuth", san_for(hosts)));
    TRY_CTX(write_pair(f.serving_cert, cert.get(), f.serving_key, key.get()),
            "write the serving certificate");
  }
  if (!path_exists(f.admin_cert) || !path_exists(f.admin_key)) {
    auto admin = TRY(issue_client_cert(f, "admin", {"system:masters"}, 365));
    TRY(write_file_atomic(f.admin_key, admin.key_pem, 0600));
    TRY(write_file_atomic(f.admin_cert, admin.cert_pem, 0644));
  }
  return f;
}

Result<CertAndKey> issue_client_cert(const PkiFiles& pki, const std::string& user,
                                     const std::vector<std::string>& groups, int days) {
  auto ca = TRY(load_cert(pki.ca_cert));
  auto ca_key = TRY(load_key(pki.ca_key));
  auto key = TRY(new_key());
  auto cert = TRY(make_cert({user, groups}, key.get(), ca.get(), ca_key.get(), days * 86400L, false,
                            "clientAuth", ""));
  return CertAndKey{TRY(cert_pem(cert.get())), TRY(key_pem(key.get()))};
}

Result<std::string> sign_csr(const PkiFiles& pki, const std::string& csr_pem,
                             std::chrono::seconds validity) {
  Bio b(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (!req) return ssl_error("read certificate request");
  Key pub(X509_REQ_get_pubkey(req.get()));
  if (!pub || X509_REQ_verify(req.get(), pub.get()) != 1)
    return ssl_error("certificate request signature");
  Subject s = subject_of(X509_REQ_get_subject_name(req.get()));
  if (s.common_name.empty()) return error("certificate request without a common name");
  auto ca = TRY(load_cert(pki.ca_cert));
  auto ca_key = TRY(load_key(pki.ca_key));
  auto cert = TRY(make_cert(s, pub.get(), ca.get(), ca_key.get(), long(validity.count()), false,
                            "clientAuth", ""));
  return cert_pem(cert.get());
}

Result<std::pair<std::string, std::vector<std::string>>> csr_subject(const std::string& csr_pem) {
  Bio b(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (!req) return ssl_error("read certificate request");
  Subject subject = subject_of(X509_REQ_get_subject_name(req.get()));
  return std::make_pair(std::move(subject.common_name), std::move(subject.organizations));
}

Subject subject_of(X509_NAME* name) {
  Subject out;
  for (int i = 0; i < X509_NAME_entry_count(name); i++) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (n < 0) continue;
    std::string v(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
    if (nid == NID_commonName) out.common_name = v;
    if (nid == NID_organizationName) out.organizations.push_back(v);
  }
  return out;
}

Result<std::string> ca_public_key_hash(const std::string& ca_cert_pem) {
  auto ca = TRY(parse_cert(ca_cert_pem, "CA"));
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(X509_get0_pubkey(ca.get()), &der);
  if (n <= 0) return ssl_error("encode CA public key");
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(der, static_cast<size_t>(n), md, &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; i++) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace skiff::master
