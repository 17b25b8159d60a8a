#pragma once
// Authentication and authorization. Users come from verified client certificates (CN user, O
// groups) or bearer tokens from a static token file (kube-apiserver's --token-auth-file format:
// token,user,uid,"group1,group2"). system:masters may do anything; other identities get 403 for
// now (the node authorizer is next); anonymous requests get 401 except for health and version.

#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "master/server/http.hpp"

namespace skiff::master {
class Store;
}

namespace skiff::master {

class Authenticator {
 public:
  // Reads `token_file` (missing file: no tokens).
  Result<void> load_token_file(const std::string& token_file);
  // Adds a token at run time (tests, bootstrap).
  void add_token(const std::string& token, Identity id);
  // The request's identity: its client certificate, else its bearer token; anonymous otherwise.
  // A bearer token that matches nothing is an error (401), not anonymous.
  Result<Identity> authenticate(const HttpRequest& req) const;
  // Enables bootstrap tokens ("ID.SECRET", kubeadm's format) kept as Secrets
  // kube-system/bootstrap-token-ID: user system:bootstrap:ID in group system:bootstrappers.
  void set_store(const Store* store) { store_ = store; }

 private:
  const Store* store_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, Identity> tokens_;
};

struct Attributes {
  std::string verb;  // get list watch create update patch delete deletecollection
  std::string group, resource, subresource, ns, name;
  bool resource_request = false;
  std::string path;
  std::string field_selector;  // of a list or watch
};

// True when `id` may do `attrs`: system:masters anything; a node identity (system:node:NAME in
// group system:nodes) only what a kubelet needs, as kube's node authorizer rules have it — its
// own Node and Lease, pods bound to it (and their status), the secrets, configmaps and
// service accounts those pods use, services and endpoints to read, events, CSRs. `store` answers
// "which pods are bound to this node".
bool authorize(const Identity& id, const Attributes& attrs, const Store* store = nullptr);

// True for the one request anonymous clients may make beyond health and version: GET
// kube-public/configmaps/cluster-info, which a joining node reads before it trusts the CA
// (kubeadm's system:unauthenticated binding).
bool anonymous_allowed(const std::string& method, const std::string& path);

}  // namespace skiff::master
