#include "api/status.hpp"

#include "common/strings.hpp"

namespace skiff::api {

FieldError required(std::string field, std::string why) {
  return {"FieldValueRequired", std::move(field),
          why.empty() ? "Required value" : "Required value: " + why};
}
FieldError invalid(std::string field, const Json& value, std::string why) {
  std::string shown = value.is_string() ? json_quote(value.get<std::string>()) : value.dump();
  return {"FieldValueInvalid", std::move(field),
          cat("Invalid value: ", shown, why.empty() ? "" : ": ", why)};
}
FieldError not_supported(std::string field, const Json& value,
                         const std::vector<std::string>& allowed) {
  std::vector<std::string> quoted;
  for (const auto& a : allowed) quoted.push_back(json_quote(a));
  std::string shown = value.is_string() ? json_quote(value.get<std::string>()) : value.dump();
  return {"FieldValueNotSupported", std::move(field),
          cat("Unsupported value: ", shown, ": supported values: ", join(quoted, ", "))};
}
FieldError duplicate(std::string field, const Json& value) {
  std::string shown = value.is_string() ? json_quote(value.get<std::string>()) : value.dump();
  return {"FieldValueDuplicate", std::move(field), cat("Duplicate value: ", shown)};
}
FieldError forbidden(std::string field, std::string why) {
  return {"FieldValueForbidden", std::move(field), cat("Forbidden: ", why)};
}
FieldError not_found(std::string field, const Json& value) {
  std::string shown = value.is_string() ? json_quote(value.get<std::string>()) : value.dump();
  return {"FieldValueNotFound", std::move(field), cat("Not found: ", shown)};
}
FieldError too_long(std::string field, size_t max) {
  return {"FieldValueTooLong", std::move(field),
          cat("Too long: must have at most ", max, " bytes")};
}

Json ApiError::to_status() const {
  Json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

static Json name_details(const std::string& group_resource, const std::string& name) {
  auto dot = group_resource.find('.');
  Json d = {{"name", name}, {"kind", group_resource.substr(0, dot)}};
  if (dot != std::string::npos) d["group"] = group_resource.substr(dot + 1);
  return d;
}

ApiError not_found_error(const std::string& gr, const std::string& name) {
  return {404, "NotFound", cat(gr, " ", json_quote(name), " not found"), name_details(gr, name)};
}
ApiError already_exists(const std::string& gr, const std::string& name) {
  return {409, "AlreadyExists", cat(gr, " ", json_quote(name), " already exists"),
          name_details(gr, name)};
}
ApiError conflict(const std::string& gr, const std::string& name, const std::string& why) {
  return {409, "Conflict",
          cat("Operation cannot be fulfilled on ", gr, " ", json_quote(name), ": ", why),
          name_details(gr, name)};
}
ApiError bad_request(const std::string& message) { return {400, "BadRequest", message, nullptr}; }

ApiError invalid_error(const std::string& group, const std::string& kind, const std::string& name,
                       const FieldErrors& errors) {
  std::string qualified = group.empty() ? kind : kind + "." + group;
  std::vector<std::string> parts;
  Json causes = Json::array();
  for (const auto& e : errors) {
    parts.push_back(e.field + ": " + e.detail);
    causes.push_back({{"reason", e.type}, {"message", e.detail}, {"field", e.field}});
  }
  std::string list = parts.size() == 1 ? parts[0] : "[" + join(parts, ", ") + "]";
  Json details = {{"name", name}, {"kind", kind}, {"causes", causes}};
  if (!group.empty()) details["group"] = group;
  return {422, "Invalid", cat(qualified, " ", json_quote(name), " is invalid: ", list), details};
}
ApiError gone(const std::string& message) { return {410, "Expired", message, nullptr}; }
ApiError method_not_allowed(const std::string& message) {
  return {405, "MethodNotAllowed", message, nullptr};
}
ApiError unauthorized() { return {401, "Unauthorized", "Unauthorized", nullptr}; }
ApiError forbidden_error(const std::string& user, const std::string& verb, const std::string& gr,
                         const std::string& ns, const std::string& name) {
  auto dot = gr.find('.');
  std::string resource = gr.substr(0, dot);
  std::string group = dot == std::string::npos ? "" : gr.substr(dot + 1);
  std::string msg = cat(gr, name.empty() ? "" : " " + json_quote(name), " is forbidden: User ",
                        json_quote(user), " cannot ", verb, " resource ", json_quote(resource),
                        " in API group ", json_quote(group));
  msg += ns.empty() ? " at the cluster scope" : cat(" in the namespace ", json_quote(ns));
  return {403, "Forbidden", msg, nullptr};
}
ApiError internal_error(const std::string& message) {
  return {500, "InternalError", "Internal error occurred: " + message, nullptr};
}
ApiError too_large(const std::string& message) {
  return {413, "RequestEntityTooLarge", message, nullptr};
}
ApiError unsupported_media(const std::string& content_type) {
  return {415, "UnsupportedMediaType",
          cat("the body of the request was in an unknown format - accepted media types include: "
              "application/json, application/yaml (got ",
              json_quote(content_type), ")"),
          nullptr};
}

Json success_status(const std::string& group, const std::string& kind, const std::string& name,
                    const std::string& uid) {
  Json d = {{"name", name}, {"kind", kind}, {"uid", uid}};
  if (!group.empty()) d["group"] = group;
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", Json::object()},
          {"status", "Success"},
          {"details", d}};
}

}  // namespace skiff::api
