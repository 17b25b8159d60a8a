#include "cni/invoker.hpp"

#include <algorithm>

#include "cni/exec.hpp"
#include "cni/version.hpp"
#include "common/log.hpp"

namespace skiff::cni {

Invoker::Invoker(InvokerOptions options)
    : options_(std::move(options)), cache_(options_.cache_dir) {}

CniResult<Json> Invoker::plugin_config(const NetworkConfigList& list, const Json& plugin,
                                       const Json* prev_result, const Json& capability_args) {
  Json conf = plugin;
  conf["name"] = list.name;
  conf["cniVersion"] = list.cni_version;
  if (prev_result && !prev_result->is_null()) {
    // Same version: hand it on verbatim (fields we do not model survive); else convert.
    bool same =
        prev_result->is_object() && prev_result->value("cniVersion", "") == list.cni_version;
    conf["prevResult"] = same ? *prev_result : TRY(convert_result(*prev_result, list.cni_version));
  }
  if (plugin.contains("capabilities") && plugin["capabilities"].is_object()) {
    Json runtime_config = Json::object();
    for (const auto& [cap, enabled] : plugin["capabilities"].items()) {
      if (enabled.is_boolean() && enabled.get<bool>() && capability_args.contains(cap))
        runtime_config[cap] = capability_args[cap];
    }
    if (!runtime_config.empty()) conf["runtimeConfig"] = std::move(runtime_config);
  }
  return conf;
}

CniResult<std::string> Invoker::invoke(const NetworkConfigList& list, const Json& plugin,
                                       const std::string& command, const RuntimeConf& rt,
                                       const Json& stdin_config) {
  auto type = plugin.value("type", "");
  auto path = TRY(find_plugin(type, options_.plugin_dirs));
  PluginEnv env{command,   rt.container_id,          rt.netns,
                rt.ifname, format_cni_args(rt.args), options_.plugin_dirs};
  auto out = exec_plugin(path, env, stdin_config.dump(), ExecOptions{options_.timeout, true});
  if (!out) return std::move(out.error().wrap(cat("plugin ", quote(type), " ", command)));
  return out;
}

CniResult<NetworkResult> Invoker::add(const NetworkConfigList& list, const RuntimeConf& rt) {
  Json prev;  // null: no previous result yet
  for (const auto& plugin : list.plugins) {
    auto conf = TRY(plugin_config(list, plugin, &prev, rt.capability_args));
    auto out = TRY(invoke(list, plugin, "ADD", rt, conf));
    auto parsed = parse_json(out, "plugin result");
    if (!parsed)
      return CniError::from(parsed.error().wrap(cat("plugin ", quote(plugin.value("type", "")))),
                            kErrDecodingFailure);
    // Validates the shape now rather than handing garbage to the next plugin.
    TRY(NetworkResult::from_json(*parsed));
    prev = std::move(*parsed);
  }
  auto result = TRY(NetworkResult::from_json(prev));
  auto converted =
      prev.value("cniVersion", "") == list.cni_version ? prev : result.to_json(list.cni_version);
  CachedAttachment a{list.name, rt.container_id,    rt.ifname,  rt.netns,
                     rt.args,   rt.capability_args, list.bytes, converted};
  auto saved = cache_.save(a);
  if (!saved) return CniError::from(saved.error().wrap("caching the ADD result"), kErrIoFailure);
  result.cni_version = list.cni_version;
  return result;
}

CniResult<void> Invoker::del_with(const NetworkConfigList& list, const RuntimeConf& rt,
                                  const Json* cached_result) {
  for (auto it = list.plugins.rbegin(); it != list.plugins.rend(); ++it) {
    auto conf = TRY(plugin_config(list, *it, cached_result, rt.capability_args));
    TRY(invoke(list, *it, "DEL", rt, conf));
  }
  return {};
}

CniResult<void> Invoker::del(const NetworkConfigList& list, const RuntimeConf& rt) {
  auto cached = cache_.load(list.name, rt.container_id, rt.ifname);
  if (!cached) log::warn("result cache: ", cached.error().what(), " (DEL goes on without it)");
  const Json* prev = cached && *cached ? &(*cached)->result : nullptr;
  TRY(del_with(list, rt, prev));
  auto removed = cache_.remove(list.name, rt.container_id, rt.ifname);
  if (!removed) return CniError::from(removed.error(), kErrIoFailure);
  return {};
}

CniResult<void> Invoker::check(const NetworkConfigList& list, const RuntimeConf& rt) {
  if (!version_at_least(list.cni_version, "0.4.0"))
    return cni_error(kErrIncompatibleVersion, "configuration version ", quote(list.cni_version),
                     " does not support CHECK");
  if (list.disable_check) return {};
  auto cached = TRY(cache_.load(list.name, rt.container_id, rt.ifname));
  if (!cached)
    return cni_error(kErrUnknownContainer, "no cached result for ", quote(rt.container_id), "/",
                     rt.ifname, " on network ", quote(list.name));
  for (const auto& plugin : list.plugins) {
    auto conf = TRY(plugin_config(list, plugin, &cached->result, rt.capability_args));
    TRY(invoke(list, plugin, "CHECK", rt, conf));
  }
  return {};
}

CniResult<void> Invoker::status(const NetworkConfigList& list) {
  if (!version_at_least(list.cni_version, "1.1.0")) return {};
  RuntimeConf none;
  none.ifname.clear();
  for (const auto& plugin : list.plugins) {
    auto conf = TRY(plugin_config(list, plugin, nullptr, Json::object()));
    TRY(invoke(list, plugin, "STATUS", none, conf));
  }
  return {};
}

CniResult<void> Invoker::gc(const NetworkConfigList& list,
                            const std::vector<AttachmentKey>& valid) {
  // Step 1: DEL every cached attachment the runtime no longer knows (errors are logged: GC is
  // best effort, and the plugins' own GC below catches what a failed DEL left).
  auto cached = TRY(cache_.list(list.name));
  for (auto& a : cached) {
    AttachmentKey key{a.container_id, a.ifname};
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) continue;
    RuntimeConf rt{a.container_id, a.netns, a.ifname, a.cni_args, a.capability_args};
    auto d = del_with(list, rt, a.result.is_null() ? nullptr : &a.result);
    if (!d) {
      log::warn("GC: DEL of stale attachment ", a.container_id, "/", a.ifname, ": ",
                d.error().what());
      continue;
    }
    (void)cache_.remove(list.name, a.container_id, a.ifname);
  }
  // Step 2: the plugins' own GC.
  if (!version_at_least(list.cni_version, "1.1.0") || list.disable_gc) return {};
  Json attachments = Json::array();
  for (const auto& k : valid)
    attachments.push_back({{"containerID", k.container_id}, {"ifname", k.ifname}});
  RuntimeConf none;
  none.ifname.clear();
  for (const auto& plugin : list.plugins) {
    auto conf = TRY(plugin_config(list, plugin, nullptr, Json::object()));
    conf["cni.dev/valid-attachments"] = attachments;
    TRY(invoke(list, plugin, "GC", none, conf));
  }
  return {};
}

Result<std::optional<CachedAttachment>> Invoker::cached(const std::string& network,
                                                        const std::string& container_id,
                                                        const std::string& ifname) const {
  return cache_.load(network, container_id, ifname);
}

}  // namespace skiff::cni
