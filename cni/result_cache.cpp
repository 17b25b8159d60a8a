#include "cni/result_cache.hpp"

#include <dirent.h>
#include <unistd.h>

#include "common/base64.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace skiff::cni {

namespace {

Result<CachedAttachment> from_json(const Json& j, const std::string& path) {
  try {
    if (!j.is_object() || j.value("kind", "") != "cniCacheV1")
      return error(quote(path), ": not a cniCacheV1 record");
    CachedAttachment a;
    a.network_name = j.at("networkName").get<std::string>();
    a.container_id = j.at("containerId").get<std::string>();
    a.ifname = j.at("ifName").get<std::string>();
    a.netns = j.value("netns", "");
    if (j.contains("cniArgs") && j["cniArgs"].is_array())
      for (const auto& p : j["cniArgs"])
        a.cni_args.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
    if (j.contains("capabilityArgs") && j["capabilityArgs"].is_object())
      a.capability_args = j["capabilityArgs"];
    if (j.contains("config") && j["config"].is_string()) {
      auto bytes = base64_decode(j["config"].get<std::string>());
      if (!bytes) return error(quote(path), ": config: ", bytes.error().message());
      a.config_bytes = std::move(*bytes);
    }
    if (j.contains("result")) a.result = j["result"];
    return a;
  } catch (const Json::exception& e) {
    return error(quote(path), ": ", e.what());
  }
}

}  // namespace

std::string ResultCache::path_of(const std::string& network, const std::string& container_id,
                                 const std::string& ifname) const {
  return cat(dir_, '/', network, '-', container_id, '-', ifname);
}

Result<void> ResultCache::save(const CachedAttachment& a) {
  TRY_CTX(mkdir_p(dir_, 0700), "result cache");
  Json args = Json::array();
  for (const auto& [k, v] : a.cni_args) args.push_back(Json::array({k, v}));
  Json j = {{"kind", "cniCacheV1"},
            {"containerId", a.container_id},
            {"config", base64_encode(a.config_bytes)},
            {"ifName", a.ifname},
            {"networkName", a.network_name},
            {"netns", a.netns},
            {"cniArgs", args},
            {"capabilityArgs", a.capability_args},
            {"result", a.result}};
  // Renamed into place, not fsync'd (libcni writes its cache the same way): what it serves is a
  // DEL's prevResult, and a cache lost in a power cut only makes that DEL work from the config.
  return write_file_atomic(path_of(a.network_name, a.container_id, a.ifname), j.dump(), 0600,
                           false);
}

Result<std::optional<CachedAttachment>> ResultCache::load(const std::string& network,
                                                          const std::string& container_id,
                                                          const std::string& ifname) const {
  auto path = path_of(network, container_id, ifname);
  if (!path_exists(path)) return std::optional<CachedAttachment>();
  auto j = TRY(read_json_file(path));
  return std::optional<CachedAttachment>(TRY(from_json(j, path)));
}

Result<void> ResultCache::remove(const std::string& network, const std::string& container_id,
                                 const std::string& ifname) {
  auto path = path_of(network, container_id, ifname);
  if (unlink(path.c_str()) < 0 && errno != ENOENT) return errno_error("remove ", quote(path));
  return ok();
}

Result<std::vector<CachedAttachment>> ResultCache::list(const std::string& network) const {
  std::vector<CachedAttachment> out;
  DIR* d = opendir(dir_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open ", quote(dir_));
  }
  std::vector<std::string> names;
  while (auto* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(network + "-", 0) == 0) names.push_back(name);
  }
  closedir(d);
  for (const auto& name : names) {
    auto path = cat(dir_, '/', name);
    auto j = read_json_file(path);
    auto a = j ? from_json(*j, path) : Result<CachedAttachment>(j.error());
    if (!a) {
      log::warn("skipping result cache entry: ", a.error().what());
      continue;
    }
    if (a->network_name == network) out.push_back(std::move(*a));
  }
  return out;
}

}  // namespace skiff::cni
