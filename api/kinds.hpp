#pragma once
// The kinds the API serves: group, version, kind, resource, scope, short names, subresources. One
// table that discovery, routing, validation and the kubectl e2e tests all read.

#include <string>
#include <string_view>
#include <vector>

namespace skiff::api {

struct KindInfo {
  std::string group;  // "" for core
  std::string version;
  std::string kind;
  std::string resource;  // plural, lower case
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> subresources;  // "status", "binding", "scale"
  std::vector<std::string> categories;    // "all"

  // "v1" or "apps/v1".
  std::string api_version() const;
  std::string list_kind() const { return kind + "List"; }
  // "pods" or "deployments.apps": what error messages name.
  std::string group_resource() const;
  // "Pod" or "Deployment.apps": the kind in "<kind> \"name\" is invalid".
  std::string qualified_kind() const;
};

// Every kind served, in discovery order.
const std::vector<KindInfo>& kinds();
// Looks a kind up by group and plural resource; nullptr when not served.
const KindInfo* find_resource(std::string_view group, std::string_view resource);
// Looks a kind up by apiVersion ("apps/v1") and kind; nullptr when not served.
const KindInfo* find_kind(std::string_view api_version, std::string_view kind);
// The verbs every served resource supports.
const std::vector<std::string>& standard_verbs();

}  // namespace skiff::api
