#pragma once
// Signs approved CertificateSigningRequests for the kube-apiserver client signers
// (kubernetes.io/kube-apiserver-client, kubernetes.io/kube-apiserver-client-kubelet) with the
// master's CA and writes status.certificate, so `kubectl certificate approve` (and, next, the
// join flow) yields a client certificate the master accepts. Node client requests are approved
// automatically, as kube's csrapproving controller does: from a bootstrap token (the join), and
// from a node for itself (its certificate's renewal: CN system:node:NAME by system:node:NAME).

#include <atomic>
#include <chrono>
#include <thread>

#include "master/pki/pki.hpp"
#include "master/registry/registry.hpp"

namespace skiff::master {

class CsrSigner {
 public:
  // Certificates are valid for `validity` (kube-controller-manager's --cluster-signing-duration).
  CsrSigner(Registry& registry, PkiFiles pki,
            std::chrono::seconds validity = std::chrono::hours(24 * 365))
      : registry_(registry), pki_(std::move(pki)), validity_(validity) {}
  ~CsrSigner() { stop(); }
  Result<void> start();
  void stop();
  // Signs `csr` if it is approved, not denied, unsigned and for a signer we serve.
  void maybe_sign(const Json& csr);

 private:
  Registry& registry_;
  PkiFiles pki_;
  std::chrono::seconds validity_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
};

}  // namespace skiff::master
