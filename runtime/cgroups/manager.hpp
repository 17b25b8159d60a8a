#pragma once
// One cgroup manager interface, one implementation per hierarchy (v1, v2) — crun's
// cgroup-internal.h, youki's libcgroups. The runtime picks v1 or v2 by looking at the host.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::cgroups {

enum class Mode { kV1, kV2, kHybrid };  // hybrid: v1 controllers + a cgroup2 mount (v1 is used)
const char* mode_name(Mode mode);       // "v1", "v2", "hybrid"

// Looks at `root` (normally /sys/fs/cgroup): cgroup2 at the root → v2; tmpfs with v1 controller
// mounts → v1, or hybrid when a cgroup2 mount also exists under it (e.g. "unified").
Result<Mode> detect_mode(const std::string& root = "/sys/fs/cgroup");

// One cgroup hierarchy mounted on the host: a v1 controller mount ("cpu,cpuacct"), a named one
// ("name=systemd") or, on hybrid hosts, the cgroup2 mount ("unified").
struct Hierarchy {
  std::string mountpoint;                // "/sys/fs/cgroup/cpu,cpuacct"
  std::vector<std::string> controllers;  // {"cpu","cpuacct"}; {"name=systemd"}; {} for cgroup2
  bool cgroup2 = false;                  // the hybrid host's cgroup2 mount
  // The directory name under /sys/fs/cgroup ("cpu,cpuacct", "systemd", "unified").
  std::string name() const;
  bool has(std::string_view controller) const;
};

struct Options {
  std::string root = "/sys/fs/cgroup";  // tests point this at a fake tree
  std::string cgroups_path;             // linux.cgroupsPath as given; may be empty or relative
  std::string container_id;             // for the default path when cgroups_path is empty
  bool systemd = false;                 // --systemd-cgroup ("slice:prefix:name")
  // Tests: skip detect_mode() and use this mode.
  std::optional<Mode> mode;
  // v1/hybrid: the hierarchies to use; unset = those mounted under `root` (/proc/self/mountinfo).
  std::optional<std::vector<Hierarchy>> hierarchies;
  // Exists when systemd is PID 1 (sd_booted(3)); tests point it elsewhere.
  std::string systemd_run_dir = "/run/systemd/system";
};

// The container's cgroup path relative to every hierarchy's root, always absolute and clean
// ("/skiff/c1"). Absolute and relative linux.cgroupsPath both live under the hierarchy root
// (relative is NOT joined to the caller's own cgroup, unlike runc); empty → "/skiff/<id>"; a
// path that climbs out of the root or names the root itself is an error; --systemd-cgroup
// paths are refused with the reason (no systemd on the host, or no systemd driver in skiff).
Result<std::string> resolve_cgroups_path(const Options& options);

// What `events --stats` reports (runc's types.Stats subset).
struct Stats {
  uint64_t cpu_usage_total = 0, cpu_usage_user = 0, cpu_usage_kernel = 0;  // ns
  uint64_t cpu_throttled_periods = 0, cpu_throttled_time = 0;
  // Limits: "max" (v2) reads as UINT64_MAX; v1 reports the kernel's own huge number.
  uint64_t memory_usage = 0, memory_max_usage = 0, memory_limit = 0, memory_cache = 0;
  // Memory+swap, as v1's memory.memsw.* report it (v2: swap.current + memory.current).
  uint64_t memory_swap_usage = 0, memory_swap_limit = 0;
  uint64_t oom_kill = 0;
  uint64_t pids_current = 0, pids_limit = 0;  // pids_limit 0: unlimited
  Json raw;                                   // everything else read, as {file: value}
};

// One mount the container gets under /sys/fs/cgroup (the "cgroup" mount type).
struct MountPoint {
  std::string name;       // "memory", "cpu,cpuacct", "unified" — dir name under /sys/fs/cgroup
  std::string fs_type;    // "cgroup" or "cgroup2"
  std::string options;    // mount data for a fresh mount in a cgroupns ("memory", "" for v2)
  std::string host_path;  // the container's cgroup dir on the host (for a bind mount)
};

