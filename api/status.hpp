#pragma once
// API errors as kube-apiserver returns them: an HTTP code, a metav1.Status reason and message, and
// for invalid objects the field causes kubectl prints
// (`The Pod "web" is invalid: spec.containers[0].image: Required value`).

#include <string>
#include <vector>

#include "common/json_util.hpp"

namespace skiff::api {

// One invalid field: type is the cause reason ("FieldValueRequired"), detail the text after it.
struct FieldError {
  std::string type;
  std::string field;
  std::string detail;  // full message, e.g. `Required value` or `Invalid value: "x": why`
};
using FieldErrors = std::vector<FieldError>;

FieldError required(std::string field, std::string why = "");
FieldError invalid(std::string field, const Json& value, std::string why);
FieldError not_supported(std::string field, const Json& value,
                         const std::vector<std::string>& allowed);
FieldError duplicate(std::string field, const Json& value);
FieldError forbidden(std::string field, std::string why);
FieldError not_found(std::string field, const Json& value);
FieldError too_long(std::string field, size_t max);

struct ApiError {
  int code = 500;
  std::string reason;  // "NotFound", "AlreadyExists", "Conflict", "Invalid", ...
  std::string message;
  Json details;  // null or {name, group, kind, causes}

  // The metav1.Status object.
  Json to_status() const;
};

ApiError not_found_error(const std::string& group_resource, const std::string& name);
ApiError already_exists(const std::string& group_resource, const std::string& name);
ApiError conflict(const std::string& group_resource, const std::string& name,
                  const std::string& why);
ApiError bad_request(const std::string& message);
// 422 with the causes; `group`/`kind` as KindInfo has them.
ApiError invalid_error(const std::string& group, const std::string& kind, const std::string& name,
                       const FieldErrors& errors);
ApiError gone(const std::string& message);
ApiError method_not_allowed(const std::string& message);
ApiError unauthorized();
// kube's wording: `pods "web" is forbidden: User "bob" cannot get resource "pods" in API group ""
// in the namespace "default"` (the name part only for named requests).
ApiError forbidden_error(const std::string& user, const std::string& verb,
                         const std::string& group_resource, const std::string& ns,
                         const std::string& name = "");
ApiError internal_error(const std::string& message);
ApiError too_large(const std::string& message);
ApiError unsupported_media(const std::string& content_type);

// A success Status ({"status":"Success"}) for deletes that finish at once.
Json success_status(const std::string& group, const std::string& kind, const std::string& name,
                    const std::string& uid);

}  // namespace skiff::api
