#include "cni/skeleton.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cni/version.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

extern char** environ;

namespace skiff::cni {

namespace {

std::string env_of(const PluginIo& io, const char* key) {
  auto it = io.env.find(key);
  return it == io.env.end() ? std::string() : it->second;
}

CniResult<std::string> version_output(const PluginIo& io) {
  // VERSION may come with {"cniVersion": …} on stdin; answer in that version when we know it.
  std::string version(kSpecVersion);
  if (!trim(io.stdin_data).empty()) {
    auto j = parse_json(io.stdin_data, "VERSION input");
    if (!j) return CniError::from(j.error(), kErrDecodingFailure);
    if (j->is_object() && j->contains("cniVersion") && (*j)["cniVersion"].is_string())
      version = (*j)["cniVersion"].get<std::string>();
  }
  Json out = {{"cniVersion", version_supported(version) ? version : std::string(kSpecVersion)},
              {"supportedVersions", supported_versions()}};
  return out.dump();
}

CniResult<std::string> dispatch(Plugin& plugin, const PluginIo& io, std::string& version_out) {
  CmdArgs a;
  a.command = env_of(io, "CNI_COMMAND");
  if (a.command.empty()) return cni_error(kErrInvalidEnvironment, "CNI_COMMAND is not set");
  if (a.command == "VERSION") return version_output(io);
  static const char* kVerbs[] = {"ADD", "DEL", "CHECK", "STATUS", "GC"};
  bool known = false;
  for (auto* v : kVerbs) known |= a.command == v;
  if (!known) return cni_error(kErrInvalidEnvironment, "unknown CNI_COMMAND ", quote(a.command));

  a.container_id = env_of(io, "CNI_CONTAINERID");
  a.netns = env_of(io, "CNI_NETNS");
  a.ifname = env_of(io, "CNI_IFNAME");
  a.args = env_of(io, "CNI_ARGS");
  a.path = split(env_of(io, "CNI_PATH"), ':', true);
  bool per_container = a.command == "ADD" || a.command == "DEL" || a.command == "CHECK";
  auto require = [&](const char* key, const std::string& value) -> CniResult<void> {
    if (value.empty())
      return cni_error(kErrInvalidEnvironment, key, " is required for ", a.command);
    return {};
  };
  if (per_container) {
    TRY(require("CNI_CONTAINERID", a.container_id));
    TRY(require("CNI_IFNAME", a.ifname));
    if (a.command != "DEL") TRY(require("CNI_NETNS", a.netns));
  }
  TRY(require("CNI_PATH", env_of(io, "CNI_PATH")));
  TRY(parse_cni_args(a.args));

  a.stdin_data = io.stdin_data;
  a.config = TRY(NetworkConfig::parse(a.stdin_data));
  version_out = a.config.cni_version;
  // Verbs younger than the caller's version are refused the way libcni's skel refuses them.
  if (a.command == "CHECK" && !version_at_least(a.config.cni_version, "0.4.0"))
    return cni_error(kErrIncompatibleVersion, "config version ", quote(a.config.cni_version),
                     " does not allow CHECK");
  if ((a.command == "STATUS" || a.command == "GC") &&
      !version_at_least(a.config.cni_version, "1.1.0"))
    return cni_error(kErrIncompatibleVersion, "config version ", quote(a.config.cni_version),
                     " does not allow ", a.command);

  if (a.command == "ADD") {
    auto r = TRY(plugin.add(a));
    return r.to_json(a.config.cni_version).dump();
  }
  if (a.command == "DEL") TRY(plugin.del(a));
  if (a.command == "CHECK") TRY(plugin.check(a));
  if (a.command == "STATUS") TRY(plugin.status(a));
  if (a.command == "GC") TRY(plugin.gc(a));
  return std::string();
}

}  // namespace

int run_plugin(Plugin& plugin, std::string_view about, PluginIo& io) {
  std::string version(kSpecVersion);
  auto r = dispatch(plugin, io, version);
  if (r.ok()) {
    io.out = std::move(*r);
    if (!io.out.empty()) io.out += '\n';
    return 0;
  }
  if (env_of(io, "CNI_COMMAND").empty()) log::error(about);
  if (!version_supported(version)) version = std::string(kSpecVersion);
  io.out = r.error().to_json(version).dump() + "\n";
  return 1;
}

int plugin_main(Plugin& plugin, std::string_view about) {
  PluginIo io;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, 4) == "CNI_")
      io.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto in = read_fd(STDIN_FILENO);
  if (in) io.stdin_data = std::move(*in);
  int code = run_plugin(plugin, about, io);
  (void)write_all(STDOUT_FILENO, io.out);
  return code;
}

CniResult<std::vector<AttachmentKey>> valid_attachments(const Json& config) {
  std::vector<AttachmentKey> out;
  const char* key = "cni.dev/valid-attachments";
  if (!config.contains(key) || config[key].is_null()) return out;
  if (!config[key].is_array()) return cni_error(kErrInvalidNetworkConfig, key, ": expected array");
  for (const auto& a : config[key]) {
    if (!a.is_object() || !a.contains("containerID") || !a["containerID"].is_string() ||
        !a.contains("ifname") || !a["ifname"].is_string())
      return cni_error(kErrInvalidNetworkConfig, key,
                       ": each entry needs string fields containerID and ifname");
    out.push_back({a["containerID"].get<std::string>(), a["ifname"].get<std::string>()});
  }
  return out;
}

}  // namespace skiff::cni
