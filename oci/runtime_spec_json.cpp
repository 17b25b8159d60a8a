// Spec -> JSON, the inverse of the parser: parse(to_json(x)) == x. Only fields that are set are
// written (unset optionals, empty strings and lists, false booleans are left out), except those
// the runtime-spec requires (process.user.uid/gid, process.cwd, root.path, ...).
#include <type_traits>

#include "oci/runtime_spec.hpp"

namespace skiff::oci {
namespace {

Json value(const User& u);
Json value(const Capabilities& c);
Json value(const Rlimit& r);
Json value(const IdMapping& m);
Json value(const Mount& m);
Json value(const Hook& h);
Json value(const Hooks& h);
Json value(const Namespace& ns);
Json value(const TimeOffset& t);
Json value(const Device& d);
Json value(const DeviceCgroupRule& d);
Json value(const MemoryResources& m);
Json value(const CpuResources& c);
Json value(const WeightDevice& w);
Json value(const ThrottleDevice& t);
Json value(const BlockIoResources& b);
Json value(const HugepageLimit& h);
Json value(const NetworkResources& n);
Json value(const SeccompArg& a);
Json value(const SeccompSyscall& s);
Json value(const Seccomp& s);
Json value(const Linux& l);

template <typename T>
Json element(const T& v) {
  if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
    return Json(v);
  } else {
    return value(v);
  }
}

void put(Json& j, const char* key, const std::string& s) {
  if (!s.empty()) j[key] = s;
}
void put(Json& j, const char* key, bool b) {
  if (b) j[key] = true;
}
template <typename T>
void put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = element(*v);
}
template <typename T>
void put(Json& j, const char* key, const std::vector<T>& v) {
  if (v.empty()) return;
  Json a = Json::array();
  for (const auto& x : v) a.push_back(element(x));
  j[key] = std::move(a);
}
template <typename T>
void put(Json& j, const char* key, const std::map<std::string, T>& m) {
  if (m.empty()) return;
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = element(v);
  j[key] = std::move(o);
}
// A section that is written even when all its fields are empty ({}), because it is set.
template <typename T>
void put_section(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = value(*v);
}

Json value(const User& u) {
  Json j = {{"uid", u.uid}, {"gid", u.gid}};
  put(j, "umask", u.umask);
  put(j, "additionalGids", u.additional_gids);
  return j;
}

Json value(const Capabilities& c) {
  Json j = Json::object();
  put(j, "bounding", c.bounding);
  put(j, "effective", c.effective);
  put(j, "inheritable", c.inheritable);
  put(j, "permitted", c.permitted);
  put(j, "ambient", c.ambient);
  return j;
}

Json value(const Rlimit& r) { return {{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}}; }

