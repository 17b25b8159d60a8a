// config.json -> Spec: shape and types only (validation is in runtime_spec_validate.cpp). Each
// struct has one `read` overload that lists its fields in the order of the runtime-spec, so the
// first error is always the same one. Unknown fields are ignored (the spec allows extensions);
// null counts as absent.
#include <algorithm>
#include <concepts>
#include <limits>
#include <utility>

#include "common/fs.hpp"
#include "oci/json_path.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::oci {
namespace {

Error type_error(const std::string& path, const char* expected, const Json& got) {
  if (path.empty()) return error("expected ", expected, ", got ", json_type_name(got));
  return error(path, ": expected ", expected, ", got ", json_type_name(got));
}

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

// One overload per type: checks the JSON type, names `path` on error. Declared up front so the
// templates below (optional, vector, map) find the struct overloads.
Result<void> read(const Json& v, const std::string& path, std::string& out);
Result<void> read(const Json& v, const std::string& path, bool& out);
template <Integer T>
Result<void> read(const Json& v, const std::string& path, T& out);
template <typename T>
Result<void> read(const Json& v, const std::string& path, std::optional<T>& out);
template <typename T>
Result<void> read(const Json& v, const std::string& path, std::vector<T>& out);
template <typename T>
Result<void> read(const Json& v, const std::string& path, std::map<std::string, T>& out);
Result<void> read(const Json& v, const std::string& path, std::pair<std::string, uint32_t>& out);
Result<void> read(const Json& v, const std::string& path, ConsoleSize& out);
Result<void> read(const Json& v, const std::string& path, User& out);
Result<void> read(const Json& v, const std::string& path, Capabilities& out);
Result<void> read(const Json& v, const std::string& path, Rlimit& out);
Result<void> read(const Json& v, const std::string& path, IoPriority& out);
Result<void> read(const Json& v, const std::string& path, Process& out);
Result<void> read(const Json& v, const std::string& path, Root& out);
Result<void> read(const Json& v, const std::string& path, IdMapping& out);
Result<void> read(const Json& v, const std::string& path, Mount& out);
Result<void> read(const Json& v, const std::string& path, Hook& out);
Result<void> read(const Json& v, const std::string& path, Hooks& out);
Result<void> read(const Json& v, const std::string& path, Namespace& out);
Result<void> read(const Json& v, const std::string& path, TimeOffset& out);
Result<void> read(const Json& v, const std::string& path, Device& out);
Result<void> read(const Json& v, const std::string& path, DeviceCgroupRule& out);
Result<void> read(const Json& v, const std::string& path, MemoryResources& out);
Result<void> read(const Json& v, const std::string& path, CpuResources& out);
Result<void> read(const Json& v, const std::string& path, PidsResources& out);
Result<void> read(const Json& v, const std::string& path, WeightDevice& out);
Result<void> read(const Json& v, const std::string& path, ThrottleDevice& out);
Result<void> read(const Json& v, const std::string& path, BlockIoResources& out);
Result<void> read(const Json& v, const std::string& path, HugepageLimit& out);
Result<void> read(const Json& v, const std::string& path, NetworkResources& out);
Result<void> read(const Json& v, const std::string& path, Resources& out);
Result<void> read(const Json& v, const std::string& path, SeccompArg& out);
Result<void> read(const Json& v, const std::string& path, SeccompSyscall& out);
Result<void> read(const Json& v, const std::string& path, Seccomp& out);
Result<void> read(const Json& v, const std::string& path, Personality& out);
Result<void> read(const Json& v, const std::string& path, Linux& out);
Result<void> read(const Json& v, const std::string& path, Spec& out);

// A JSON object being read field by field.
class Object {
 public:
  static Result<Object> of(const Json& v, const std::string& path) {
    if (!v.is_object()) return type_error(path, "object", v);
    return Object(v, path);
  }

  bool has(const char* key) const {
    auto it = j_->find(key);
    return it != j_->end() && !it->is_null();
  }
  // Reads an optional field; `out` keeps its default when the field is absent or null.
  template <typename T>
  Result<void> get(const char* key, T& out) const {
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return ok();
    return read(*it, field_path(path_, key), out);
  }
  template <typename T>
  Result<void> require(const char* key, T& out) const {
    if (!has(key)) return error(field_path(path_, key), ": required");
    return get(key, out);
  }

