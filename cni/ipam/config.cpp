#include "cni/ipam/config.hpp"

namespace skiff::cni::ipam {

namespace {

CniError invalid(std::string msg) { return CniError{kErrInvalidNetworkConfig, std::move(msg), {}}; }

CniResult<std::optional<IpAddr>> ip_field(const Json& o, const char* key, const std::string& path) {
  if (!o.contains(key) || o[key].is_null() || (o[key].is_string() && o[key] == ""))
    return std::optional<IpAddr>();
  if (!o[key].is_string()) return invalid(cat(path, key, ": expected string"));
  auto ip = IpAddr::parse(o[key].get<std::string>());
  if (!ip) return invalid(cat(path, key, ": invalid IP ", quote(o[key].get<std::string>())));
  return std::optional<IpAddr>(*ip);
}

CniResult<Range> parse_range(const Json& o, const std::string& path) {
  if (!o.is_object()) return invalid(cat(path, ": expected object"));
  if (!o.contains("subnet") || !o["subnet"].is_string())
    return invalid(cat(path, "subnet: required string"));
  auto text = o["subnet"].get<std::string>();
  auto net = IpNet::parse(text);
  if (!net) return invalid(cat(path, "subnet: invalid CIDR ", quote(text)));
  Range r;
  r.subnet = net->network();
  int bits = r.subnet.addr().bits();
  if (r.subnet.prefix() > bits - 2)
    return invalid(cat(path, "subnet: network ", r.subnet.str(), " is too small to allocate from"));
  auto start = TRY(ip_field(o, "rangeStart", path));
  auto end = TRY(ip_field(o, "rangeEnd", path));
  auto gateway = TRY(ip_field(o, "gateway", path));
  r.start = start ? *start : r.subnet.first().next();
  r.end = end ? *end : (r.subnet.addr().is_v4() ? r.subnet.last().prev() : r.subnet.last());
  r.gateway = gateway ? *gateway : r.subnet.first().next();
  if (!r.subnet.contains(r.start))
    return invalid(cat(path, "rangeStart: ", r.start.str(), " is not in ", r.subnet.str()));
  if (!r.subnet.contains(r.end))
    return invalid(cat(path, "rangeEnd: ", r.end.str(), " is not in ", r.subnet.str()));
  if (r.end < r.start)
    return invalid(cat(path, "rangeStart ", r.start.str(), " is after rangeEnd ", r.end.str()));
  if (!r.subnet.contains(*r.gateway))
    return invalid(cat(path, "gateway: ", r.gateway->str(), " is not in ", r.subnet.str()));
  return r;
}

bool ranges_overlap(const Range& a, const Range& b) {
  return a.subnet.family() == b.subnet.family() && !(a.end < b.start || b.end < a.start);
}

}  // namespace

CniResult<Config> parse_config(const Json& netconf) {
  Config c;
  if (!netconf.contains("name") || !netconf["name"].is_string())
    return invalid("name: required string");
  c.network = netconf["name"].get<std::string>();
  if (c.network.empty() || c.network == "." || c.network == ".." ||
      c.network.find('/') != std::string::npos)
    return invalid(cat("name: ", quote(c.network), " cannot name a lease directory"));
  if (!netconf.contains("ipam") || !netconf["ipam"].is_object())
    return invalid("ipam: required object");
  const Json& ipam = netconf["ipam"];
  if (ipam.contains("dataDir")) {
    if (!ipam["dataDir"].is_string() || ipam["dataDir"].get<std::string>().empty())
      return invalid("ipam.dataDir: expected a non-empty string");
    c.data_dir = ipam["dataDir"].get<std::string>();
  }

  // The legacy single range ("subnet" at the top of ipam) comes first, as in host-local.
  if (ipam.contains("subnet") && !ipam["subnet"].is_null())
    c.range_sets.push_back({TRY(parse_range(ipam, "ipam."))});
  if (ipam.contains("ranges")) {
    if (!ipam["ranges"].is_array()) return invalid("ipam.ranges: expected array of arrays");
    for (size_t i = 0; i < ipam["ranges"].size(); ++i) {
      const auto& set = ipam["ranges"][i];
      auto path = cat("ipam.ranges[", i, "]");
      if (!set.is_array() || set.empty()) return invalid(cat(path, ": expected a non-empty array"));
      RangeSet rs;
      for (size_t j = 0; j < set.size(); ++j)
        rs.push_back(TRY(parse_range(set[j], cat(path, "[", j, "]."))));
      c.range_sets.push_back(std::move(rs));
    }
  }
  if (c.range_sets.empty()) return invalid("ipam: no IP ranges given (\"ranges\" or \"subnet\")");

  for (size_t i = 0; i < c.range_sets.size(); ++i) {
    const auto& rs = c.range_sets[i];
    for (size_t a = 0; a < rs.size(); ++a) {
      if (rs[a].subnet.family() != rs[0].subnet.family())
        return invalid(cat("ipam.ranges[", i, "]: mixes IPv4 and IPv6 ranges"));
      for (size_t b = a + 1; b < rs.size(); ++b)
        if (ranges_overlap(rs[a], rs[b]))
          return invalid(
              cat("ipam.ranges[", i, "]: range ", rs[a].str(), " overlaps range ", rs[b].str()));
    }
    for (size_t j = i + 1; j < c.range_sets.size(); ++j)
      for (const auto& ra : rs)
        for (const auto& rb : c.range_sets[j])
          if (ra.subnet.overlaps(rb.subnet))
            return invalid(cat("ipam: range set ", i, " (", ra.subnet.str(),
                               ") overlaps range set ", j, " (", rb.subnet.str(), ")"));
  }

  if (ipam.contains("routes")) {
    if (!ipam["routes"].is_array()) return invalid("ipam.routes: expected array");
    for (size_t i = 0; i < ipam["routes"].size(); ++i) {
      const auto& o = ipam["routes"][i];
      auto path = cat("ipam.routes[", i, "].");
      if (!o.is_object() || !o.contains("dst") || !o["dst"].is_string())
        return invalid(cat(path, "dst: required string"));
      auto dst = IpNet::parse(o["dst"].get<std::string>());
      if (!dst) return invalid(cat(path, "dst: invalid CIDR ", quote(o["dst"].get<std::string>())));
      Route r;
      r.dst = dst->network();
      r.gw = TRY(ip_field(o, "gw", path));
      c.routes.push_back(r);
    }
  }
  if (ipam.contains("dns") && ipam["dns"].is_object()) {
    Json wrapped = {{"cniVersion", "1.1.0"}, {"dns", ipam["dns"]}};
    auto parsed = NetworkResult::from_json(wrapped);
    if (!parsed) return invalid(cat("ipam.dns: ", parsed.error().msg));
    c.dns = parsed->dns;
  }
  return c;
}

}  // namespace skiff::cni::ipam
