#pragma once
// Network configurations on disk (/etc/cni/net.d by default): *.conflist, *.conf and *.json, in
// file-name order like libcni, a single-plugin .conf/.json lifted into a list of one.

#include <string>
#include <vector>

#include "cni/errors.hpp"
#include "cni/types.hpp"

namespace skiff::cni {

struct LoadedConfig {
  std::string path;
  CniResult<NetworkConfigList> list;  // an invalid file is reported here, not fatal for the others
};

// Reads one file; `.conflist` must be a list, `.conf`/`.json` may be either.
CniResult<NetworkConfigList> load_conf_file(const std::string& path);
// Every configuration in `dir`, sorted by file name; an error only when the directory is
// unreadable.
Result<std::vector<LoadedConfig>> load_conf_dir(const std::string& dir);
// The first valid list in `dir` (what a runtime uses as the default network), or the network
// named `name` when given; code 7 when there is none.
CniResult<NetworkConfigList> find_network(const std::string& dir, const std::string& name = "");

}  // namespace skiff::cni