 private:
  Object(const Json& j, const std::string& path) : j_(&j), path_(path) {}
  const Json* j_;
  std::string path_;
};

Result<void> read(const Json& v, const std::string& path, std::string& out) {
  if (!v.is_string()) return type_error(path, "string", v);
  out = v.get<std::string>();
  return ok();
}

Result<void> read(const Json& v, const std::string& path, bool& out) {
  if (!v.is_boolean()) return type_error(path, "boolean", v);
  out = v.get<bool>();
  return ok();
}

template <Integer T>
Result<void> read(const Json& v, const std::string& path, T& out) {
  if (!v.is_number_integer()) return type_error(path, "integer", v);
  bool fits = v.is_number_unsigned() ? std::in_range<T>(v.get<uint64_t>())
                                     : std::in_range<T>(v.get<int64_t>());
  if (!fits)
    return error(path, ": ", v.dump(), " is out of range (", std::numeric_limits<T>::min(), "..",
                 std::numeric_limits<T>::max(), ")");
  out = v.get<T>();
  return ok();
}

template <typename T>
Result<void> read(const Json& v, const std::string& path, std::optional<T>& out) {
  T value{};
  TRY(read(v, path, value));
  out = std::move(value);
  return ok();
}

template <typename T>
Result<void> read(const Json& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array()) return type_error(path, "array", v);
  out.clear();
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) TRY(read(v[i], index_path(path, i), out.emplace_back()));
  return ok();
}

template <typename T>
Result<void> read(const Json& v, const std::string& path, std::map<std::string, T>& out) {
  if (!v.is_object()) return type_error(path, "object", v);
  out.clear();
  for (const auto& [key, value] : v.items()) TRY(read(value, field_path(path, key), out[key]));
  return ok();
}

Result<void> read(const Json& v, const std::string& path, std::pair<std::string, uint32_t>& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("name", out.first));
  return o.require("priority", out.second);
}

Result<void> read(const Json& v, const std::string& path, ConsoleSize& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("height", out.height));
  return o.require("width", out.width);
}

Result<void> read(const Json& v, const std::string& path, User& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("uid", out.uid));
  TRY(o.get("gid", out.gid));
  TRY(o.get("umask", out.umask));
  return o.get("additionalGids", out.additional_gids);
}

Result<void> read(const Json& v, const std::string& path, Capabilities& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("bounding", out.bounding));
  TRY(o.get("effective", out.effective));
  TRY(o.get("inheritable", out.inheritable));
  TRY(o.get("permitted", out.permitted));
  return o.get("ambient", out.ambient);
}

Result<void> read(const Json& v, const std::string& path, Rlimit& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("type", out.type));
  TRY(o.require("hard", out.hard));
  return o.require("soft", out.soft);
}

Result<void> read(const Json& v, const std::string& path, IoPriority& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("class", out.klass));
  return o.get("priority", out.priority);
}

Result<void> read(const Json& v, const std::string& path, Process& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("terminal", out.terminal));
  TRY(o.get("consoleSize", out.console_size));
  TRY(o.get("user", out.user));
  TRY(o.get("args", out.args));
  TRY(o.get("env", out.env));
  TRY(o.get("cwd", out.cwd));
  TRY(o.get("capabilities", out.capabilities));
  TRY(o.get("rlimits", out.rlimits));
  TRY(o.get("noNewPrivileges", out.no_new_privileges));
  TRY(o.get("oomScoreAdj", out.oom_score_adj));
  TRY(o.get("ioPriority", out.io_priority));
  TRY(o.get("apparmorProfile", out.apparmor_profile));
  return o.get("selinuxLabel", out.selinux_label);
}

Result<void> read(const Json& v, const std::string& path, Root& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("path", out.path));
  return o.get("readonly", out.readonly);
}

Result<void> read(const Json& v, const std::string& path, IdMapping& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("containerID", out.container_id));
  TRY(o.require("hostID", out.host_id));
  return o.require("size", out.size);
}

Result<void> read(const Json& v, const std::string& path, Mount& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("destination", out.destination));
  TRY(o.get("type", out.type));
  TRY(o.get("source", out.source));
  TRY(o.get("options", out.options));
  TRY(o.get("uidMappings", out.uid_mappings));
  return o.get("gidMappings", out.gid_mappings);
}

