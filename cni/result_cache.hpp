#pragma once
// The invoker's record of each attachment's ADD result, so DEL and CHECK can hand plugins the
// prevResult they need and GC can find stale attachments. One JSON file per attachment,
// `<dir>/<network>-<containerID>-<ifname>`, in libcni's "cniCacheV1" shape (the config bytes
// base64-encoded), so tools that read libcni's cache read ours.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::cni {

struct CachedAttachment {
  std::string network_name;
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::vector<std::pair<std::string, std::string>> cni_args;
  Json capability_args = Json::object();
  std::string config_bytes;  // the conflist as it was when ADD ran
  Json result;               // the final ADD result, in the list's cniVersion
};

class ResultCache {
 public:
  explicit ResultCache(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string path_of(const std::string& network, const std::string& container_id,
                      const std::string& ifname) const;
  // Written atomically (temp file + rename), 0600: results may carry addresses only root needs.
  Result<void> save(const CachedAttachment& a);
  Result<std::optional<CachedAttachment>> load(const std::string& network,
                                               const std::string& container_id,
                                               const std::string& ifname) const;
  // Succeeds when there is nothing to remove.
  Result<void> remove(const std::string& network, const std::string& container_id,
                      const std::string& ifname);
  // Every cached attachment of `network` (files that fail to parse are skipped with a warning).
  Result<std::vector<CachedAttachment>> list(const std::string& network) const;

 private:
  std::string dir_;
};

}  // namespace skiff::cni
