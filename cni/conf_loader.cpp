#include "cni/conf_loader.hpp"

#include <dirent.h>

#include <algorithm>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace skiff::cni {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

CniResult<NetworkConfigList> load_conf_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return CniError::from(text.error(), kErrIoFailure);
  if (ends_with(path, ".conflist")) {
    auto l = NetworkConfigList::parse(*text);
    if (!l) return std::move(l.error().wrap(quote(path)));
    return l;
  }
  // A .conf may hold a list too (libcni accepts "plugins" in either).
  auto j = parse_json(*text, quote(path));
  bool is_list = j && j->is_object() && j->contains("plugins");
  auto l = is_list ? NetworkConfigList::parse(*text) : NetworkConfigList::from_single(*text);
  if (!l) return std::move(l.error().wrap(quote(path)));
  return l;
}

Result<std::vector<LoadedConfig>> load_conf_dir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return errno_error("open network config directory ", quote(dir));
  std::vector<std::string> names;
  while (auto* e = readdir(d)) {
    std::string name = e->d_name;
    if (name[0] == '.') continue;
    if (ends_with(name, ".conflist") || ends_with(name, ".conf") || ends_with(name, ".json"))
      names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<LoadedConfig> out;
  for (const auto& name : names) {
    auto path = path_join(dir, name);
    out.push_back({path, load_conf_file(path)});
  }
  return out;
}

CniResult<NetworkConfigList> find_network(const std::string& dir, const std::string& name) {
  auto all = load_conf_dir(dir);
  if (!all) return CniError::from(all.error(), kErrIoFailure);
  for (auto& c : *all) {
    if (!c.list) {
      log::warn("ignoring network config: ", c.list.error().what());
      continue;
    }
    if (name.empty() || c.list->name == name) return std::move(c.list);
  }
  return cni_error(kErrInvalidNetworkConfig, "no valid network config",
                   name.empty() ? std::string() : cat(" named ", quote(name)), " in ", quote(dir));
}

}  // namespace skiff::cni