Result<void> read(const Json& v, const std::string& path, Hook& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("path", out.path));
  TRY(o.get("args", out.args));
  TRY(o.get("env", out.env));
  return o.get("timeout", out.timeout);
}

Result<void> read(const Json& v, const std::string& path, Hooks& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("prestart", out.prestart));
  TRY(o.get("createRuntime", out.create_runtime));
  TRY(o.get("createContainer", out.create_container));
  TRY(o.get("startContainer", out.start_container));
  TRY(o.get("poststart", out.poststart));
  return o.get("poststop", out.poststop);
}

Result<void> read(const Json& v, const std::string& path, Namespace& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("type", out.type));
  return o.get("path", out.path);
}

Result<void> read(const Json& v, const std::string& path, TimeOffset& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("secs", out.secs));
  return o.get("nanosecs", out.nanosecs);
}

Result<void> read(const Json& v, const std::string& path, Device& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("type", out.type));
  TRY(o.require("path", out.path));
  // Character, block and unbuffered devices need numbers; a fifo (p) does not.
  bool numbered = out.type == "c" || out.type == "b" || out.type == "u";
  if (numbered && !o.has("major"))
    return error(field_path(path, "major"), ": required for device type ", quote(out.type));
  if (numbered && !o.has("minor"))
    return error(field_path(path, "minor"), ": required for device type ", quote(out.type));
  TRY(o.get("major", out.major));
  TRY(o.get("minor", out.minor));
  TRY(o.get("fileMode", out.file_mode));
  TRY(o.get("uid", out.uid));
  return o.get("gid", out.gid);
}

Result<void> read(const Json& v, const std::string& path, DeviceCgroupRule& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("allow", out.allow));
  TRY(o.get("type", out.type));
  TRY(o.get("major", out.major));
  TRY(o.get("minor", out.minor));
  return o.get("access", out.access);
}

Result<void> read(const Json& v, const std::string& path, MemoryResources& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("limit", out.limit));
  TRY(o.get("reservation", out.reservation));
  TRY(o.get("swap", out.swap));
  TRY(o.get("kernel", out.kernel));
  TRY(o.get("kernelTCP", out.kernel_tcp));
  TRY(o.get("swappiness", out.swappiness));
  TRY(o.get("disableOOMKiller", out.disable_oom_killer));
  TRY(o.get("useHierarchy", out.use_hierarchy));
  return o.get("checkBeforeUpdate", out.check_before_update);
}

Result<void> read(const Json& v, const std::string& path, CpuResources& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("shares", out.shares));
  TRY(o.get("quota", out.quota));
  TRY(o.get("burst", out.burst));
  TRY(o.get("period", out.period));
  TRY(o.get("realtimeRuntime", out.realtime_runtime));
  TRY(o.get("realtimePeriod", out.realtime_period));
  TRY(o.get("cpus", out.cpus));
  TRY(o.get("mems", out.mems));
  return o.get("idle", out.idle);
}

Result<void> read(const Json& v, const std::string& path, PidsResources& out) {
  auto o = TRY(Object::of(v, path));
  return o.get("limit", out.limit);
}

Result<void> read(const Json& v, const std::string& path, WeightDevice& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("major", out.major));
  TRY(o.require("minor", out.minor));
  TRY(o.get("weight", out.weight));
  return o.get("leafWeight", out.leaf_weight);
}

Result<void> read(const Json& v, const std::string& path, ThrottleDevice& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("major", out.major));
  TRY(o.require("minor", out.minor));
  return o.require("rate", out.rate);
}

Result<void> read(const Json& v, const std::string& path, BlockIoResources& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("weight", out.weight));
  TRY(o.get("leafWeight", out.leaf_weight));
  TRY(o.get("weightDevice", out.weight_device));
  TRY(o.get("throttleReadBpsDevice", out.throttle_read_bps_device));
  TRY(o.get("throttleWriteBpsDevice", out.throttle_write_bps_device));
  TRY(o.get("throttleReadIOPSDevice", out.throttle_read_iops_device));
  return o.get("throttleWriteIOPSDevice", out.throttle_write_iops_device);
}

Result<void> read(const Json& v, const std::string& path, HugepageLimit& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("pageSize", out.page_size));
  return o.require("limit", out.limit);
}

