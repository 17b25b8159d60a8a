#include "cni/bridge/config.hpp"

#include <cctype>

namespace skiff::cni::bridge {

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || isspace(static_cast<unsigned char>(c)) || c == '\0') return false;
  return true;
}

CniResult<Config> parse_config(const NetworkConfig& conf) {
  const Json& j = conf.raw;
  Config c;
  c.network = conf.name;
  auto invalid = [](auto&&... parts) {
    return CniError{kErrInvalidNetworkConfig, cat(parts...), {}};
  };
  auto boolean = [&](const char* key, bool& out) -> CniResult<void> {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_boolean())
      return invalid(key, ": expected boolean, got ", json_type_name(j[key]));
    out = j[key].get<bool>();
    return {};
  };
  if (j.contains("bridge")) {
    if (!j["bridge"].is_string()) return invalid("bridge: expected string");
    c.bridge = j["bridge"].get<std::string>();
  }
  if (!valid_ifname(c.bridge))
    return invalid("bridge: ", quote(c.bridge), " is not an interface name");
  TRY(boolean("isGateway", c.is_gateway));
  TRY(boolean("isDefaultGateway", c.is_default_gateway));
  TRY(boolean("ipMasq", c.ip_masq));
  TRY(boolean("hairpinMode", c.hairpin));
  if (j.contains("ipMasqExclude") && !j["ipMasqExclude"].is_null()) {
    const Json& ex = j["ipMasqExclude"];
    if (!ex.is_array())
      return invalid("ipMasqExclude: expected array of CIDRs, got ", json_type_name(ex));
    for (size_t i = 0; i < ex.size(); ++i) {
      auto net = ex[i].is_string() ? IpNet::parse(ex[i].get<std::string>()) : std::nullopt;
      if (!net) return invalid("ipMasqExclude[", i, "]: ", ex[i].dump(), " is not a CIDR");
      c.ip_masq_exclude.push_back(net->network());
    }
  }
  if (c.is_default_gateway) c.is_gateway = true;
  if (j.contains("mtu") && !j["mtu"].is_null()) {
    if (!j["mtu"].is_number_integer()) return invalid("mtu: expected integer");
    auto mtu = j["mtu"].get<long long>();
    if (mtu != 0 && (mtu < 68 || mtu > 65535))
      return invalid("mtu: ", mtu, " is out of range 68..65535");
    if (mtu > 0) c.mtu = static_cast<unsigned>(mtu);
  }
  if (!j.contains("ipam") || !j["ipam"].is_object() || !j["ipam"].contains("type") ||
      !j["ipam"]["type"].is_string() || j["ipam"]["type"].get<std::string>().empty())
    return invalid("ipam.type: required (the IPAM plugin to delegate to)");
  c.ipam_type = j["ipam"]["type"].get<std::string>();
  return c;
}

}  // namespace skiff::cni::bridge
