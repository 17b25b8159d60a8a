#include "runtime/cgroups/manager.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <algorithm>

#include "common/fs.hpp"
#include "runtime/cgroups/hierarchies.hpp"
#include "runtime/cgroups/v1_manager.hpp"
#include "runtime/cgroups/v2_manager.hpp"

namespace skiff::runtime::cgroups {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kV1:
      return "v1";
    case Mode::kV2:
      return "v2";
    case Mode::kHybrid:
      return "hybrid";
  }
  return "v1";
}

Result<Mode> detect_mode(const std::string& root) {
  struct statfs sfs;
  if (::statfs(root.c_str(), &sfs) < 0) return errno_error("statfs ", quote(root));
  if (sfs.f_type == CGROUP2_SUPER_MAGIC) return Mode::kV2;
  auto hierarchies = TRY(discover_hierarchies(root));
  bool v1 = false, v2 = false;
  for (const auto& h : hierarchies) (h.cgroup2 ? v2 : v1) = true;
  if (!v1)
    return error(quote(root), " is not a cgroup2 mount and has no cgroup v1 hierarchy under it");
  return v2 ? Mode::kHybrid : Mode::kV1;
}

std::vector<std::string> Manager::owned(std::vector<std::string> created,
                                        const std::vector<std::string>& leaves) const {
  if (!keep_parents_) return created;
  std::erase_if(created, [&](const std::string& dir) {
    return std::find(leaves.begin(), leaves.end(), dir) == leaves.end();
  });
  return created;
}

Result<std::unique_ptr<Manager>> make_manager(const Options& options) {
  std::string relative = TRY(resolve_cgroups_path(options));
  std::string root = clean_path(options.root);
  std::unique_ptr<Manager> m;
  std::optional<Mode> mode = options.mode;
  if (!mode) {
    // One look at mountinfo decides the mode and lists the hierarchies (container start path).
    struct statfs sfs;
    if (::statfs(root.c_str(), &sfs) < 0) return errno_error("statfs ", quote(root));
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) mode = Mode::kV2;
  }
  if (mode == Mode::kV2) {
    m.reset(new V2Manager(root, relative));
  } else {
    std::vector<Hierarchy> hierarchies =
        options.hierarchies ? *options.hierarchies : TRY(discover_hierarchies(root));
    if (!mode) {
      bool v1 = false, v2 = false;
      for (const auto& h : hierarchies) (h.cgroup2 ? v2 : v1) = true;
      if (!v1)
        return error(quote(root),
                     " is not a cgroup2 mount and has no cgroup v1 hierarchy under it");
      mode = v2 ? Mode::kHybrid : Mode::kV1;
    }
    m.reset(new V1Manager(*mode, std::move(hierarchies), relative));
  }
  if (options.cgroups_path.empty() && !options.systemd) m->keep_parents();
  return m;
}

Result<std::unique_ptr<Manager>> load_manager(const Json& saved) {
  if (!saved.is_object() || !saved.contains("mode") || !saved["mode"].is_string())
    return error("saved cgroup state: expected an object with a `mode`, got ", saved.dump());
  std::string mode = saved["mode"].get<std::string>();
  if (mode == "v2") return V2Manager::from_json(saved);
  if (mode == "v1" || mode == "hybrid") return V1Manager::from_json(saved);
  return error("saved cgroup state: unknown mode ", quote(mode));
}

}  // namespace skiff::runtime::cgroups