// What a new process needs to join the container's cgroup(s) by itself. Writing a pid to
// cgroup.procs takes the kernel's global cgroup_threadgroup_rwsem for writing, and its first taker
// waits for an RCU grace period (5-8 ms measured on this host's v1 hierarchies). The kernel skips
// that lock (since 6.0, "cgroup: Optimize single thread migration") for a process that writes "0"
// to a v1 `tasks` file itself, and clone3(CLONE_INTO_CGROUP) places a child in a cgroup2
// directory without it. So the runtime opens these, and the new process uses them.
struct SelfJoin {
  std::vector<UniqueFd> tasks;  // v1 hierarchies: the container's `tasks` files (O_WRONLY)
  UniqueFd cgroup2;             // v2, or the hybrid host's cgroup2 mount: the container's dir
};

// Child side, in the new single-threaded process: writes "0" to every v1 `tasks` file and closes
// them.
Result<void> join_v1_tasks(std::vector<UniqueFd>& tasks);

// A fork-like clone of this process with `flags` (CLONE_NEW*; the exit signal is SIGCHLD). With a
// valid `cgroup2` the child starts in that directory (clone3 CLONE_INTO_CGROUP) and *placed is
// true in both processes; on kernels without it (ENOSYS, E2BIG) a plain clone, *placed false, and
// the caller moves the child. Returns what clone returns (-1 with errno on failure).
pid_t clone_into_cgroup(unsigned long flags, int cgroup2, bool* placed);

class Manager {
 public:
  virtual ~Manager() = default;
  virtual Mode mode() const = 0;
  // Creates the container's cgroup(s) (parents too). Fails cleanly: on error nothing is left.
  virtual Result<void> create() = 0;
  // Writes the resource limits (at create and at `update`); v2 also writes resources.unified.
  virtual Result<void> apply(const oci::Resources& resources) = 0;
  // Moves a process into the container's cgroup(s).
  virtual Result<void> add_process(pid_t pid) = 0;
  // Opens what a new process needs to join the cgroup(s) itself, without the slow global lock
  // add_process takes (see SelfJoin). After create().
  virtual Result<SelfJoin> open_self_join() = 0;
  virtual Result<void> freeze() = 0;
  virtual Result<void> thaw() = 0;
  virtual Result<bool> is_frozen() = 0;
  virtual Result<std::vector<pid_t>> pids() = 0;
  virtual Result<Stats> stats() = 0;
  // Number of OOM kills seen in the container's cgroup (memory.oom_control / memory.events).
  virtual Result<uint64_t> oom_kill_count() = 0;
  // Removes the cgroup dirs (retrying briefly while the kernel drains dying tasks). ENOENT is ok.
  virtual Result<void> destroy() = 0;
  virtual std::vector<MountPoint> mount_points() const = 0;
  // Where the cgroup is, for state.json, so later commands find it again with `load`.
  virtual Json to_json() const = 0;

  // Parents that create() makes (e.g. "/skiff" of the default "/skiff/<id>") stay on destroy():
  // other containers share them, and re-making them per container costs a mkdir and an rmdir in
  // every hierarchy.
  void keep_parents() { keep_parents_ = true; }

 protected:
  // What create() made that destroy() should remove: everything, or only `leaf` dirs.
  std::vector<std::string> owned(std::vector<std::string> created,
                                 const std::vector<std::string>& leaves) const;
  bool keep_parents_ = false;
};

// A manager for a new container (nothing is created until create()).
Result<std::unique_ptr<Manager>> make_manager(const Options& options);
// The manager of an existing container from what to_json() saved.
Result<std::unique_ptr<Manager>> load_manager(const Json& saved);

}  // namespace skiff::runtime::cgroups