Result<void> read(const Json& v, const std::string& path, NetworkResources& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("classID", out.class_id));
  return o.get("priorities", out.priorities);
}

Result<void> read(const Json& v, const std::string& path, Resources& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("devices", out.devices));
  TRY(o.get("memory", out.memory));
  TRY(o.get("cpu", out.cpu));
  TRY(o.get("pids", out.pids));
  TRY(o.get("blockIO", out.block_io));
  TRY(o.get("hugepageLimits", out.hugepage_limits));
  TRY(o.get("network", out.network));
  return o.get("unified", out.unified);
}

Result<void> read(const Json& v, const std::string& path, SeccompArg& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("index", out.index));
  TRY(o.require("value", out.value));
  TRY(o.get("valueTwo", out.value_two));
  return o.require("op", out.op);
}

Result<void> read(const Json& v, const std::string& path, SeccompSyscall& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("names", out.names));
  TRY(o.require("action", out.action));
  TRY(o.get("errnoRet", out.errno_ret));
  return o.get("args", out.args);
}

Result<void> read(const Json& v, const std::string& path, Seccomp& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("defaultAction", out.default_action));
  TRY(o.get("defaultErrnoRet", out.default_errno_ret));
  TRY(o.get("architectures", out.architectures));
  TRY(o.get("flags", out.flags));
  TRY(o.get("listenerPath", out.listener_path));
  TRY(o.get("listenerMetadata", out.listener_metadata));
  return o.get("syscalls", out.syscalls);
}

Result<void> read(const Json& v, const std::string& path, Personality& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.require("domain", out.domain));
  return o.get("flags", out.flags);
}

Result<void> read(const Json& v, const std::string& path, Linux& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("namespaces", out.namespaces));
  TRY(o.get("uidMappings", out.uid_mappings));
  TRY(o.get("gidMappings", out.gid_mappings));
  TRY(o.get("timeOffsets", out.time_offsets));
  TRY(o.get("devices", out.devices));
  TRY(o.get("cgroupsPath", out.cgroups_path));
  TRY(o.get("resources", out.resources));
  TRY(o.get("rootfsPropagation", out.rootfs_propagation));
  TRY(o.get("maskedPaths", out.masked_paths));
  TRY(o.get("readonlyPaths", out.readonly_paths));
  TRY(o.get("mountLabel", out.mount_label));
  TRY(o.get("sysctl", out.sysctl));
  TRY(o.get("seccomp", out.seccomp));
  return o.get("personality", out.personality);
}

Result<void> read(const Json& v, const std::string& path, Spec& out) {
  auto o = TRY(Object::of(v, path));
  TRY(o.get("ociVersion", out.oci_version));
  TRY(o.get("process", out.process));
  TRY(o.get("root", out.root));
  TRY(o.get("hostname", out.hostname));
  TRY(o.get("domainname", out.domainname));
  TRY(o.get("mounts", out.mounts));
  TRY(o.get("hooks", out.hooks));
  TRY(o.get("annotations", out.annotations));
  return o.get("linux", out.linux);
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string_view parse_reason(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return what;
}

}  // namespace

const Namespace* Linux::find_namespace(std::string_view type) const {
  auto it = std::find_if(namespaces.begin(), namespaces.end(),
                         [&](const Namespace& ns) { return ns.type == type; });
  return it == namespaces.end() ? nullptr : &*it;
}

Result<Spec> parse_spec(const Json& j) {
  Spec spec;
  TRY(read(j, "", spec));
  return spec;
}

Result<Process> parse_process(const Json& j, const std::string& path) {
  Process process;
  TRY(read(j, path, process));
  return process;
}

Result<Resources> parse_resources(const Json& j, const std::string& path) {
  Resources resources;
  TRY(read(j, path, resources));
  return resources;
}

Result<Spec> load_spec(const std::string& bundle) {
  std::string file = path_join(bundle, "config.json");
  std::string text = TRY(read_file(file));  // "open `BUNDLE/config.json`: ..." names the file
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return error(quote(file), ": invalid JSON at byte ", e.byte, ": ", parse_reason(e.what()));
  }
  auto spec = parse_spec(j);
  if (!spec) return std::move(spec.error().wrap(quote(file)));
  if (auto valid = validate_spec(*spec); !valid) return std::move(valid.error().wrap(quote(file)));
  return spec;
}

}  // namespace skiff::oci
