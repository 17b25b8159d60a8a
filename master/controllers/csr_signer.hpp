#pragma once
// Signs approved CertificateSigningRequests for the kube-apiserver client signers
// (kubernetes.io/kube-apiserver-client, kubernetes.io/kube-apiserver-client-kubelet) with the
// master's CA and writes status.certificate, so `kubectl certificate approve` (and, next, the
// join flow) yields a client certificate the master accepts.

#include <atomic>
#include <thread>

#include "master/pki/pki.hpp"
#include "master/registry/registry.hpp"

namespace skiff::master {

class CsrSigner {
 public:
  CsrSigner(Registry& registry, PkiFiles pki) : registry_(registry), pki_(std::move(pki)) {}
  ~CsrSigner() { stop(); }
  Result<void> start();
  void stop();
  // Signs `csr` if it is approved, not denied, unsigned and for a signer we serve.
  void maybe_sign(const Json& csr);

 private:
  Registry& registry_;
  PkiFiles pki_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
};

}  // namespace skiff::master
