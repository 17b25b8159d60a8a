#pragma once
// The runtime side of CNI (what libcni is to containerd): run a network's plugins for one
// attachment. ADD runs them in order, each getting the previous one's result as prevResult; DEL
// runs them in reverse with the cached ADD result; CHECK replays it; STATUS and GC per spec 1.1.0.
// Results are cached per attachment (ResultCache) so DEL works after a runtime restart.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cni/errors.hpp"
#include "cni/result_cache.hpp"
#include "cni/skeleton.hpp"
#include "cni/types.hpp"

namespace skiff::cni {

// What the runtime knows about one attachment (the spec's "runtime configuration").
struct RuntimeConf {
  std::string container_id;
  std::string netns;  // path; may be empty for DEL (the namespace is gone)
  std::string ifname = "eth0";
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS
  // Per-capability values (e.g. "portMappings"), handed to plugins that declare the capability.
  Json capability_args = Json::object();
};

struct InvokerOptions {
  std::vector<std::string> plugin_dirs = {"/opt/cni/bin"};  // CNI_PATH
  std::string cache_dir = "/var/lib/cni/results";
  std::optional<std::chrono::milliseconds> timeout;  // per plugin call; the group is killed
};

class Invoker {
 public:
  explicit Invoker(InvokerOptions options);

  // Runs ADD through the list; caches and returns the final result (in the list's version). On
  // failure nothing is cached; the caller runs DEL to clean up, as the spec asks of a runtime.
  CniResult<NetworkResult> add(const NetworkConfigList& list, const RuntimeConf& rt);
  // DEL in reverse order with the cached result as prevResult (none when nothing is cached);
  // removes the cache entry when every plugin succeeded.
  CniResult<void> del(const NetworkConfigList& list, const RuntimeConf& rt);
  // CHECK (cniVersion ≥ 0.4.0, unless disableCheck): needs the cached result.
  CniResult<void> check(const NetworkConfigList& list, const RuntimeConf& rt);
  // STATUS of every plugin (1.1.0; older lists have no STATUS and report ready).
  CniResult<void> status(const NetworkConfigList& list);
  // Deletes cached attachments not in `valid` (DEL with their cached result), then sends GC with
  // "cni.dev/valid-attachments" to every plugin (1.1.0, unless disableGC).
  CniResult<void> gc(const NetworkConfigList& list, const std::vector<AttachmentKey>& valid);

  // The cached ADD result of an attachment, if any.
  Result<std::optional<CachedAttachment>> cached(const std::string& network,
                                                 const std::string& container_id,
                                                 const std::string& ifname) const;
  const ResultCache& cache() const { return cache_; }

  // The stdin one plugin of `list` gets: its object plus name, cniVersion, prevResult (converted
  // to the list's version) and runtimeConfig for the capabilities it declares.
  static CniResult<Json> plugin_config(const NetworkConfigList& list, const Json& plugin,
                                       const Json* prev_result, const Json& capability_args);

 private:
  CniResult<std::string> invoke(const NetworkConfigList& list, const Json& plugin,
                                const std::string& command, const RuntimeConf& rt,
                                const Json& stdin_config);
  CniResult<void> del_with(const NetworkConfigList& list, const RuntimeConf& rt,
                           const Json* cached_result);

  InvokerOptions options_;
  ResultCache cache_;
};

}  // namespace skiff::cni
