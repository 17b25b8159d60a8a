#pragma once
// The master's PKI, made with OpenSSL at first start under <data-dir>/pki (keys 0600): a CA, a
// serving certificate whose SANs cover the listen addresses plus 127.0.0.1 and localhost, and an
// admin client certificate (CN=admin, O=system:masters). Client certificates name the user (CN)
// and groups (O), as kube-apiserver reads them.

#include <chrono>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "common/error.hpp"

namespace skiff::master {

struct PkiFiles {
  std::string dir;
  std::string ca_cert, ca_key, serving_cert, serving_key, admin_cert, admin_key;
};

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

// Creates what is missing under `dir` (the CA once; the serving certificate again when its SANs
// do not cover `hosts`); returns the file paths.
Result<PkiFiles> ensure_pki(const std::string& dir, const std::vector<std::string>& hosts);
// Issues a client certificate signed by the CA for `user` in `groups`, valid `days`.
Result<CertAndKey> issue_client_cert(const PkiFiles& pki, const std::string& user,
                                     const std::vector<std::string>& groups, int days);
// Signs a PEM certificate request (from a CSR object) as a client certificate; the subject of
// the request is kept; valid for `validity` (kube-controller-manager's
// --cluster-signing-duration).
Result<std::string> sign_csr(const PkiFiles& pki, const std::string& csr_pem,
                             std::chrono::seconds validity);
inline Result<std::string> sign_csr(const PkiFiles& pki, const std::string& csr_pem, int days) {
  return sign_csr(pki, csr_pem, std::chrono::seconds(days * 86400LL));
}
// The subject of a PEM certificate request: common name and organizations.
// The common name and organizations of an X.509 name: who a client certificate or CSR speaks
// for (user and groups, as Kubernetes' x509 authenticator reads them).
struct Subject {
  std::string common_name;
  std::vector<std::string> organizations;
};
Subject subject_of(X509_NAME* name);
Result<std::pair<std::string, std::vector<std::string>>> csr_subject(const std::string& csr_pem);
// kubeadm's CA pin: "sha256:" + hex sha256 of the CA's DER SubjectPublicKeyInfo.
Result<std::string> ca_public_key_hash(const std::string& ca_cert_pem);

}  // namespace skiff::master
