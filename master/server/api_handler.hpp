#pragma once
// The Kubernetes REST surface: health and version, discovery, /openapi/v2, and CRUD + watch for
// every kind in api::kinds(), with Table responses for kubectl and metav1.Status errors. No Beast
// here: it maps an HttpRequest to an HttpResponse.

#include <atomic>
#include <string>

#include "master/auth/auth.hpp"
#include "master/registry/registry.hpp"
#include "master/server/http.hpp"
#include "master/server/kubelet_proxy.hpp"

namespace skiff::master {

struct VersionInfo {
  std::string git_version = "v1.20.0-skiff";
  std::string git_commit = "unknown";
};

class ApiHandler {
 public:
  ApiHandler(Registry& registry, Authenticator& authn, VersionInfo version)
      : registry_(registry), authn_(authn), version_(std::move(version)) {}
  HttpResponse handle(HttpRequest& req);
  // Readiness: false until bootstrap finished and again while shutting down.
  void set_ready(bool ready) { ready_ = ready; }
  // The client certificate pods/log presents to kubelets.
  void set_kubelet_client(KubeletClientConfig c) { kubelet_client_ = std::move(c); }

 private:
  struct Route;
  HttpResponse resource(HttpRequest& req, const Route& route, const Identity& who);
  HttpResponse list(HttpRequest& req, const Route& route);
  HttpResponse watch(HttpRequest& req, const Route& route);
  HttpResponse discovery(const std::string& path);

  HttpResponse pod_log(HttpRequest& req, const Route& route);
  // pods/exec, pods/attach, pods/portforward: the connection upgraded through to the kubelet.
  HttpResponse pod_connect(HttpRequest& req, const Route& route);
  Registry& registry_;
  Authenticator& authn_;
  KubeletClientConfig kubelet_client_;
  VersionInfo version_;
  std::atomic<bool> ready_{false};
};

}  // namespace skiff::master
