#include "cni/types.hpp"

#include "cni/version.hpp"

namespace skiff::cni {

namespace {

// Typed field readers: the error names the JSON path ("ips[0].address: expected string").
CniResult<std::string> get_string(const Json& j, const char* key, std::string_view path,
                                  bool required, uint32_t code) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) return cni_error(code, path, key, ": required field missing");
    return std::string();
  }
  if (!j[key].is_string())
    return cni_error(code, path, key, ": expected string, got ", json_type_name(j[key]));
  return j[key].get<std::string>();
}

CniResult<std::optional<int>> get_int(const Json& j, const char* key, std::string_view path) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<int>();
  if (!j[key].is_number_integer())
    return cni_error(kErrDecodingFailure, path, key, ": expected integer, got ",
                     json_type_name(j[key]));
  return std::optional<int>(j[key].get<int>());
}

CniResult<std::vector<std::string>> get_strings(const Json& j, const char* key,
                                                std::string_view path) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array())
    return cni_error(kErrDecodingFailure, path, key, ": expected array, got ",
                     json_type_name(j[key]));
  for (const auto& e : j[key]) {
    if (!e.is_string())
      return cni_error(kErrDecodingFailure, path, key, ": expected array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

CniResult<IpNet> get_net(const Json& j, const char* key, std::string_view path) {
  auto text = TRY(get_string(j, key, path, true, kErrDecodingFailure));
  auto net = IpNet::parse(text);
  if (!net) return cni_error(kErrDecodingFailure, path, key, ": invalid CIDR ", quote(text));
  return *net;
}

CniResult<std::optional<IpAddr>> get_ip(const Json& j, const char* key, std::string_view path) {
  auto text = TRY(get_string(j, key, path, false, kErrDecodingFailure));
  if (text.empty()) return std::optional<IpAddr>();
  auto ip = IpAddr::parse(text);
  if (!ip) return cni_error(kErrDecodingFailure, path, key, ": invalid IP ", quote(text));
  return std::optional<IpAddr>(*ip);
}

bool is_legacy(std::string_view version) { return !version_at_least(version, "1.0.0"); }

}  // namespace

Json NetworkResult::to_json(std::string_view version) const {
  bool legacy = is_legacy(version);
  bool v11 = version_at_least(version, "1.1.0");
  Json j = {{"cniVersion", std::string(version)}};
  if (!interfaces.empty()) {
    Json arr = Json::array();
    for (const auto& i : interfaces) {
      Json o = {{"name", i.name}};
      if (!i.mac.empty()) o["mac"] = i.mac;
      if (v11 && i.mtu) o["mtu"] = *i.mtu;
      if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
      if (v11 && !i.socket_path.empty()) o["socketPath"] = i.socket_path;
      if (v11 && !i.pci_id.empty()) o["pciID"] = i.pci_id;
      arr.push_back(std::move(o));
    }
    j["interfaces"] = std::move(arr);
  }
  if (!ips.empty()) {
    Json arr = Json::array();
    for (const auto& ip : ips) {
      Json o;
      if (legacy) o["version"] = ip.address.addr().is_v4() ? "4" : "6";
      o["address"] = ip.address.str();
      if (ip.gateway) o["gateway"] = ip.gateway->str();
      if (ip.interface) o["interface"] = *ip.interface;
      arr.push_back(std::move(o));
    }
    j["ips"] = std::move(arr);
  }
  if (!routes.empty()) {
    Json arr = Json::array();
    for (const auto& r : routes) {
      Json o = {{"dst", r.dst.str()}};
      if (r.gw) o["gw"] = r.gw->str();
      if (v11) {
        if (r.mtu) o["mtu"] = *r.mtu;
        if (r.advmss) o["advmss"] = *r.advmss;
        if (r.priority) o["priority"] = *r.priority;
        if (r.table) o["table"] = *r.table;
        if (r.scope) o["scope"] = *r.scope;
      }
      arr.push_back(std::move(o));
    }
    j["routes"] = std::move(arr);
  }
  Json dns_json = Json::object();
  if (!dns.nameservers.empty()) dns_json["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) dns_json["domain"] = dns.domain;
  if (!dns.search.empty()) dns_json["search"] = dns.search;
  if (!dns.options.empty()) dns_json["options"] = dns.options;
  j["dns"] = std::move(dns_json);
  return j;
}

CniResult<NetworkResult> NetworkResult::from_json(const Json& j) {
  if (!j.is_object())
    return cni_error(kErrDecodingFailure, "result: expected object, got ", json_type_name(j));
  NetworkResult r;
  r.cni_version = TRY(get_string(j, "cniVersion", "result.", false, kErrDecodingFailure));
  if (r.cni_version.empty()) r.cni_version = std::string(kSpecVersion);
  if (!version_supported(r.cni_version))
    return cni_error(kErrIncompatibleVersion, "result: unsupported cniVersion ",
                     quote(r.cni_version));
  auto array_of = [&](const char* key) -> CniResult<Json> {
    if (!j.contains(key) || j[key].is_null()) return Json::array();
    if (!j[key].is_array())
      return cni_error(kErrDecodingFailure, "result.", key, ": expected array, got ",
                       json_type_name(j[key]));
    return j[key];
  };
  auto ifs = TRY(array_of("interfaces"));
  for (size_t n = 0; n < ifs.size(); ++n) {
    const auto& o = ifs[n];
    std::string path = cat("interfaces[", n, "].");
    if (!o.is_object()) return cni_error(kErrDecodingFailure, path, ": expected object");
    Interface i;
    i.name = TRY(get_string(o, "name", path, true, kErrDecodingFailure));
    i.mac = TRY(get_string(o, "mac", path, false, kErrDecodingFailure));
    i.mtu = TRY(get_int(o, "mtu", path));
    i.sandbox = TRY(get_string(o, "sandbox", path, false, kErrDecodingFailure));
    i.socket_path = TRY(get_string(o, "socketPath", path, false, kErrDecodingFailure));
    i.pci_id = TRY(get_string(o, "pciID", path, false, kErrDecodingFailure));
    r.interfaces.push_back(std::move(i));
  }
  auto ips = TRY(array_of("ips"));
  for (size_t n = 0; n < ips.size(); ++n) {
    const auto& o = ips[n];
    std::string path = cat("ips[", n, "].");
    if (!o.is_object()) return cni_error(kErrDecodingFailure, path, ": expected object");
    IpConfig c;
    c.address = TRY(get_net(o, "address", path));
    c.gateway = TRY(get_ip(o, "gateway", path));
    c.interface = TRY(get_int(o, "interface", path));
    if (c.interface && (*c.interface < 0 || *c.interface >= static_cast<int>(r.interfaces.size())))
      return cni_error(kErrDecodingFailure, path, "interface: index ", *c.interface,
                       " is not in interfaces");
    r.ips.push_back(std::move(c));
  }
  auto routes = TRY(array_of("routes"));
  for (size_t n = 0; n < routes.size(); ++n) {
    const auto& o = routes[n];
    std::string path = cat("routes[", n, "].");
    if (!o.is_object()) return cni_error(kErrDecodingFailure, path, ": expected object");
    Route rt;
    rt.dst = TRY(get_net(o, "dst", path));
    rt.gw = TRY(get_ip(o, "gw", path));
    rt.mtu = TRY(get_int(o, "mtu", path));
    rt.advmss = TRY(get_int(o, "advmss", path));
    rt.priority = TRY(get_int(o, "priority", path));
    rt.table = TRY(get_int(o, "table", path));
    rt.scope = TRY(get_int(o, "scope", path));
    r.routes.push_back(std::move(rt));
  }
  if (j.contains("dns") && !j["dns"].is_null()) {
    const auto& d = j["dns"];
    if (!d.is_object()) return cni_error(kErrDecodingFailure, "dns: expected object");
    r.dns.nameservers = TRY(get_strings(d, "nameservers", "dns."));
    r.dns.domain = TRY(get_string(d, "domain", "dns.", false, kErrDecodingFailure));
    r.dns.search = TRY(get_strings(d, "search", "dns."));
    r.dns.options = TRY(get_strings(d, "options", "dns."));
  }
  return r;
}

CniResult<Json> convert_result(const Json& result, std::string_view to_version) {
  if (!version_supported(to_version))
    return cni_error(kErrIncompatibleVersion, "cannot convert a result to cniVersion ",
                     quote(to_version));
  auto r = TRY(NetworkResult::from_json(result));
  return r.to_json(to_version);
}

namespace {

CniResult<Json> parse_object(std::string_view text, std::string_view what) {
  auto j = parse_json(text, what);
  if (!j) return CniError::from(j.error(), kErrDecodingFailure);
  if (!j->is_object())
    return cni_error(kErrDecodingFailure, what, ": expected a JSON object, got ",
                     json_type_name(*j));
  return std::move(*j);
}

CniResult<std::string> check_version(const Json& j, std::string_view path) {
  auto v = TRY(get_string(j, "cniVersion", path, false, kErrDecodingFailure));
  if (v.empty()) v = "0.1.0";  // what libcni assumes when the field is missing
  if (!version_supported(v))
    return CniError{kErrIncompatibleVersion, cat("unsupported cniVersion ", quote(v)),
                    cat("supported: ", join(supported_versions(), ", "))};
  return v;
}

}  // namespace

CniResult<NetworkConfig> NetworkConfig::from_json(const Json& j) {
  if (!j.is_object()) return cni_error(kErrDecodingFailure, "network config: expected object");
  NetworkConfig c;
  c.cni_version = TRY(check_version(j, ""));
  c.name = TRY(get_string(j, "name", "", true, kErrInvalidNetworkConfig));
  c.type = TRY(get_string(j, "type", "", true, kErrInvalidNetworkConfig));
  c.raw = j;
  return c;
}

CniResult<NetworkConfig> NetworkConfig::parse(std::string_view text) {
  return from_json(TRY(parse_object(text, "network config")));
}

CniResult<NetworkConfigList> NetworkConfigList::parse(std::string_view text) {
  auto j = TRY(parse_object(text, "network config list"));
  NetworkConfigList l;
  l.bytes = std::string(text);
  if (j.contains("cniVersions") && !j["cniVersions"].is_null()) {
    auto versions = TRY(get_strings(j, "cniVersions", ""));
    auto best = pick_version(versions);
    if (!best)
      return CniError{kErrIncompatibleVersion, "no supported version in cniVersions",
                      cat("supported: ", join(supported_versions(), ", "))};
    l.cni_version = *best;
  } else {
    l.cni_version = TRY(check_version(j, ""));
  }
  l.name = TRY(get_string(j, "name", "", true, kErrInvalidNetworkConfig));
  for (const char* key : {"disableCheck", "disableGC"}) {
    if (!j.contains(key)) continue;
    // libcni accepts booleans and the strings "true"/"false".
    bool value = false;
    if (j[key].is_boolean())
      value = j[key].get<bool>();
    else if (j[key].is_string() && (j[key] == "true" || j[key] == "false"))
      value = j[key] == "true";
    else
      return cni_error(kErrInvalidNetworkConfig, key, ": expected boolean");
    (std::string_view(key) == "disableCheck" ? l.disable_check : l.disable_gc) = value;
  }
  if (!j.contains("plugins") || !j["plugins"].is_array() || j["plugins"].empty())
    return cni_error(kErrInvalidNetworkConfig, "plugins: a non-empty array is required");
  for (size_t n = 0; n < j["plugins"].size(); ++n) {
    const auto& p = j["plugins"][n];
    std::string path = cat("plugins[", n, "].");
    if (!p.is_object()) return cni_error(kErrInvalidNetworkConfig, path, ": expected object");
    TRY(get_string(p, "type", path, true, kErrInvalidNetworkConfig));
    l.plugins.push_back(p);
  }
  return l;
}

CniResult<NetworkConfigList> NetworkConfigList::from_single(std::string_view text) {
  auto conf = TRY(NetworkConfig::parse(text));
  Json list = {{"cniVersion", conf.cni_version}, {"name", conf.name}};
  list["plugins"] = Json::array({conf.raw});
  auto l = TRY(parse(list.dump()));
  l.bytes = list.dump();
  return l;
}

CniResult<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& pair : split(args, ';', true)) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return cni_error(kErrInvalidEnvironment, "CNI_ARGS: invalid pair ", quote(pair));
    out.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
  }
  return out;
}

std::string format_cni_args(const std::vector<std::pair<std::string, std::string>>& args) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : args) parts.push_back(cat(k, '=', v));
  return join(parts, ";");
}

}  // namespace skiff::cni