Json value(const IdMapping& m) {
  return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

Json value(const Mount& m) {
  Json j = {{"destination", m.destination}};
  put(j, "type", m.type);
  put(j, "source", m.source);
  put(j, "options", m.options);
  put(j, "uidMappings", m.uid_mappings);
  put(j, "gidMappings", m.gid_mappings);
  return j;
}

Json value(const Hook& h) {
  Json j = {{"path", h.path}};
  put(j, "args", h.args);
  put(j, "env", h.env);
  put(j, "timeout", h.timeout);
  return j;
}

Json value(const Hooks& h) {
  Json j = Json::object();
  put(j, "prestart", h.prestart);
  put(j, "createRuntime", h.create_runtime);
  put(j, "createContainer", h.create_container);
  put(j, "startContainer", h.start_container);
  put(j, "poststart", h.poststart);
  put(j, "poststop", h.poststop);
  return j;
}

Json value(const Namespace& ns) {
  Json j = {{"type", ns.type}};
  put(j, "path", ns.path);
  return j;
}

Json value(const TimeOffset& t) { return {{"secs", t.secs}, {"nanosecs", t.nanosecs}}; }

Json value(const Device& d) {
  Json j = {{"type", d.type}, {"path", d.path}};
  if (d.type != "p" || d.major || d.minor) {
    j["major"] = d.major;
    j["minor"] = d.minor;
  }
  put(j, "fileMode", d.file_mode);
  put(j, "uid", d.uid);
  put(j, "gid", d.gid);
  return j;
}

Json value(const DeviceCgroupRule& d) {
  Json j = {{"allow", d.allow}, {"type", d.type}};
  put(j, "major", d.major);
  put(j, "minor", d.minor);
  j["access"] = d.access;
  return j;
}

Json value(const MemoryResources& m) {
  Json j = Json::object();
  put(j, "limit", m.limit);
  put(j, "reservation", m.reservation);
  put(j, "swap", m.swap);
  put(j, "kernel", m.kernel);
  put(j, "kernelTCP", m.kernel_tcp);
  put(j, "swappiness", m.swappiness);
  put(j, "disableOOMKiller", m.disable_oom_killer);
  put(j, "useHierarchy", m.use_hierarchy);
  put(j, "checkBeforeUpdate", m.check_before_update);
  return j;
}

Json value(const CpuResources& c) {
  Json j = Json::object();
  put(j, "shares", c.shares);
  put(j, "quota", c.quota);
  put(j, "burst", c.burst);
  put(j, "period", c.period);
  put(j, "realtimeRuntime", c.realtime_runtime);
  put(j, "realtimePeriod", c.realtime_period);
  put(j, "cpus", c.cpus);
  put(j, "mems", c.mems);
  put(j, "idle", c.idle);
  return j;
}

Json value(const WeightDevice& w) {
  Json j = {{"major", w.major}, {"minor", w.minor}};
  put(j, "weight", w.weight);
  put(j, "leafWeight", w.leaf_weight);
  return j;
}

Json value(const ThrottleDevice& t) {
  return {{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}};
}

Json value(const BlockIoResources& b) {
  Json j = Json::object();
  put(j, "weight", b.weight);
  put(j, "leafWeight", b.leaf_weight);
  put(j, "weightDevice", b.weight_device);
  put(j, "throttleReadBpsDevice", b.throttle_read_bps_device);
  put(j, "throttleWriteBpsDevice", b.throttle_write_bps_device);
  put(j, "throttleReadIOPSDevice", b.throttle_read_iops_device);
  put(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device);
  return j;
}

Json value(const HugepageLimit& h) { return {{"pageSize", h.page_size}, {"limit", h.limit}}; }

Json value(const NetworkResources& n) {
  Json j = Json::object();
  put(j, "classID", n.class_id);
  if (!n.priorities.empty()) {
    Json a = Json::array();
    for (const auto& [name, prio] : n.priorities) a.push_back({{"name", name}, {"priority", prio}});
    j["priorities"] = std::move(a);
  }
  return j;
}

Json value(const SeccompArg& a) {
  Json j = {{"index", a.index}, {"value", a.value}};
  if (a.value_two) j["valueTwo"] = a.value_two;
  j["op"] = a.op;
  return j;
}

Json value(const SeccompSyscall& s) {
  Json j = {{"names", s.names}, {"action", s.action}};
  put(j, "errnoRet", s.errno_ret);
  put(j, "args", s.args);
  return j;
}

Json value(const Seccomp& s) {
  Json j = Json::object();
  put(j, "defaultAction", s.default_action);
  put(j, "defaultErrnoRet", s.default_errno_ret);
  put(j, "architectures", s.architectures);
  put(j, "flags", s.flags);
  put(j, "listenerPath", s.listener_path);
  put(j, "listenerMetadata", s.listener_metadata);
  put(j, "syscalls", s.syscalls);
  return j;
}

Json value(const Linux& l) {
  Json j = Json::object();
  put(j, "namespaces", l.namespaces);
  put(j, "uidMappings", l.uid_mappings);
  put(j, "gidMappings", l.gid_mappings);
  put(j, "timeOffsets", l.time_offsets);
  put(j, "devices", l.devices);
  put(j, "cgroupsPath", l.cgroups_path);
  if (l.resources) j["resources"] = to_json(*l.resources);
  put(j, "rootfsPropagation", l.rootfs_propagation);
  put(j, "maskedPaths", l.masked_paths);
  put(j, "readonlyPaths", l.readonly_paths);
  put(j, "mountLabel", l.mount_label);
  put(j, "sysctl", l.sysctl);
  put_section(j, "seccomp", l.seccomp);
  if (l.personality) {
    Json p = {{"domain", l.personality->domain}};
    put(p, "flags", l.personality->flags);
    j["personality"] = std::move(p);
  }
  return j;
}

}  // namespace

Json to_json(const Resources& r) {
  Json j = Json::object();
  put(j, "devices", r.devices);
  put_section(j, "memory", r.memory);
  put_section(j, "cpu", r.cpu);
  if (r.pids) j["pids"] = {{"limit", r.pids->limit}};
  put_section(j, "blockIO", r.block_io);
  put(j, "hugepageLimits", r.hugepage_limits);
  put_section(j, "network", r.network);
  put(j, "unified", r.unified);
  return j;
}

Json to_json(const Process& p) {
  Json j = Json::object();
  put(j, "terminal", p.terminal);
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  j["user"] = value(p.user);
  put(j, "args", p.args);
  put(j, "env", p.env);
  j["cwd"] = p.cwd;
  put_section(j, "capabilities", p.capabilities);
  put(j, "rlimits", p.rlimits);
  put(j, "noNewPrivileges", p.no_new_privileges);
  put(j, "oomScoreAdj", p.oom_score_adj);
  if (p.io_priority)
    j["ioPriority"] = {{"class", p.io_priority->klass}, {"priority", p.io_priority->priority}};
  put(j, "apparmorProfile", p.apparmor_profile);
  put(j, "selinuxLabel", p.selinux_label);
  return j;
}

Json to_json(const Spec& s) {
  Json j = Json::object();
  put(j, "ociVersion", s.oci_version);
  if (s.process) j["process"] = to_json(*s.process);
  if (s.root) {
    j["root"] = {{"path", s.root->path}};
    put(j["root"], "readonly", s.root->readonly);
  }
  put(j, "hostname", s.hostname);
  put(j, "domainname", s.domainname);
  put(j, "mounts", s.mounts);
  if (Json hooks = value(s.hooks); !hooks.empty()) j["hooks"] = std::move(hooks);
  put(j, "annotations", s.annotations);
  put_section(j, "linux", s.linux);
  return j;
}

}  // namespace skiff::oci
