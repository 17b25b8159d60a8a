#include "runtime/cgroups/v1_manager.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/hierarchies.hpp"

namespace skiff::runtime::cgroups {
namespace {

// A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems and takes no task until both
// are set: every cgroup from the hierarchy's root down to `relative` gets its parent's where they
// are empty — not only the ones this process made: another (a second kubelet starting at the same
// time, a parallel create) may have made an ancestor and not filled it in yet, and a cgroup left
// empty refuses every task below it for good (ENOSPC). Top down, so a parent is filled first
// (cgroup-v1/cpusets.rst).
Result<void> init_cpuset(const std::string& mountpoint, const std::string& relative) {
  std::string dir = mountpoint;
  for (const auto& part : split(relative, '/', true)) {
    std::string parent = dir;
    dir = path_join(dir, part);
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      auto own = TRY(read_trimmed(path_join(dir, file)));
      if (!own.empty()) continue;
      auto inherited = TRY(read_trimmed(path_join(parent, file)));
      std::string path = path_join(dir, file);
      if (int err = write_raw(path, inherited))
        return write_error(path, err, cat("while copying ", file, " from the parent cgroup"));
    }
  }
  return ok();
}

std::string mount_options(const Hierarchy& h) {
  if (h.cgroup2) return "";
  bool named_only = true;
  for (const auto& c : h.controllers) named_only = named_only && c.starts_with("name=");
  // A named hierarchy without controllers is mounted with "none,name=…".
  return named_only ? cat("none,", join(h.controllers, ",")) : join(h.controllers, ",");
}

}  // namespace

V1Manager::V1Manager(Mode mode, std::vector<Hierarchy> hierarchies, std::string relative,
                     std::vector<std::string> created)
    : mode_(mode), relative_(std::move(relative)), created_(std::move(created)) {
  for (auto& h : hierarchies)
    if (used_for_containers(h)) hierarchies_.push_back(std::move(h));
}

std::string V1Manager::dir_in(const Hierarchy& h) const {
  return path_join(h.mountpoint, relative_);
}

V1Dirs V1Manager::dirs() const {
  V1Dirs out;
  for (const auto& h : hierarchies_) {
    if (h.cgroup2) continue;
    for (const auto& c : h.controllers) out.emplace(c, dir_in(h));
  }
  return out;
}

Result<void> V1Manager::create() {
  if (hierarchies_.empty())
    return error("no cgroup v1 hierarchy is mounted to put the container in");
  std::vector<std::string> created;
  Defer undo([&] { remove_created_dirs(created); });
  for (const auto& h : hierarchies_) {
    auto made = make_cgroup_dirs(h.mountpoint, relative_, created);
    if (!made)
      return std::move(
          made.error().wrap(cat("create cgroup ", quote(relative_), " in ", quote(h.mountpoint))));
    if (h.has("cpuset")) TRY(init_cpuset(h.mountpoint, relative_));
  }
  undo.cancel();
  std::vector<std::string> leaves;
  for (const auto& h : hierarchies_) leaves.push_back(dir_in(h));
  created = owned(std::move(created), leaves);
  created_.insert(created_.end(), created.begin(), created.end());
  return ok();
}

Result<void> V1Manager::apply(const oci::Resources& resources) {
  return apply_v1_resources(dirs(), resources);
}

