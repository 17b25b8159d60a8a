#pragma once
// YAML to JSON for manifests (yaml-cpp): plain scalars typed by the YAML 1.2 core schema (null,
// booleans, integers, floats), quoted scalars always strings, so `port: "80"` stays a string and
// validation can say so.

#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet {

// Every document of `text` (empty documents skipped); errors give line and column.
Result<std::vector<Json>> yaml_documents(std::string_view text, std::string_view what);

// JSON as YAML (block style), for `skiff pod status -o yaml`.
std::string to_yaml(const Json& j);

}  // namespace skiff::kubelet
