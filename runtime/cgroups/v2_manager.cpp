#include "runtime/cgroups/v2_manager.hpp"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/cgroups/files.hpp"

namespace skiff::runtime::cgroups {

const std::vector<std::string>& v2_wanted_controllers() {
  static const std::vector<std::string> kWanted = {"cpuset",  "cpu",  "io",   "memory",
                                                   "hugetlb", "pids", "rdma", "misc"};
  return kWanted;
}

Result<void> enable_v2_controllers(const std::string& root, const std::string& relative) {
  auto parts = split(relative, '/', true);
  std::string cur = root;
  for (size_t i = 0; i < parts.size(); cur = path_join(cur, parts[i]), ++i) {
    std::string available_path = path_join(cur, "cgroup.controllers");
    auto available = read_file(available_path);
    if (!available) return std::move(available.error().wrap("list the controllers to enable"));
    std::vector<std::string> enable;
    for (const auto& c : split(trim(*available), ' ', true))
      if (std::find(v2_wanted_controllers().begin(), v2_wanted_controllers().end(), c) !=
          v2_wanted_controllers().end())
        enable.push_back(c);
    if (enable.empty()) continue;
    std::string path = path_join(cur, "cgroup.subtree_control");
    std::vector<std::string> plus;
    for (const auto& c : enable) plus.push_back("+" + c);
    int err = write_raw(path, join(plus, " "));
    if (err == 0) continue;
    // One at a time: a controller the kernel refuses here (e.g. cpu while real-time tasks sit
    // in the cgroup) is left out instead of failing the container.
    size_t enabled = 0;
    for (const auto& p : plus) {
      if (int e = write_raw(path, p))
        log::debug("cannot enable ", p, " in ", quote(path), ": ", std::strerror(e));
      else
        ++enabled;
    }
    if (enabled == 0) return write_error(path, err, "while enabling the cgroup v2 controllers");
  }
  return ok();
}

V2Manager::V2Manager(std::string root, std::string relative, std::vector<std::string> created)
    : root_(std::move(root)),
      relative_(std::move(relative)),
      dir_(path_join(root_, relative_)),
      created_(std::move(created)) {}

Result<void> V2Manager::create() {
  std::vector<std::string> created;
  Defer undo([&] { remove_created_dirs(created); });
  auto made = make_cgroup_dirs(root_, relative_, created);
  if (!made)
    return std::move(
        made.error().wrap(cat("create cgroup ", quote(relative_), " in ", quote(root_))));
  auto enabled = enable_v2_controllers(root_, relative_);
  if (!enabled) return std::move(enabled.error().wrap(cat("create cgroup ", quote(dir_))));
  undo.cancel();
  created = owned(std::move(created), {dir_});
  created_.insert(created_.end(), created.begin(), created.end());
  return ok();
}

Result<void> V2Manager::apply(const oci::Resources& resources) {
  return apply_v2_resources(dir_, resources);
}

Result<void> V2Manager::add_process(pid_t pid) {
  std::string path = path_join(dir_, "cgroup.procs");
  if (int err = write_raw(path, std::to_string(pid)))
    return write_error(path, err,
                       cat("while moving process ", pid, " into the container's cgroup"));
  return ok();
}

Result<SelfJoin> V2Manager::open_self_join() {
  SelfJoin join;
  join.cgroup2.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!join.cgroup2) return errno_error("open the container's cgroup ", quote(dir_));
  return join;
}

Result<void> V2Manager::set_frozen(bool frozen) {
  std::string path = path_join(dir_, "cgroup.freeze");
  if (int err = write_raw(path, frozen ? "1" : "0"))
    return write_error(path, err, frozen ? "while freezing the container" : "while thawing it");
  // The write returns before every task has stopped: wait for cgroup.events to say so.
  std::string events = path_join(dir_, "cgroup.events");
  std::string want = frozen ? "1" : "0";
  using namespace std::chrono;
  auto deadline = steady_clock::now() + seconds(2);
  auto delay = microseconds(500);
  while (true) {
    auto m = TRY(read_flat_keyed(events));
    auto it = m.find("frozen");
    if (it == m.end()) return error(quote(events), " has no `frozen` key (Linux 5.2+ needed)");
    if (std::to_string(it->second) == want) return ok();
    if (steady_clock::now() >= deadline) {
      if (frozen) (void)write_raw(path, "0");
      return error(quote(events), " still reads `frozen ", it->second, "` 2 s after writing ", want,
                   " to cgroup.freeze", frozen ? " (the cgroup was thawed again)" : "");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min<microseconds>(delay * 2, milliseconds(20));
  }
}

Result<void> V2Manager::freeze() { return set_frozen(true); }
Result<void> V2Manager::thaw() { return set_frozen(false); }

Result<bool> V2Manager::is_frozen() {
  auto want = TRY(read_trimmed(path_join(dir_, "cgroup.freeze")));
  if (want != "1") return false;
  auto m = TRY(read_flat_keyed(path_join(dir_, "cgroup.events")));
  auto it = m.find("frozen");
  return it != m.end() && it->second == 1;
}

Result<std::vector<pid_t>> V2Manager::pids() { return read_procs_recursive(dir_); }

Result<Stats> V2Manager::stats() { return read_v2_stats(dir_); }

Result<uint64_t> V2Manager::oom_kill_count() { return read_v2_oom_kills(dir_); }

Result<void> V2Manager::destroy() {
  auto removed = remove_cgroup(dir_);
  remove_created_dirs(created_);
  return removed;
}

std::vector<MountPoint> V2Manager::mount_points() const { return {{"", "cgroup2", "", dir_}}; }

Json V2Manager::to_json() const {
  return {{"mode", "v2"},
          {"root", root_},
          {"relative", relative_},
          {"path", dir_},
          {"created", created_}};
}

Result<std::unique_ptr<Manager>> V2Manager::from_json(const Json& saved) {
  try {
    return std::unique_ptr<Manager>(
        new V2Manager(saved.at("root").get<std::string>(), saved.at("relative").get<std::string>(),
                      saved.value("created", std::vector<std::string>{})));
  } catch (const Json::exception& e) {
    return error("saved cgroup state: ", e.what());
  }
}

}  // namespace skiff::runtime::cgroups
