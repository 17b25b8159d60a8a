#pragma once
// YAML <-> JSON for manifests (`application/yaml` bodies, `skiff pod run pod.yaml`). Plain scalars
// get YAML 1.1/1.2 core types (null, bool, int, float); quoted ones stay strings.

#include <string_view>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::api {

// Parses one YAML document; the error names the line and column.
Result<Json> yaml_to_json(std::string_view text);
// Every document of a multi-document stream (`---` separated); empty documents are skipped.
Result<std::vector<Json>> yaml_documents(std::string_view text);
std::string json_to_yaml(const Json& value);

}  // namespace skiff::api
