#include "cni/ipam/host_local.hpp"

#include <unistd.h>

#include <algorithm>

#include "cni/ipam/allocator.hpp"
#include "cni/ipam/config.hpp"
#include "cni/ipam/lease_store.hpp"
#include "common/fs.hpp"

namespace skiff::cni::ipam {

namespace {

// IPs asked for by the runtime: CNI_ARGS "IP=a,b" and runtimeConfig {"ips": ["a/24", …]}.
CniResult<std::vector<IpAddr>> requested_ips(const CmdArgs& args) {
  std::vector<IpAddr> out;
  auto add_text = [&](std::string_view text) -> CniResult<void> {
    auto slash = text.find('/');
    auto ip = IpAddr::parse(text.substr(0, slash));
    if (!ip)
      return cni_error(kErrInvalidNetworkConfig, "requested IP ", quote(text), " is invalid");
    out.push_back(*ip);
    return {};
  };
  for (const auto& [k, v] : TRY(parse_cni_args(args.args)))
    if (k == "IP")
      for (const auto& part : split(v, ',', true)) TRY(add_text(part));
  const Json& conf = args.config.raw;
  if (conf.contains("runtimeConfig") && conf["runtimeConfig"].is_object() &&
      conf["runtimeConfig"].contains("ips") && conf["runtimeConfig"]["ips"].is_array())
    for (const auto& ip : conf["runtimeConfig"]["ips"])
      if (ip.is_string()) TRY(add_text(ip.get<std::string>()));
  return out;
}

}  // namespace

CniResult<NetworkResult> HostLocalPlugin::add(const CmdArgs& args) {
  auto config = TRY(parse_config(args.config.raw));
  auto requested = TRY(requested_ips(args));
  auto store = TRY(LeaseStore::open_locked(config.data_dir, config.network));

  NetworkResult result;
  // All or nothing: a failure in a later range set releases what the earlier ones got.
  auto rollback = [&] { (void)store.release_by_id(args.container_id, args.ifname); };
  std::vector<bool> used(requested.size(), false);
  for (size_t i = 0; i < config.range_sets.size(); ++i) {
    const auto& set = config.range_sets[i];
    std::optional<IpAddr> want;
    for (size_t r = 0; r < requested.size(); ++r) {
      if (used[r]) continue;
      bool in_set = std::any_of(set.begin(), set.end(),
                                [&](const Range& range) { return range.contains(requested[r]); });
      if (in_set) {
        want = requested[r];
        used[r] = true;
        break;
      }
    }
    auto ip = allocate(store, set, i, args.container_id, args.ifname, want);
    if (!ip) {
      rollback();
      return std::move(ip).error();
    }
    result.ips.push_back(*ip);
  }
  for (size_t r = 0; r < requested.size(); ++r) {
    if (used[r]) continue;
    rollback();
    return cni_error(kErrInvalidNetworkConfig, "requested IP ", requested[r].str(),
                     " is in none of the configured ranges");
  }
  result.routes = config.routes;
  result.dns = config.dns;
  return result;
}

CniResult<void> HostLocalPlugin::del(const CmdArgs& args) {
  auto config = TRY(parse_config(args.config.raw));
  auto store = TRY(LeaseStore::open_locked(config.data_dir, config.network));
  TRY(store.release_by_id(args.container_id, args.ifname));
  return {};
}

CniResult<void> HostLocalPlugin::check(const CmdArgs& args) {
  auto config = TRY(parse_config(args.config.raw));
  auto store = TRY(LeaseStore::open_locked(config.data_dir, config.network));
  auto held = TRY(store.find_by_id(args.container_id, args.ifname));
  if (held.empty())
    return cni_error(kErrUnknownContainer, "no IP lease held by ", args.container_id, "/",
                     args.ifname, " on network ", quote(config.network));
  // The previous result's addresses must still be ours.
  if (args.config.raw.contains("prevResult")) {
    auto prev = TRY(NetworkResult::from_json(args.config.raw["prevResult"]));
    for (const auto& ip : prev.ips) {
      bool ours = false;
      for (const auto& set : config.range_sets)
        for (const auto& r : set) ours |= r.subnet.contains(ip.address.addr());
      if (ours && std::find(held.begin(), held.end(), ip.address.addr()) == held.end())
        return cni_error(kErrUnknownContainer, "IP ", ip.address.addr().str(),
                         " is no longer leased to ", args.container_id, "/", args.ifname);
    }
  }
  return {};
}

CniResult<void> HostLocalPlugin::status(const CmdArgs& args) {
  auto config = TRY(parse_config(args.config.raw));
  auto dir = path_join(config.data_dir, config.network);
  if (auto m = mkdir_p(dir, 0755); !m || access(dir.c_str(), W_OK) != 0)
    return cni_error(kErrPluginNotAvailable, "lease directory ", quote(dir), " is not writable");
  return {};
}

CniResult<void> HostLocalPlugin::gc(const CmdArgs& args) {
  auto config = TRY(parse_config(args.config.raw));
  auto valid = TRY(valid_attachments(args.config.raw));
  auto store = TRY(LeaseStore::open_locked(config.data_dir, config.network));
  for (const auto& lease : TRY(store.leases())) {
    AttachmentKey key{lease.container_id, lease.ifname};
    bool keep = std::any_of(valid.begin(), valid.end(), [&](const AttachmentKey& v) {
      return v == key || (lease.ifname.empty() && v.container_id == lease.container_id);
    });
    if (!keep) TRY(store.release(lease.ip));
  }
  return {};
}

}  // namespace skiff::cni::ipam