Result<SelfJoin> V1Manager::open_self_join() {
  SelfJoin join;
  for (const auto& h : hierarchies_) {
    std::string dir = dir_in(h);
    if (h.cgroup2) {
      join.cgroup2.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!join.cgroup2) return errno_error("open the container's cgroup ", quote(dir));
      continue;
    }
    std::string tasks = path_join(dir, "tasks");
    UniqueFd fd(::open(tasks.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno_error("open ", quote(tasks));
    join.tasks.push_back(std::move(fd));
  }
  return join;
}

Result<void> V1Manager::add_process(pid_t pid) {
  for (const auto& h : hierarchies_) {
    std::string path = path_join(dir_in(h), "cgroup.procs");
    if (int err = write_raw(path, std::to_string(pid)))
      return write_error(path, err,
                         cat("while moving process ", pid, " into the container's cgroup"));
  }
  return ok();
}

Result<void> V1Manager::set_freezer_state(std::string_view state) {
  auto all = dirs();
  auto it = all.find("freezer");
  if (it == all.end())
    return error("the `freezer` cgroup v1 controller is not mounted on this host");
  std::string path = path_join(it->second, "freezer.state");
  using namespace std::chrono;
  auto deadline = steady_clock::now() + seconds(2);
  auto delay = microseconds(500);
  while (true) {
    // Written again each round: tasks forked meanwhile can leave the cgroup FREEZING (runc).
    if (int err = write_raw(path, state))
      return write_error(path, err, cat("while setting the freezer to ", state));
    auto now = TRY(read_trimmed(path));
    if (now == state) return ok();
    if (steady_clock::now() >= deadline) {
      if (state == "FROZEN") (void)write_raw(path, "THAWED");
      return error(quote(path), " still reads ", quote(now), " 2 s after writing ", state,
                   state == "FROZEN" ? " (a task did not stop; the cgroup was thawed again)" : "");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min<microseconds>(delay * 2, milliseconds(20));
  }
}

Result<void> V1Manager::freeze() { return set_freezer_state("FROZEN"); }
Result<void> V1Manager::thaw() { return set_freezer_state("THAWED"); }

Result<bool> V1Manager::is_frozen() {
  auto all = dirs();
  auto it = all.find("freezer");
  if (it == all.end()) return false;
  auto state = TRY(read_trimmed(path_join(it->second, "freezer.state")));
  return state == "FROZEN";
}

Result<std::vector<pid_t>> V1Manager::pids() {
  auto all = dirs();
  for (const char* c : {"pids", "memory", "freezer", "cpu", "devices"}) {
    auto it = all.find(c);
    if (it != all.end()) return read_procs_recursive(it->second);
  }
  if (!hierarchies_.empty()) return read_procs_recursive(dir_in(hierarchies_.front()));
  return error("no cgroup v1 hierarchy holds the container");
}

Result<Stats> V1Manager::stats() { return read_v1_stats(dirs()); }

Result<uint64_t> V1Manager::oom_kill_count() { return read_v1_oom_kills(dirs()); }

Result<void> V1Manager::destroy() {
  Result<void> result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (const auto& h : hierarchies_) {
    auto r = remove_cgroup(dir_in(h), deadline);
    if (!r && result) result = std::move(r);
  }
  // Parents we made go too, unless another container still lives in them.
  remove_created_dirs(created_);
  return result;
}

std::vector<MountPoint> V1Manager::mount_points() const {
  std::vector<MountPoint> out;
  for (const auto& h : hierarchies_)
    out.push_back({h.name(), h.cgroup2 ? "cgroup2" : "cgroup", mount_options(h), dir_in(h)});
  return out;
}

Json V1Manager::to_json() const {
  Json paths = Json::object(), hierarchies = Json::array();
  for (const auto& h : hierarchies_) {
    paths[h.name()] = dir_in(h);
    hierarchies.push_back(
        {{"mountpoint", h.mountpoint}, {"controllers", h.controllers}, {"cgroup2", h.cgroup2}});
  }
  return {{"mode", mode_name(mode_)},
          {"relative", relative_},
          {"paths", paths},
          {"hierarchies", hierarchies},
          {"created", created_}};
}

Result<std::unique_ptr<Manager>> V1Manager::from_json(const Json& saved) {
  try {
    Mode mode = saved.at("mode").get<std::string>() == "hybrid" ? Mode::kHybrid : Mode::kV1;
    std::vector<Hierarchy> hierarchies;
    for (const auto& j : saved.at("hierarchies")) {
      Hierarchy h;
      h.mountpoint = j.at("mountpoint").get<std::string>();
      h.controllers = j.at("controllers").get<std::vector<std::string>>();
      h.cgroup2 = j.value("cgroup2", false);
      hierarchies.push_back(std::move(h));
    }
    return std::unique_ptr<Manager>(
        new V1Manager(mode, std::move(hierarchies), saved.at("relative").get<std::string>(),
                      saved.value("created", std::vector<std::string>{})));
  } catch (const Json::exception& e) {
    return error("saved cgroup state: ", e.what());
  }
}

}  // namespace skiff::runtime::cgroups
