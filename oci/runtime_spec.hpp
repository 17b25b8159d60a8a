#pragma once
// The OCI runtime-spec (config.json) model for Linux, parsed with errors that name the JSON path
// and the reason ("process.args[0]: expected string, got integer"), and validated
// ("linux.namespaces[2].type: unknown namespace type `foo`").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::oci {

inline constexpr const char* kRuntimeSpecVersion = "1.2.0";

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct IoPriority {
  std::string klass;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::optional<IoPriority> io_priority;
  std::string apparmor_profile;  // accepted, not enforced (no AppArmor here)
  std::string selinux_label;     // accepted, not enforced
};

struct Root {
  std::string path;  // as written; absolute or relative to the bundle
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this one when set
};

struct Device {
  std::string type;  // c, b, u, p
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type = "a";               // a, c, b
  std::optional<int64_t> major, minor;  // unset = wildcard
  std::string access = "rwm";
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // <= 0: unlimited
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<std::pair<std::string, uint32_t>> priorities;
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ, ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_...
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct Personality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // shared slave private unbindable (r-variants too)
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::optional<Personality> personality;

  const Namespace* find_namespace(std::string_view type) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
};

// Parses a config.json document: shape and types only. Errors name the JSON path.
Result<Spec> parse_spec(const Json& j);
// Parses a "process" object (also what `exec --process FILE` reads); `path` prefixes errors.
Result<Process> parse_process(const Json& j, const std::string& path = "process");
// Parses a "linux.resources" object (also what `update --resources FILE` reads).
Result<Resources> parse_resources(const Json& j, const std::string& path = "linux.resources");

// Semantic checks a runtime must make before it touches the system: known namespace types (no
// duplicates), absolute mount destinations and cwd, known capability / rlimit / seccomp names,
// id mappings when a user namespace is new, hook paths absolute, and so on.
Result<void> validate_spec(const Spec& spec);
Result<void> validate_process(const Process& process, const std::string& path = "process");

// Reads BUNDLE/config.json, parses and validates it; errors start with the file's path
// ("`/b/config.json`: process.args: must not be empty"). On success `root` is set and root.path
// is non-empty, kept as written (a relative path is relative to the bundle; not resolved here).
Result<Spec> load_spec(const std::string& bundle);

// The default config.json of `skiff spec` (like `runc spec`): sh in a rootfs/ dir, the usual
// mounts, masked and read-only paths, namespaces; `rootless` adds a user namespace mapping.
Json default_spec(bool rootless = false);

// Serializes back to JSON, the inverse of the parsers: only fields that are set are written
// (required ones always: process.user.uid/gid, process.cwd, root.path, mount destinations, ...).
Json to_json(const Resources& r);
Json to_json(const Process& p);
// A whole config.json (the kubelet writes what it translated from a Pod).
Json to_json(const Spec& s);

// Known names, shared by validation and `skiff features`.
const std::vector<std::string>& known_namespace_types();
// CAP_CHOWN ... CAP_CHECKPOINT_RESTORE; the index is the capability number.
const std::vector<std::string>& known_capabilities();
// RLIMIT_CPU ... RLIMIT_RTTIME; the index is the resource number.
const std::vector<std::string>& known_rlimits();
const std::vector<std::string>& known_mount_options();  // ro rw bind rbind nosuid ... (features)

}  // namespace skiff::oci
