#pragma once
// The CNI spec 1.1.0 data model: a plugin's network configuration, a configuration list (conflist)
// and the success result (interfaces, IPs, routes, DNS). Results read any version we support and
// are written in the version the caller asked for — 0.3.x/0.4.0 callers get "version" on each IP
// and none of the 1.1.0-only fields.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cni/errors.hpp"
#include "cni/ip.hpp"
#include "common/json_util.hpp"

namespace skiff::cni {

struct Interface {
  std::string name;
  std::string mac;
  std::optional<int> mtu;   // 1.1.0
  std::string sandbox;      // netns path, for interfaces inside the container
  std::string socket_path;  // 1.1.0
  std::string pci_id;       // 1.1.0
};

struct IpConfig {
  IpNet address;  // with host bits: the interface address
  std::optional<IpAddr> gateway;
  std::optional<int> interface;  // index into the result's interfaces
};

struct Route {
  IpNet dst;
  std::optional<IpAddr> gw;
  std::optional<int> mtu, advmss, priority, table, scope;  // 1.1.0
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool empty() const {
    return nameservers.empty() && domain.empty() && search.empty() && options.empty();
  }
};

struct NetworkResult {
  std::string cni_version{"1.1.0"};
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;

  // The result in `version`'s shape (cniVersion set to it).
  Json to_json(std::string_view version) const;
  Json to_json() const { return to_json(cni_version); }
  // Reads a result of any supported version; code 6 (decoding failure) when malformed.
  static CniResult<NetworkResult> from_json(const Json& j);
};

// Converts a result document to another supported version (what an invoker does before handing a
// cached result to a plugin that speaks an older version).
CniResult<Json> convert_result(const Json& result, std::string_view to_version);

// One plugin's configuration. `raw` keeps every field: plugins read their own keys from it.
struct NetworkConfig {
  std::string cni_version;
  std::string name;
  std::string type;
  Json raw;

  // Validates cniVersion (code 1 when unsupported), name and type (code 7); code 6 on bad JSON.
  static CniResult<NetworkConfig> parse(std::string_view text);
  static CniResult<NetworkConfig> from_json(const Json& j);
};

// A conflist: the network's name and version, and the plugins to run in order.
struct NetworkConfigList {
  std::string cni_version;
  std::string name;
  bool disable_check = false;
  bool disable_gc = false;
  std::vector<Json> plugins;  // each plugin's own object (type + its fields)
  std::string bytes;          // the document as read (kept in the result cache, like libcni)

  static CniResult<NetworkConfigList> parse(std::string_view text);
  // A single-plugin ".conf" as a list of one (libcni's ConfListFromConf).
  static CniResult<NetworkConfigList> from_single(std::string_view text);
};

// CNI_ARGS "K1=V1;K2=V2" as pairs; code 4 on a malformed pair.
CniResult<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view args);
std::string format_cni_args(const std::vector<std::pair<std::string, std::string>>& args);

}  // namespace skiff::cni
