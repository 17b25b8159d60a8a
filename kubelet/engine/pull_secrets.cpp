#include "kubelet/engine/pull_secrets.hpp"

#include "common/base64.hpp"

namespace skiff::kubelet {
namespace {

// One registry's entry, checked: "auth" (base64 of USER:PASS) or username and password.
Result<Json> entry(const Json& e, const std::string& where) {
  if (!e.is_object()) return error(where, ": expected an object, got ", json_type_name(e));
  if (e.contains("auth") && e["auth"].is_string() && !e["auth"].get<std::string>().empty()) {
    auto decoded = base64_decode(e["auth"].get<std::string>());
    if (!decoded) return error(where, ".auth: not base64: ", decoded.error().message());
    if (decoded->find(':') == std::string::npos || decoded->starts_with(":"))
      return error(where, ".auth: want base64 of USERNAME:PASSWORD");
    return Json{{"auth", e["auth"]}};
  }
  if (e.contains("username") && e["username"].is_string() && e.contains("password") &&
      e["password"].is_string() && !e["username"].get<std::string>().empty())
    return Json{{"username", e["username"]}, {"password", e["password"]}};
  return error(where, ": no \"auth\" and no \"username\"/\"password\"");
}

}  // namespace

Result<Json> pull_auth_config(const Manifest& m) {
  Json auths = Json::object();
  for (const auto& name : m.pod.spec.image_pull_secrets) {
    const KeyValueObject* s = nullptr;
    for (const auto& o : m.secrets)
      if (o.name == name) s = &o;
    if (!s) continue;  // the kubelet pulls without it (and says so in an event)
    std::string key;
    if (s->type == kDockerConfigJsonType)
      key = ".dockerconfigjson";
    else if (s->type == kDockerCfgType)
      key = ".dockercfg";
    else
      continue;
    std::string what = cat("imagePullSecret ", json_quote(name), " (", s->type, ")");
    auto data = s->data.find(key);
    if (data == s->data.end()) return error(what, ": no key ", json_quote(key));
    Json doc = Json::parse(data->second, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return error(what, ": ", key, " is not a JSON object");
    const Json* regs = &doc;
    std::string prefix = key;
    if (key == ".dockerconfigjson") {
      if (!doc.contains("auths") || !doc["auths"].is_object())
        return error(what, ": ", key, ": no \"auths\" object");
      regs = &doc["auths"];
      prefix += ".auths";
    }
    for (const auto& [registry, e] : regs->items()) {
      if (registry.empty()) return error(what, ": ", prefix, ": an empty registry name");
      Json checked = TRY_CTX(entry(e, cat(prefix, '[', json_quote(registry), ']')), what);
      if (!auths.contains(registry)) auths[registry] = std::move(checked);
    }
  }
  return Json{{"auths", auths}};
}

}  // namespace skiff::kubelet
