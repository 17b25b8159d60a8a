#include "api/patch.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/strings.hpp"

namespace skiff::api {

std::optional<PatchType> patch_type_from_content_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  ct = trim(ct);
  if (ct == "application/json-patch+json") return PatchType::kJson;
  if (ct == "application/merge-patch+json") return PatchType::kMerge;
  if (ct == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  return std::nullopt;
}

Result<Json> json_patch(const Json& original, const Json& patch) {
  if (!patch.is_array()) return error("json patch: expected an array of operations");
  try {
    return original.patch(patch);
  } catch (const std::exception& e) {
    return error("json patch: ", e.what());
  }
}

Result<Json> merge_patch(const Json& original, const Json& patch) {
  Json out = original;
  try {
    out.merge_patch(patch);
  } catch (const std::exception& e) {
    return error("merge patch: ", e.what());
  }
  return out;
}

namespace {

// The patch merge key of a list field (k8s.io/api struct tags), or "" for atomic lists. Lists
// with merge strategy but primitive elements (finalizers) use "*".
std::string merge_key(std::string_view field, const Json& sample) {
  static const std::pair<const char*, const char*> kKeys[] = {
      {"containers", "name"},
      {"initContainers", "name"},
      {"ephemeralContainers", "name"},
      {"volumes", "name"},
      {"env", "name"},
      {"volumeMounts", "mountPath"},
      {"volumeDevices", "devicePath"},
      {"imagePullSecrets", "name"},
      {"hostAliases", "ip"},
      {"conditions", "type"},
      {"addresses", "type"},
      {"taints", "key"},
      {"ownerReferences", "uid"},
      {"topologySpreadConstraints", "topologyKey"},
      {"finalizers", "*"},
      {"secrets", "name"},
      {"readinessGates", "conditionType"},
  };
  if (field == "ports") {
    // Container ports merge on containerPort, service ports on port.
    if (sample.is_object() && sample.contains("containerPort")) return "containerPort";
    return "port";
  }
  for (const auto& [f, k] : kKeys)
    if (field == f) return k;
  return "";
}

Result<Json> smp(const Json& original, const Json& patch);

Result<Json> merge_list(std::string_view field, const Json& original, const Json& patch) {
  const Json sample = !patch.empty() ? patch[0] : (!original.empty() ? original[0] : Json());
  std::string key = merge_key(field, sample);
  if (key.empty()) {
    // Atomic list; a `$patch: replace` marker element is dropped.
    Json out = Json::array();
    for (const auto& e : patch)
      if (!(e.is_object() && e.contains("$patch"))) out.push_back(e);
    return out;
  }
  Json out = original;
  if (key == "*") {
    for (const auto& e : patch)
      if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
    return out;
  }
  for (const auto& e : patch) {
    if (!e.is_object()) return error(field, ": expected objects in a list merged by ", quote(key));
    std::string directive = e.value("$patch", "");
    if (directive == "replace") {
      Json replaced = Json::array();
      for (const auto& x : patch)
        if (!(x.is_object() && x.contains("$patch"))) replaced.push_back(x);
      return replaced;
    }
    auto kv = e.find(key);
    if (kv == e.end()) return error(field, ": element without its merge key ", quote(key));
    auto match = std::find_if(out.begin(), out.end(), [&](const Json& x) {
      return x.is_object() && x.contains(key) && x[key] == *kv;
    });
    if (directive == "delete") {
      if (match != out.end()) out.erase(match);
      continue;
    }
    if (match != out.end()) {
      *match = TRY(smp(*match, e));
    } else {
      out.push_back(TRY(smp(Json::object(), e)));
    }
  }
  return out;
}

Result<Json> smp(const Json& original, const Json& patch) {
  if (!patch.is_object()) return patch;
  if (patch.value("$patch", "") == "replace") {
    Json out = patch;
    out.erase("$patch");
    return out;
  }
  if (patch.value("$patch", "") == "delete") return Json();
  Json out = original.is_object() ? original : Json::object();
  for (const auto& [k, v] : patch.items()) {
    if (k == "$patch" || k == "$retainKeys" || k.rfind("$setElementOrder/", 0) == 0) continue;
    if (k.rfind("$deleteFromPrimitiveList/", 0) == 0) {
      std::string field = k.substr(strlen("$deleteFromPrimitiveList/"));
      if (out.contains(field) && out[field].is_array() && v.is_array()) {
        Json kept = Json::array();
        for (const auto& x : out[field])
          if (std::find(v.begin(), v.end(), x) == v.end()) kept.push_back(x);
        out[field] = kept;
      }
      continue;
    }
    if (v.is_null()) {
      out.erase(k);
    } else if (v.is_object()) {
      Json merged = TRY(smp(out.contains(k) ? out[k] : Json::object(), v));
      if (merged.is_null())
        out.erase(k);
      else
        out[k] = std::move(merged);
    } else if (v.is_array() && out.contains(k) && out[k].is_array()) {
      out[k] = TRY(merge_list(k, out[k], v));
    } else if (v.is_array()) {
      out[k] = TRY(merge_list(k, Json::array(), v));
    } else {
      out[k] = v;
    }
  }
  return out;
}

}  // namespace

Result<Json> strategic_merge_patch(const Json& original, const Json& patch) {
  if (!patch.is_object()) return error("strategic merge patch: expected a JSON object");
  return TRY_CTX(smp(original, patch), "strategic merge patch");
}

Result<Json> apply_patch(PatchType type, const Json& original, const Json& patch) {
  switch (type) {
    case PatchType::kJson:
      return json_patch(original, patch);
    case PatchType::kMerge:
      return merge_patch(original, patch);
    case PatchType::kStrategic:
      return strategic_merge_patch(original, patch);
  }
  return error("unknown patch type");
}

}  // namespace skiff::api
