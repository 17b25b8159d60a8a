#include "kubelet/engine/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/fs.hpp"

namespace skiff::kubelet {

Json NodeConfig::to_json() const {
  return {{"stateRoot", state_root},
          {"runRoot", run_root},
          {"logRoot", log_root},
          {"imageRoot", image_root},
          {"snapshotRoot", snapshot_root},
          {"cniConfDir", cni_conf_dir},
          {"cniBinDirs", cni_bin_dirs},
          {"cniCacheDir", cni_cache_dir},
          {"cniDataDir", cni_data_dir},
          {"pauseBinary", pause_binary},
          {"pullBinary", pull_binary},
          {"insecureRegistries", insecure_registries},
          {"cgroupRoot", cgroup_root},
          {"cgroupParent", cgroup_parent},
          {"podPidsLimit", pod_pids_limit},
          {"backoffInitialMs", backoff.initial.count()},
          {"backoffMaxMs", backoff.max.count()},
          {"backoffResetMs", backoff.reset_after.count()},
          {"logMaxBytes", log_max_bytes},
          {"logMaxFiles", log_max_files}};
}

Result<NodeConfig> NodeConfig::from_json(const Json& j) {
  NodeConfig c;
  try {
    c.state_root = j.at("stateRoot").get<std::string>();
    c.run_root = j.at("runRoot").get<std::string>();
    c.log_root = j.at("logRoot").get<std::string>();
    c.image_root = j.at("imageRoot").get<std::string>();
    c.snapshot_root = j.at("snapshotRoot").get<std::string>();
    c.cni_conf_dir = j.at("cniConfDir").get<std::string>();
    c.cni_bin_dirs = j.at("cniBinDirs").get<std::vector<std::string>>();
    c.cni_cache_dir = j.at("cniCacheDir").get<std::string>();
    c.cni_data_dir = j.at("cniDataDir").get<std::string>();
    c.pause_binary = j.at("pauseBinary").get<std::string>();
    c.pull_binary = j.value("pullBinary", "");
    c.insecure_registries = j.value("insecureRegistries", std::vector<std::string>{});
    c.cgroup_root = j.value("cgroupRoot", c.cgroup_root);
    c.cgroup_parent = j.value("cgroupParent", c.cgroup_parent);
    c.pod_pids_limit = j.value("podPidsLimit", c.pod_pids_limit);
    c.backoff.initial = Duration(j.at("backoffInitialMs").get<int64_t>());
    c.backoff.max = Duration(j.at("backoffMaxMs").get<int64_t>());
    c.backoff.reset_after = Duration(j.at("backoffResetMs").get<int64_t>());
    c.log_max_bytes = j.value("logMaxBytes", c.log_max_bytes);
    c.log_max_files = j.value("logMaxFiles", c.log_max_files);
  } catch (const Json::exception& e) {
    return error("node configuration: ", e.what());
  }
  return c;
}

Json default_conflist(const NodeConfig& c) {
  Json ipam = {{"type", "skiff-ipam"},
               {"ranges", Json::array({Json::array({{{"subnet", kDefaultSubnet}}})})},
               {"routes", Json::array({{{"dst", "0.0.0.0/0"}}})},
               {"dataDir", c.cni_data_dir}};
  Json bridge = {{"type", "skiff-bridge"},
                 {"bridge", kDefaultBridge},
                 {"isGateway", true},
                 {"isDefaultGateway", true},
                 {"ipMasq", true},
                 {"hairpinMode", true},
                 {"ipam", ipam}};
  return {{"cniVersion", "1.0.0"}, {"name", kDefaultNetwork}, {"plugins", Json::array({bridge})}};
}

std::string find_helper_binary(const std::string& name, const std::string& build_path,
                               const std::string& next_to) {
  std::string beside = next_to.empty() ? self_exe_path() : next_to;
  if (auto slash = beside.rfind('/'); slash != std::string::npos) {
    std::string candidate = cat(beside.substr(0, slash), '/', name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  if (!build_path.empty() && access(build_path.c_str(), X_OK) == 0) return build_path;
  return "";
}

std::string self_exe_path() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
}

std::vector<std::string> default_cni_plugin_dirs(const std::string& self_exe,
                                                 const std::string& build_dir) {
  std::vector<std::string> dirs;
  auto add = [&](const std::string& d) {
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  };
  auto slash = self_exe.rfind('/');
  if (slash != std::string::npos) {
    std::string self_dir = self_exe.substr(0, slash);
    if (access(cat(self_dir, "/skiff-bridge").c_str(), X_OK) == 0) add(self_dir);
    std::string lib_cni = (std::filesystem::path(self_dir) / "../lib/cni").lexically_normal();
    add(lib_cni);
  }
  if (!build_dir.empty()) add(cat(build_dir, "/cni"));
  add("/usr/local/lib/cni");
  add("/usr/lib/cni");
  add("/opt/cni/bin");
  return dirs;
}

}  // namespace skiff::kubelet
