#include "cni/errors.hpp"

namespace skiff::cni {

CniError& CniError::wrap(std::string_view context) {
  msg = cat(context, ": ", msg);
  return *this;
}

std::string CniError::what() const {
  std::string out = msg;
  if (!details.empty()) out += cat(": ", details);
  return cat(out, " (CNI error ", code, ")");
}

Json CniError::to_json(std::string_view cni_version) const {
  Json j = {{"cniVersion", std::string(cni_version)}, {"code", code}, {"msg", msg}};
  if (!details.empty()) j["details"] = details;
  return j;
}

CniError CniError::from_output(std::string_view output) {
  auto trimmed = std::string(trim(output));
  try {
    auto j = Json::parse(trimmed);
    if (j.is_object() && j.contains("code") && j["code"].is_number_unsigned()) {
      CniError e;
      e.code = j["code"].get<uint32_t>();
      if (j.contains("msg") && j["msg"].is_string()) e.msg = j["msg"].get<std::string>();
      if (j.contains("details") && j["details"].is_string())
        e.details = j["details"].get<std::string>();
      return e;
    }
  } catch (const Json::exception&) {
  }
  return CniError{kErrInternal, trimmed.empty() ? "no error output" : trimmed, {}};
}

CniError CniError::from(const Error& e, uint32_t code) { return CniError{code, e.what(), {}}; }

}  // namespace skiff::cni
