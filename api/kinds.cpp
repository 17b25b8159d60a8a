#include "api/kinds.hpp"

namespace skiff::api {

std::string KindInfo::api_version() const {
  return group.empty() ? version : group + "/" + version;
}
std::string KindInfo::group_resource() const {
  return group.empty() ? resource : resource + "." + group;
}
std::string KindInfo::qualified_kind() const { return group.empty() ? kind : kind + "." + group; }

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> table = {
      {"", "v1", "Namespace", "namespaces", "namespace", false, {"ns"}, {"status"}, {}},
      {"",
       "v1",
       "Pod",
       "pods",
       "pod",
       true,
       {"po"},
       {"status", "binding", "log", "exec", "attach", "portforward"},
       {"all"}},
      {"", "v1", "Node", "nodes", "node", false, {"no"}, {"status"}, {}},
      {"", "v1", "ConfigMap", "configmaps", "configmap", true, {"cm"}, {}, {}},
      {"", "v1", "Secret", "secrets", "secret", true, {}, {}, {}},
      {"", "v1", "Event", "events", "event", true, {"ev"}, {}, {}},
      {"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, {"sa"}, {}, {}},
      {"", "v1", "Service", "services", "service", true, {"svc"}, {"status"}, {"all"}},
      {"", "v1", "Endpoints", "endpoints", "endpoints", true, {"ep"}, {}, {}},
      {"coordination.k8s.io", "v1", "Lease", "leases", "lease", true, {}, {}, {}},
      {"apps",
       "v1",
       "ReplicaSet",
       "replicasets",
       "replicaset",
       true,
       {"rs"},
       {"status", "scale"},
       {"all"}},
      {"apps",
       "v1",
       "Deployment",
       "deployments",
       "deployment",
       true,
       {"deploy"},
       {"status", "scale"},
       {"all"}},
      {"certificates.k8s.io",
       "v1",
       "CertificateSigningRequest",
       "certificatesigningrequests",
       "certificatesigningrequest",
       false,
       {"csr"},
       {"status", "approval"},
       {}},
  };
  return table;
}

const KindInfo* find_resource(std::string_view group, std::string_view resource) {
  for (const auto& k : kinds())
    if (k.group == group && k.resource == resource) return &k;
  return nullptr;
}

const KindInfo* find_kind(std::string_view api_version, std::string_view kind) {
  for (const auto& k : kinds())
    if (k.api_version() == api_version && k.kind == kind) return &k;
  return nullptr;
}

const std::vector<std::string>& standard_verbs() {
  static const std::vector<std::string> verbs = {"create", "delete", "deletecollection", "get",
                                                 "list",   "patch",  "update",           "watch"};
  return verbs;
}

}  // namespace skiff::api
