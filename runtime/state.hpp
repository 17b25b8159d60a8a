#pragma once
// The on-disk state of one container: ROOT/<id>/state.json (written atomically) and the exec
// fifo, like /run/runc/<id>/. Everything a later command needs to find the container again.

#include <sys/types.h>

#include <map>
#include <string>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/unique_fd.hpp"

namespace skiff::runtime {

struct SavedState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::string owner;
  std::map<std::string, std::string> annotations;
  Json cgroup;  // cgroups::Manager::to_json()
  bool systemd_cgroup = false;

  Json to_json() const;
  static Result<SavedState> from_json(const Json& j);
};

// Container ids: what runc allows ([A-Za-z0-9_+.-], not "." or ".."), so ids are safe paths.
Result<void> validate_id(std::string_view id);
std::string container_dir(const std::string& root, const std::string& id);
std::string exec_fifo_path(const std::string& root, const std::string& id);

Result<void> save_state(const std::string& root, const SavedState& s);
// Errors with `container "ID" does not exist` when there is no state dir.
Result<SavedState> load_state(const std::string& root, const std::string& id);

// An exclusive flock on the container's state dir, held while a command changes the container.
Result<UniqueFd> lock_container(const std::string& root, const std::string& id);

// Start time of a process (clock ticks since boot), 0 when it does not exist; sets `zombie`.
uint64_t process_start_time(pid_t pid, bool* zombie = nullptr);
std::string now_rfc3339();

}  // namespace skiff::runtime
